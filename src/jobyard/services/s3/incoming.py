"""What S3 does to a request before its operation is known: find the bucket of a virtual-hosted request,
decode an aws-chunked body, and check the body against the digests the client sent.

Addressing. Path-style requests name the bucket in the path (``/bucket/key``). Virtual-hosted requests
name it in the Host (``bucket.s3.amazonaws.com/key``, also as an absolute-form target when jobyard
serves as the client's HTTP proxy). A request is read as virtual-hosted when its host is

* ``<bucket>.s3.amazonaws.com`` or a regional / dual-stack / accelerate form of it
  (``<bucket>.s3.us-west-2.amazonaws.com``, ``<bucket>.s3-us-west-2.amazonaws.com``), or
* ``<bucket>.localhost`` (what botocore builds for ``endpoint_url=http://localhost:port``), or
* any other host of two or more labels whose first label is an existing bucket of the caller.

Anything else (an IP address, ``localhost``, ``s3.amazonaws.com`` itself, a host whose first label is
no bucket of the caller) is path-style. The bucket is then moved into the path, since operations are
matched on ``/{Bucket}/{Key+}``.

Bodies. SDKs upload with ``Content-Encoding: aws-chunked`` (botocore over TLS: unsigned chunks with an
``x-amz-checksum-*`` trailer; other SDKs: ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` signed chunks). The
chunks are joined, the trailer's checksum becomes a header like the one a non-streaming client sends,
and ``x-amz-decoded-content-length`` is checked. Then any ``Content-MD5``, ``x-amz-checksum-*`` and hex
``x-amz-content-sha256`` header is checked against the body (``BadDigest``,
``XAmzContentSHA256Mismatch``); CompleteMultipartUpload's ``x-amz-checksum-*`` headers are the checksums
of the object it makes, not of its body, and are left to the operation. Chunk signatures are not
checked: jobyard does not check signatures.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import replace
from typing import Callable
from urllib.parse import quote

from ...objects import checksums, rules
from ...wire import Request
from .errors import incomplete_body, malformed_trailer, sha256_mismatch

_AWS_HOST = re.compile(r"(?P<bucket>.+?)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")
_LOCALHOST = re.compile(r"(?P<bucket>.+)\.localhost")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def virtual_bucket(host: str, is_bucket: Callable[[str], bool]) -> str | None:
    """The bucket a Host names (see the module docstring), or None for a path-style request."""
    name = _hostname(host)
    if not name or _is_ip(name) or "." not in name:
        return None
    for pattern in (_AWS_HOST, _LOCALHOST):
        match = pattern.fullmatch(name)
        if match:
            return match.group("bucket")
    first = name.partition(".")[0]
    return first if is_bucket(first) else None


def with_bucket_in_path(request: Request, bucket: str) -> Request:
    path = "" if request.path == "/" else request.path
    raw_path = "" if (request.raw_path or "/") == "/" else request.raw_path
    return replace(request, path=f"/{bucket}{path}", raw_path=f"/{quote(bucket, safe='')}{raw_path}")


# -- bodies --------------------------------------------------------------------------------------------

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
        except ValueError:   # not a chunk header: the framing broke off (S3's exact code is UNCONFIRMED)
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


def decode_body(request: Request) -> Request:
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
    # aws-chunked is how the bytes travelled, not how they are encoded: S3 does not keep it.
    encodings = [p.strip() for p in headers.get("content-encoding", "").split(",")
                 if p.strip() and p.strip().lower() != "aws-chunked"]
    if encodings:
        headers["content-encoding"] = ", ".join(encodings)
    else:
        headers.pop("content-encoding", None)
    headers["content-length"] = str(len(data))
    return replace(request, body=data, headers=headers)


def verify_digests(request: Request, checksum_headers: bool = True) -> None:
    """Check the body against every digest header the client sent (``checksum_headers=False``: all but the
    ``x-amz-checksum-*`` ones)."""
    headers, body = request.headers, request.body
    if "content-md5" in headers:
        checksums.verify_md5(headers["content-md5"], body)
    for algorithm, header in checksums.HEADERS.items():
        if checksum_headers and header in headers:
            checksums.verify_checksum(algorithm, headers[header], body)
    declared = headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(declared):
        computed = hashlib.sha256(body).hexdigest()
        if computed != declared:
            raise sha256_mismatch(declared, computed)


def require_digest(request: Request) -> None:
    """Requests S3 refuses without a Content-MD5 or flexible checksum header (DeleteObjects)."""
    if "content-md5" not in request.headers and not any(h in request.headers for h in checksums.HEADERS.values()):
        raise rules.invalid_request("Missing required header for this request: Content-MD5")
