"""Signed URLs: every URL the server hands out for a job's bytes, answered as S3 answers a presigned URL.

Some operations answer with a URL rather than with bytes: Data Exchange's upload into an import job and
its export and API-specification downloads, Snowball's manifests, job logs, return labels and software
updates. A service declares what each of its URL names does in ``Service.signed_urls()``; the server
registers them here at start-up, keyed by (service, name), so two services may use the same name and this
package never imports a service:

    def signed_urls(self):
        return {"manifest": Download(self._manifest),   # (ctx, args) -> (content_type, data) or Content
                "upload": Upload(self._receive)}         # (ctx, args, data, content_type) -> None

    url = ctx.signed_url("manifest", {"job": job.id}, expires_us)      # in an operation

S3's part is done here, once for every URL: the token's MAC and its expiry on the simulated clock
(AccessDenied), the methods a URL takes (MethodNotAllowed, with an ``Allow`` header), HEAD, a PUT's size
(EntityTooLarge), its Content-MD5 (InvalidDigest, BadDigest) and flexible checksums, the ETag (the quoted
MD5 of the bytes) and the Content-Type. The handler only finds or keeps the bytes: it runs in a unit of
work bound to the account and Region that made the URL, and refuses with S3 errors from ``rules``
(``no_such_key``, ``access_denied``, ``no_such_upload``, ``bad_digest``).

``serve`` takes the method, headers and body and gives back an ``Answer``, a plain value, instead of a
``wire.Response``: the server's route for these URLs (``admin/objects.py``) turns it into one and writes a
refusal through the S3 model's REST-XML codec, so these errors have the layout of every other S3 error
(RequestId, HostId, the request-id headers), and this package stays free of HTTP types and ``protocols/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, NamedTuple, Union

from ..blobs import Blob, window
from ..clock import to_datetime
from ..errors import ErrorTable, ServiceError
from ..store import InvalidToken
from . import checksums, rules
from .api import DEFAULT_CONTENT_TYPE, MAX_PUT_SIZE, ObjectError

if TYPE_CHECKING:
    from ..context import Context, Runtime

log = logging.getLogger("jobyard")

# Where the server serves these URLs (the admin route ``objects/{token}``).
PATH = "/_jobyard/objects/"
# What a URL's token is bound to, so no page token or other signed value passes for one.
_BINDING = ("url",)


class Content(NamedTuple):
    """What a download handler finds: the bytes and how to label them."""

    content_type: str
    data: bytes          # or a ``blobs.Blob`` (``ctx.files.stream``): sent in chunks, whatever its size
    disposition: str | None = None       # Content-Disposition, as an S3 object may carry one


@dataclass(frozen=True)
class Download:
    """A URL that answers GET and HEAD: ``read(ctx, args)`` returns ``(content_type, data)`` or a ``Content``."""

    read: Callable[["Context", dict], Union[Content, tuple]]
    methods = ("GET", "HEAD")

    def answer(self, ctx: "Context", args: dict, method: str, headers: Mapping[str, str], body: bytes) -> "Answer":
        content = Content(*self.read(ctx, args))
        data = content.data   # bytes, or a Blob the server streams
        out = [("Content-Type", content.content_type), ("ETag", checksums.etag(data)), ("Accept-Ranges", "bytes")]
        if content.disposition:
            out.append(("Content-Disposition", content.disposition))
        status, wanted = 200, rules.parse_range(headers.get("range"))
        if wanted is not None:   # as S3 answers a Range on a presigned GET: 206, or 416 InvalidRange
            first, last = rules.resolve_range(wanted, len(data))
            out.append(("Content-Range", f"bytes {first}-{last}/{len(data)}"))
            status, data = 206, window(data, first, last)
        out.append(("Content-Length", str(len(data))))
        return Answer(status, tuple(out), b"" if method == "HEAD" else data)


@dataclass(frozen=True)
class Upload:
    """A URL that takes a PUT: ``write(ctx, args, data, content_type)`` keeps bytes that passed S3's checks."""

    write: Callable[["Context", dict, bytes, str], None]
    max_bytes: int = MAX_PUT_SIZE
    methods = ("PUT",)

    def answer(self, ctx: "Context", args: dict, method: str, headers: Mapping[str, str], body: bytes) -> "Answer":
        if len(body) > self.max_bytes:
            raise rules.entity_too_large(len(body), self.max_bytes)
        if "content-md5" in headers:
            checksums.verify_md5(headers["content-md5"].strip(), body)
        for algorithm, header in checksums.HEADERS.items():
            if header in headers:
                checksums.verify_checksum(algorithm, headers[header].strip(), body)
        self.write(ctx, args, body, headers.get("content-type") or DEFAULT_CONTENT_TYPE)
        return Answer(200, (("ETag", checksums.etag(body)), ("Content-Length", "0")))


Handler = Union[Download, Upload]


@dataclass(frozen=True)
class Answer:
    """What a signed URL answers. A refusal carries its ``error`` (the server writes it in S3's error
    layout) and any headers that go with it (``Allow``)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | Blob = b""
    error: ServiceError | None = None

    @classmethod
    def refused(cls, error: ServiceError, headers: tuple[tuple[str, str], ...] = ()) -> "Answer":
        return cls(error.status, headers, b"", error)


class SignedUrls:
    """The registry of every service's URL names, and the endpoint that answers them (one per runtime)."""

    def __init__(self, runtime: "Runtime"):
        self.runtime = runtime
        self._handlers: dict[tuple[str, str], tuple[Handler, ErrorTable | None]] = {}

    def register(self, service: str, handlers: Mapping[str, Handler], errors: ErrorTable | None = None) -> None:
        """The URL names of ``service``; their handlers run with ``errors`` as the context's table."""
        for name, handler in handlers.items():
            if not isinstance(handler, (Download, Upload)):
                raise TypeError(f"signed URL {service}/{name} must be a Download or an Upload")
            if (service, name) in self._handlers:
                raise ValueError(f"signed URL {service}/{name} is registered twice")
            self._handlers[(service, name)] = (handler, errors)

    def url(self, ctx: "Context", name: str, args: dict, expires_us: int) -> str:
        """A URL for ``name`` of ``ctx``'s service with ``args``, answered for ``ctx``'s account and Region
        until ``expires_us`` (simulated)."""
        if (ctx.service, name) not in self._handlers:
            raise LookupError(f"{ctx.service} registers no signed URL named {name!r}")
        claim = {"s": ctx.service, "n": name, "a": args, "e": expires_us, "acct": ctx.account, "reg": ctx.region}
        return f"{ctx.base_url}{PATH}{self.runtime.signer.encode(claim, _BINDING)}"

    def serve(self, token: str, method: str, headers: Mapping[str, str], body: bytes, base_url: str = "") -> Answer:
        """Answer one request to a signed URL; ``headers`` has lower-case names."""
        try:
            claim = self.runtime.signer.decode(token, _BINDING)
            service, name, args, expires_us = claim["s"], claim["n"], claim["a"], int(claim["e"])
            account, region = claim.get("acct", ""), claim.get("reg", "")
        except (InvalidToken, KeyError, TypeError, ValueError):
            return Answer.refused(rules.access_denied("Invalid or forged URL"))
        found = self._handlers.get((service, name))
        if found is None:   # signed here, but no service serves that name (any more)
            return Answer.refused(rules.no_such_key())
        handler, errors = found
        kwargs = {"errors": errors} if errors is not None else {}
        try:
            with self.runtime.unit(account, region, name, service=service, base_url=base_url, **kwargs) as ctx:
                if ctx.now_us > expires_us:
                    raise rules.request_expired(_iso(expires_us), _iso(ctx.now_us))
                if method not in handler.methods:
                    return Answer.refused(rules.method_not_allowed(Method=method, ResourceType="OBJECT"),
                                          (("Allow", ", ".join(handler.methods)),))
                return handler.answer(ctx, args, method, headers, body)
        except ServiceError as error:   # ObjectErrors, and any the service's context raised
            return Answer.refused(error)
        except Exception:
            log.exception("internal error on signed URL %s/%s", service, name)
            return Answer.refused(ObjectError("InternalError", "We encountered an internal error. Please try again.",
                                              500, sender_fault=False))


def _iso(us: int) -> str:
    return to_datetime(us).strftime("%Y-%m-%dT%H:%M:%SZ")
