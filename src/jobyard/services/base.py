"""What every service package builds on: operation registration, transitions, signed downloads.

A service is plain Python: each operation takes ``(ctx, params)`` — the parsed input members — and returns
the output members as a dict, or raises ``ServiceError``. It never sees a wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..context import GENERIC_ERRORS, Context, Page
from ..errors import ErrorTable, ServiceError, UnknownOperation
from ..lifecycle import Handler

__all__ = ["Context", "ObjectResponse", "Operation", "Page", "SIGNED_URL_ERRORS", "Service", "no_such_key", "operation",
           "partition", "signed_url_error"]

Operation = Callable[["Service", Context, dict], dict]


# What a URL made by ``ctx.signed_url`` answers: it stands in for an S3 presigned URL, so S3's codes and
# statuses (Amazon S3 API Reference, "Error responses").
SIGNED_URL_ERRORS = ErrorTable(None, {
    "AccessDenied": 403,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "MethodNotAllowed": 405,
    "BadDigest": 400,
    "EntityTooLarge": 400,
})


def signed_url_error(code: str, message: str) -> ServiceError:
    return SIGNED_URL_ERRORS.error(code, message)


def no_such_key() -> ServiceError:
    return signed_url_error("NoSuchKey", "The specified key does not exist.")


@dataclass
class ObjectResponse:
    """What a signed URL answers (it stands in for an S3 presigned URL)."""

    status: int = 200
    content_type: str = "application/octet-stream"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class Service:
    """Base of a service package. Subclasses set ``model_name``, ``signing_names`` and ``errors`` (the
    service's ``ErrorTable``, from its ``errors`` module) and mark their operations with ``@operation``.

    What routing needs to find a service's requests is declared here, as data: ``signing_names`` (the SigV4
    service names its clients sign with), ``path_prefixes`` (paths that are this service's whatever the
    signature says: S3 Control's ``/v20180820/``) and ``virtual_hosted`` (a client may name the first URI
    label in the Host: S3's buckets)."""

    model_name: str = ""
    signing_names: tuple[str, ...] = ()
    path_prefixes: tuple[str, ...] = ()
    virtual_hosted: bool = False
    errors: ErrorTable = GENERIC_ERRORS
    operations: dict[str, Operation]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.operations = {}
        for attr in vars(cls).values():
            name = getattr(attr, "_operation_name", None)
            if name:
                cls.operations[name] = attr

    def transitions(self) -> dict[str, Handler]:
        """The scheduled-transition handler of each resource kind this service moves on the clock."""
        return {}

    def call(self, ctx: Context, operation: str, params: dict) -> dict:
        handler = self.operations.get(operation)
        if handler is None:
            raise UnknownOperation(operation)
        return handler(self, ctx, params) or {}

    # -- signed URLs that the service hands out ---------------------------------------------------------

    def signed_object(self, ctx: Context, name: str, args: dict, method: str, body: bytes,
                      headers: dict[str, str]) -> ObjectResponse:
        """Answer a request to a URL made by ``ctx.signed_url``; by default a download of ``download()``."""
        if method not in ("GET", "HEAD"):
            raise signed_url_error("MethodNotAllowed", "The specified method is not allowed against this resource.")
        content_type, data = self.download(ctx, name, args)
        return ObjectResponse(200, content_type, data)

    def download(self, ctx: Context, name: str, args: dict) -> tuple[str, bytes]:
        raise no_such_key()


def partition(region: str) -> str:
    """The AWS partition a region belongs to, as ARNs name it."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def operation(name: str):
    """Mark a method of a Service subclass as the handler of the AWS operation ``name``."""

    def mark(fn):
        fn._operation_name = name
        return fn

    return mark
