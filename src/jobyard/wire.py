"""Plain HTTP request/response values passed between the server, routing and the protocol codecs.

A request's body is a ``Body``: its bytes in memory when small, else a file the server spooled them to as
they arrived (with their length and the digests the request's headers ask about computed on the way, so
checking them reads nothing twice). ``request.body`` is always the whole bytes, for the codecs of API bodies
(JSON, CBOR, XML: a few MiB at most); an upload's blob payload reaches the service as the ``Body`` itself,
and the byte store takes its file over without copying it through memory. A response's body is bytes or a
``blobs.Blob``, which the server sends in chunks.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import InitVar, dataclass, field
from typing import Callable, Iterator
from urllib.parse import parse_qsl

from . import digests
from .blobs import CHUNK, Blob

# Bodies up to this size stay in memory; larger ones are spooled to a file.
MEMORY_LIMIT = 1024 * 1024
# What every spooled body's digests include, computed as it arrives: MD5 (S3's ETag, Content-MD5) and
# SHA-256 (x-amz-content-sha256, SigV4's payload hash).
SPOOLED_DIGESTS = ("MD5", "SHA256")


class Body(Blob):
    """A request body: ``data`` in memory, or the file at ``path`` (removed by ``close``).

    ``framing`` is set when the body arrived aws-chunked and was unframed on the way in
    (``protocols.payload.ChunkedDecoder``): what the framing said, for the codec to check."""

    def __init__(self, data: bytes = b"", *, path: str | None = None, length: int | None = None,
                 known: dict[str, bytes | None] | None = None, framing=None):
        super().__init__()
        self.data = None if path is not None else bytes(data)
        self.path = path
        self.length = length if path is not None else len(self.data)
        self._digests.update(known or {})
        self.framing = framing

    @property
    def spooled(self) -> bool:
        return self.path is not None

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        if self.path is None:
            if self.data:
                yield self.data
            return
        with open(self.path, "rb") as f:
            while chunk := f.read(size):
                yield chunk

    def read(self) -> bytes:
        if self.path is None:
            return self.data
        with open(self.path, "rb") as f:
            return f.read()

    def sha256_hex(self) -> str:
        """The body's SHA-256 (SigV4's payload hash), computed as it was spooled when it is large."""
        return self.digest("SHA256").hex()

    def close(self) -> None:
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


EMPTY = Body(b"")


class Spooler:
    """Collects a body as it arrives: in memory up to ``MEMORY_LIMIT``, then in a new file in the folder
    ``folder()`` names (asked only then), hashing with ``algorithms`` (names of ``digests.hasher``) on the way."""

    def __init__(self, folder: Callable[[], str | None], algorithms=SPOOLED_DIGESTS):
        self.folder = folder
        self.algorithms = tuple(dict.fromkeys((*SPOOLED_DIGESTS, *algorithms)))
        self.length = 0
        self._memory: list[bytes] = []
        self._file = None
        self._path: str | None = None
        self._hashers: dict = {}

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.length += len(data)
        if self._file is None:
            self._memory.append(data)
            if self.length <= MEMORY_LIMIT:
                return
            self._start_file()
            data = b"".join(self._memory)
            self._memory = []
        for h in self._hashers.values():
            h.update(data)
        self._file.write(data)

    def _start_file(self) -> None:
        folder = self.folder()
        if folder is not None:
            os.makedirs(folder, exist_ok=True)
        fd, self._path = tempfile.mkstemp(prefix="body-", dir=folder)
        self._file = os.fdopen(fd, "wb")
        self._hashers = {name: h for name in self.algorithms if (h := digests.hasher(name)) is not None}

    def finish(self, framing=None) -> Body:
        if self._file is None:
            return Body(b"".join(self._memory), framing=framing)
        self._file.close()
        known = {name: h.digest() for name, h in self._hashers.items()}
        known.update((name, None) for name in self.algorithms if name not in known)
        return Body(path=self._path, length=self.length, known=known, framing=framing)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            Body(path=self._path, length=0).close()


@dataclass
class Request:
    method: str
    path: str                      # percent-decoded path, no query string
    raw_path: str                  # path as sent (still percent-encoded), for REST label parsing
    query_string: str              # raw query string, no leading '?'
    headers: dict[str, str]        # lower-case names; repeated headers joined with ', '
    body: InitVar[bytes | Body | None] = None   # read back as ``request.body`` (bytes), below
    scheme: str = "http"
    host: str = ""                 # the authority the client addressed (Host header or absolute-form target)
    payload: Body = field(default=EMPTY)

    def __post_init__(self, body):
        if body is not None:
            self.payload = body if isinstance(body, Body) else Body(bytes(body))

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def base_url(self) -> str:
        """Where this client reaches the server: used to build URLs that the server itself serves."""
        return f"{self.scheme}://{self.host}"


# The whole body as bytes (read from its file when it was spooled: callers that may get a large body use
# ``payload``). A property set after the dataclass is made, so that ``body`` stays an ``__init__`` argument.
Request.body = property(lambda self: self.payload.read(), doc="The whole body, as bytes.")


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Blob = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None
