"""What every service package builds on: operation registration, transitions, signed URLs.

A service is plain Python: each operation takes ``(ctx, params)`` — the parsed input members — and returns
the output members as a dict, or raises ``ServiceError``. It never sees a wire format.
"""

from __future__ import annotations

from typing import Callable

from ..context import GENERIC_ERRORS, Context, Page
from ..errors import ErrorTable, UnknownOperation
from ..lifecycle import Handler
from ..objects.urls import Download, Upload

__all__ = ["Context", "Operation", "Page", "Service", "operation", "partition"]

Operation = Callable[["Service", Context, dict], dict]


class Service:
    """Base of a service package. Subclasses set ``model_name``, ``signing_names`` and ``errors`` (the
    service's ``ErrorTable``, from its ``errors`` module) and mark their operations with ``@operation``.

    What routing needs to find a service's requests is declared here, as data: ``signing_names`` (the SigV4
    service names its clients sign with), ``path_prefixes`` (paths that are this service's whatever the
    signature says: S3 Control's ``/v20180820/``), ``virtual_hosted`` (a client may name the first URI
    label in the Host: S3's buckets) and ``signed_operations``."""

    model_name: str = ""
    signing_names: tuple[str, ...] = ()
    path_prefixes: tuple[str, ...] = ()
    virtual_hosted: bool = False
    # (signing name, operation the request's URI names) -> the operation it is: requests that only the name
    # their client signs with tells apart (S3's ListDirectoryBuckets and ListBuckets are both ``GET /``).
    signed_operations: dict[tuple[str, str], str] = {}
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

    def signed_urls(self) -> dict[str, Download | Upload]:
        """The handler of each name this service makes URLs for with ``ctx.signed_url`` (``objects/urls.py``
        answers them in S3's manner)."""
        return {}

    def call(self, ctx: Context, operation: str, params: dict) -> dict:
        handler = self.operations.get(operation)
        if handler is None:
            raise UnknownOperation(operation)
        return handler(self, ctx, params) or {}


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
