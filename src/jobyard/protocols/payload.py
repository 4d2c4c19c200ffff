"""What the REST codec does to a request body before reading it: undo aws-chunked framing, and check the
body against the digests the client sent with it.

Framing. SDKs upload with ``Content-Encoding: aws-chunked`` (botocore over TLS: unsigned chunks with an
``x-amz-checksum-*`` trailer; other SDKs: ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` signed chunks). The chunks
are joined, the trailer's checksum becomes a header like the one a non-streaming client sends, and
``x-amz-decoded-content-length`` is checked. Chunk signatures are not checked: signatures are not.

Digests, per the model: ``Content-MD5`` (RFC 1864) and a hex ``x-amz-content-sha256`` (SigV4's payload
hash) are checked on every request that carries them; the ``x-amz-checksum-*`` headers only on operations
with the ``httpChecksum`` trait, since elsewhere they describe something else (CompleteMultipartUpload's
are the checksums of the object it makes); and an operation whose trait says ``requestChecksumRequired``
is refused without any of them (DeleteObjects).

The errors are S3's (Amazon S3 API Reference, "Error responses"), the codes AWS documents for these.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from botocore.model import OperationModel

from .. import digests
from ..errors import ServiceError
from ..wire import Request

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")

# What an operation's model asks of the digests of its body.
CHECKSUMS_IGNORED, CHECKSUMS_CHECKED, CHECKSUMS_REQUIRED = 0, 1, 2


def checksum_policy(operation: OperationModel) -> int:
    """How the ``x-amz-checksum-*`` headers of an operation's requests are treated, from its model."""
    trait = operation.http_checksum or {}
    if trait.get("requestChecksumRequired") or operation.http_checksum_required:
        return CHECKSUMS_REQUIRED
    # ``requestAlgorithmMember``: the request may carry a checksum of its body (the rest of the trait is
    # about responses: GetObject's ``requestValidationModeMember``).
    return CHECKSUMS_CHECKED if "requestAlgorithmMember" in trait else CHECKSUMS_IGNORED


def incomplete_body() -> ServiceError:
    return ServiceError("IncompleteBody", "The request body terminated unexpectedly")


def malformed_trailer() -> ServiceError:
    return ServiceError("MalformedTrailerError", "The request contained trailing data that was not well-formed or "
                                                 "did not conform to our published schema.")


def sha256_mismatch(declared: str, computed: str) -> ServiceError:
    return ServiceError("XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was computed.",
                        ClientComputedContentSHA256=declared, S3ComputedContentSHA256=computed)


def missing_digest() -> ServiceError:
    return ServiceError("InvalidRequest", "Missing required header for this request: Content-MD5")


# -- framing -------------------------------------------------------------------------------------------

def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload of an aws-chunked body and its trailing headers (lower-case names).

    Each chunk is ``<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n``; a zero-size chunk ends the
    data, and trailing ``name:value`` lines, ended by an empty line, may follow it.
    """
    out, pos = bytearray(), 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            raise incomplete_body()
        size_text = body[pos:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            # Not a chunk header: the framing broke off. S3's "List of error codes" has IncompleteBody for a
            # body short of its declared length; no code for broken aws-chunked framing is documented.
            raise incomplete_body() from None
        pos = end + 2
        if size == 0:
            break
        if pos + size + 2 > len(body) or body[pos + size:pos + size + 2] != b"\r\n":
            raise incomplete_body()
        out += body[pos:pos + size]
        pos += size + 2
    trailers: dict[str, str] = {}
    for line in body[pos:].split(b"\r\n"):
        if not line:
            continue
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise malformed_trailer()
        trailers[name.strip().lower()] = value.strip()
    return bytes(out), trailers


def _is_streaming(headers: dict[str, str]) -> bool:
    encoding = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encoding or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def unframe(request: Request) -> Request:
    """An aws-chunked request as the same request with a plain body (and its trailer as headers)."""
    headers = request.headers
    if not _is_streaming(headers):
        return request
    data, trailers = decode_aws_chunked(request.body)
    declared = headers.get("x-amz-decoded-content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) != len(data)):
        raise incomplete_body()
    promised = [name.strip().lower() for name in headers.get("x-amz-trailer", "").split(",") if name.strip()]
    if any(name not in trailers for name in promised):
        raise malformed_trailer()
    headers = {k: v for k, v in headers.items() if k != "x-amz-trailer-signature"}
    headers.update((name, value) for name, value in trailers.items() if name.startswith("x-amz-checksum-"))
    # aws-chunked is how the bytes travelled, not how they are encoded: it is not kept.
    encodings = [p.strip() for p in headers.get("content-encoding", "").split(",")
                 if p.strip() and p.strip().lower() != "aws-chunked"]
    if encodings:
        headers["content-encoding"] = ", ".join(encodings)
    else:
        headers.pop("content-encoding", None)
    headers["content-length"] = str(len(data))
    return replace(request, body=data, headers=headers)


# -- digests -------------------------------------------------------------------------------------------

def verify(request: Request, policy: int) -> None:
    """Check the body against every digest header the operation's ``policy`` (``checksum_policy``) covers."""
    headers, body = request.headers, request.body
    if policy == CHECKSUMS_REQUIRED and "content-md5" not in headers and not any(
            header in headers for header in digests.HEADERS.values()):
        raise missing_digest()
    if "content-md5" in headers:
        digests.verify_md5(headers["content-md5"], body)
    if policy != CHECKSUMS_IGNORED:
        for algorithm, header in digests.HEADERS.items():
            if header in headers:
                digests.verify_checksum(algorithm, headers[header], body)
    declared = headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(declared):
        computed = hashlib.sha256(body).hexdigest()
        if computed != declared:
            raise sha256_mismatch(declared, computed)
