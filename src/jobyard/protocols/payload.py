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
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel

from .. import digests
from ..errors import ServiceError
from ..wire import Body, Request

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

_LINE_MAX = 4096          # a chunk header: a hex size and a signature
_TRAILERS_MAX = 16384     # the trailing headers after the last chunk


class Framing:
    """What an aws-chunked body's framing said: its trailing headers, and the error it broke with (a
    function giving the ServiceError; None when it was well formed)."""

    def __init__(self, trailers: dict[str, str], error=None):
        self.trailers, self.error = trailers, error


class ChunkedDecoder:
    """Undoes aws-chunked framing as the bytes arrive, handing each chunk's payload to ``sink``.

    Each chunk is ``<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n``; a zero-size chunk ends the
    data, and trailing ``name:value`` lines, ended by an empty line, may follow it. A body that breaks the
    framing stops the decoding; ``finish`` tells how it broke.
    """

    def __init__(self, sink, chain=None):
        self.sink = sink
        # Told each chunk's extension and SHA-256, then the trailer lines (``auth.ChunkChain``: signed chunks).
        self.chain = chain
        self._buffer = bytearray()
        self._left = 0            # payload bytes of the current chunk still to come
        self._state = "size"      # size, data, crlf, trailers
        self._error = None
        self._extension = ""      # of the current chunk, with its running hash while a chain is told
        self._hash = None

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        if self._error is not None:
            return
        buffer += data
        while buffer and self._error is None:
            if self._state == "data":
                take = min(self._left, len(buffer))
                data = bytes(buffer[:take])
                self.sink(data)
                if self._hash is not None:
                    self._hash.update(data)
                del buffer[:take]
                self._left -= take
                if not self._left:
                    self._state = "crlf"
                    if self._hash is not None:
                        self.chain.chunk(self._extension, self._hash.hexdigest())
            elif not self._step():
                return

    def _step(self) -> bool:
        """Read one framing element off the buffer; False when more bytes are needed first."""
        buffer = self._buffer
        if self._state == "crlf":
            if len(buffer) < 2:
                return False
            if buffer[:2] != b"\r\n":
                self._error = incomplete_body
                return False
            del buffer[:2]
            self._state = "size"
            return True
        if self._state == "size":
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > _LINE_MAX:
                    self._error = incomplete_body
                return False
            size_text, _, extension = bytes(buffer[:end]).partition(b";")
            size_text = size_text.strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                # Not a chunk header: the framing broke off. S3's "List of error codes" has IncompleteBody for a
                # body short of its declared length; no code for broken aws-chunked framing is documented.
                self._error = incomplete_body
                return False
            del buffer[:end + 2]
            if self.chain is not None:
                self._extension = extension.decode("latin-1")
                self._hash = hashlib.sha256()
            if size == 0:
                self._state = "trailers"
                if self._hash is not None:
                    self.chain.chunk(self._extension, self._hash.hexdigest())
            else:
                self._state, self._left = "data", size
            return True
        # trailers: kept whole until the end
        if len(buffer) > _TRAILERS_MAX:
            self._error = malformed_trailer
        return False

    def finish(self) -> Framing:
        if self._error is None and self._state != "trailers":
            self._error = incomplete_body
        trailers: dict[str, str] = {}
        lines = []
        if self._error is None:
            for line in bytes(self._buffer).split(b"\r\n"):
                if not line:
                    continue
                name, colon, value = line.decode("latin-1").partition(":")
                if not colon:
                    self._error = malformed_trailer
                    break
                lines.append((name, value))
                trailers[name.strip().lower()] = value.strip()
            if self.chain is not None:
                self.chain.trailers(lines)
        return Framing(trailers, self._error)


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload of a whole aws-chunked body and its trailing headers (lower-case names)."""
    out = bytearray()
    decoder = ChunkedDecoder(out.extend)
    decoder.feed(body)
    framing = decoder.finish()
    if framing.error is not None:
        raise framing.error()
    return bytes(out), framing.trailers


def is_streaming(headers: dict[str, str]) -> bool:
    """Whether the body is aws-chunked framed."""
    encoding = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encoding or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def declared_length(headers: dict[str, str]) -> int | None:
    """The payload size a request announces: its decoded length when aws-chunked, else its Content-Length."""
    text = headers.get("x-amz-decoded-content-length") if is_streaming(headers) else headers.get("content-length")
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def wanted_digests(headers: dict[str, str]) -> tuple[str, ...]:
    """The digests (``digests.hasher`` names) a body's headers will be checked against, to compute as the
    body arrives: the flexible checksums it names (as headers, a promised trailer or the SDK's algorithm),
    and Glacier's tree hash."""
    named = headers.get("x-amz-trailer", "").lower() + "," + headers.get("x-amz-sdk-checksum-algorithm", "").lower()
    wanted = [algorithm for algorithm, header in digests.HEADERS.items()
              if header in headers or header in named or algorithm.lower() in named.split(",")]
    if "x-amz-sha256-tree-hash" in headers:
        wanted.append(digests.TREE_HASH)
    return tuple(wanted)


def unframe(request: Request) -> Request:
    """An aws-chunked request as the same request with a plain body (and its trailer as headers). The server
    unframes a body while it arrives (``payload.framing``); one given whole is unframed here."""
    headers = request.headers
    if not is_streaming(headers):
        return request
    body = request.payload
    framing = body.framing
    if framing is None:
        out = bytearray()
        decoder = ChunkedDecoder(out.extend)
        decoder.feed(request.body)
        framing = decoder.finish()
        body = Body(bytes(out))
    if framing.error is not None:
        raise framing.error()
    trailers = framing.trailers
    declared = headers.get("x-amz-decoded-content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) != len(body)):
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
    headers["content-length"] = str(len(body))
    return replace(request, body=body, headers=headers)


# -- digests -------------------------------------------------------------------------------------------

def verify(request: Request, policy: int) -> None:
    """Check the body against every digest header the operation's ``policy`` (``checksum_policy``) covers."""
    headers, body = request.headers, request.payload   # digests of a spooled body were computed as it arrived
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
        computed = digests.digest_of("SHA256", body).hex()
        if computed != declared:
            raise sha256_mismatch(declared, computed)
