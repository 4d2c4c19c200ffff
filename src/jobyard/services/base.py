"""What every service package builds on: operation registration, the request context, paging.

A service is plain Python: each operation takes ``(ctx, params)`` — the parsed input members — and returns
the output members as a dict, or raises ``ServiceError``. It never sees a wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import SerializationError, ServiceError, ValidationFailed
from ..lifecycle import Lifecycle
from ..objects import ObjectLayer, ObjectStore
from ..store import FileStore, InvalidToken, Resource, TokenSigner, Tx
from ..wire import Request

Operation = Callable[["Context", dict], dict]


@dataclass
class Context:
    """Everything an operation may use for one request."""

    tx: Tx
    account: str
    region: str
    now_us: int
    operation: str
    base_url: str            # how this client reaches the server, for URLs the server serves itself
    signer: TokenSigner
    lifecycle: Lifecycle
    files: FileStore         # byte payloads under the data dir
    objects: ObjectStore | None = None   # S3 objects of this account (built-in store or --s3-endpoint)

    def signed_url(self, service: str, name: str, args: dict, expires_us: int) -> str:
        """A URL that this server serves: ``name`` of ``service``'s downloads, called with ``args``."""
        token = self.signer.encode({"s": service, "n": name, "a": args, "e": expires_us}, ("url",))
        return f"{self.base_url}/_jobyard/objects/{token}"


@dataclass
class ObjectResponse:
    """What a signed URL answers (it stands in for an S3 presigned URL)."""

    status: int = 200
    content_type: str = "application/octet-stream"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class Page:
    """The result of one list call: the items and the token for the next page (None on the last)."""

    __slots__ = ("items", "next_token")

    def __init__(self, items: list[Resource], next_token: str | None):
        self.items, self.next_token = items, next_token


class Service:
    """Base of a service package. Subclasses set ``model_name``/``signing_names`` and register operations."""

    model_name: str = ""
    signing_names: tuple[str, ...] = ()
    operations: dict[str, Operation]
    # The object layer, set by the server before ``register_lifecycle``: a transition handler that reads or
    # writes S3 objects binds a store with ``self.objects.bind(tx, account, at_us)``.
    objects: ObjectLayer | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.operations = {}
        for attr in vars(cls).values():
            name = getattr(attr, "_operation_name", None)
            if name:
                cls.operations[name] = attr

    def register_lifecycle(self, lifecycle: Lifecycle) -> None:
        """Register the transition handlers of this service's resource kinds."""

    def prepare(self, request: Request, account: str) -> Request:
        """The request as this service's operations are to see it, before its operation is looked up (S3
        moves a virtual-hosted bucket into the path and decodes aws-chunked bodies); raises ServiceError."""
        return request

    def operation_for(self, request: Request, matched: str | None) -> str | None:
        """The operation a request is for, given the one its protocol's routes matched: services whose
        operations share a route (S3's PutObject and CopyObject) tell them apart here."""
        return matched

    def call(self, ctx: Context, operation: str, params: dict) -> dict:
        handler = self.operations.get(operation)
        if handler is None:
            raise self.unknown_operation(operation)
        return handler(self, ctx, params) or {}

    # -- how this service answers input the codec could not accept ---------------------------------

    def unknown_operation(self, operation: str | None) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Unknown operation {operation or ''}".strip())

    def validation_error(self, failed: ValidationFailed) -> ServiceError:
        return ServiceError("ValidationException", str(failed))

    def serialization_error(self, failed: SerializationError) -> ServiceError:
        return ServiceError("SerializationException", str(failed) or "Malformed request body")

    def internal_error(self) -> ServiceError:
        return ServiceError("InternalFailure", "An internal error occurred.", 500, sender_fault=False)

    def access_denied(self) -> ServiceError:
        return ServiceError("AccessDenied", "Access Denied", 403)

    # -- signed URLs that the service hands out ---------------------------------------------------------

    def signed_object(self, ctx: Context, name: str, args: dict, method: str, body: bytes,
                      headers: dict[str, str]) -> ObjectResponse:
        """Answer a request to a URL made by ``ctx.signed_url``; by default a download of ``download()``."""
        if method not in ("GET", "HEAD"):
            raise ServiceError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)
        content_type, data = self.download(ctx, name, args)
        return ObjectResponse(200, content_type, data)

    def download(self, ctx: Context, name: str, args: dict) -> tuple[str, bytes]:
        raise ServiceError("NoSuchKey", "The specified key does not exist.", 404)

    # -- keyset pages --------------------------------------------------------------------------------

    def page(self, ctx: Context, kind: str, *, limit: int, token: str | None,
             invalid_token: Callable[[], ServiceError], parent: str | None = None,
             states: Iterable[str] | None = None, ref: str | None = None, by: str = "created",
             descending: bool = False, filters: tuple = ()) -> Page:
        """One page of ``kind`` ordered ``by`` creation or id, continuing from ``token``.

        Tokens carry the last position returned and are bound to the account, region, operation and
        every filter (``filters`` holds any the service applies itself), so a token replayed elsewhere
        gets ``invalid_token()``.
        """
        states = sorted(states) if states is not None else None
        context = (ctx.account, ctx.region, self.model_name, ctx.operation, parent, states, ref, by, descending,
                   filters)
        after = None
        if token is not None:
            try:
                after = ctx.signer.decode(token, context)
            except InvalidToken:
                raise invalid_token() from None
            if not (isinstance(after, list) and len(after) == (2 if by == "created" else 1)):
                raise invalid_token()
        items, more = ctx.tx.page(kind, ctx.account, ctx.region, limit=limit, after=after, parent=parent,
                                  states=states, ref=ref, by=by, descending=descending)
        next_token = ctx.signer.encode(items[-1].sort_key(by), context) if more and items else None
        return Page(items, next_token)

    def page_fixed(self, ctx: Context, items: list, *, limit: int, token: str | None,
                   invalid_token: Callable[[], ServiceError], filters: tuple = ()) -> tuple[list, str | None]:
        """One page of a fixed list the service knows by heart (catalogue data, not stored resources)."""
        context = (ctx.account, ctx.region, self.model_name, ctx.operation, "fixed", filters)
        start = 0
        if token is not None:
            try:
                start = ctx.signer.decode(token, context)
            except InvalidToken:
                raise invalid_token() from None
            if not isinstance(start, int) or not 0 <= start <= len(items):
                raise invalid_token()
        end = start + limit
        return items[start:end], (ctx.signer.encode(end, context) if end < len(items) else None)


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
