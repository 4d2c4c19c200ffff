"""Bytes that need not be in memory: a range of a stored file, parts joined end to end.

An object's or archive's bytes can be gigabytes, so the byte store hands them out as a ``Blob`` instead of
``bytes``: its ``length`` is known, it is read in chunks (``chunks()``), the server streams it to the client
and the byte store copies it into a new file chunk by chunk. Its digests (``digest(algorithm)``, the names
of ``digests.hasher``) are computed in one pass over the chunks and kept. ``read()`` gives the whole bytes
for the few callers that want small ones in memory (inventories, manifests).

A request body is a ``Blob`` too (``wire.Body``), spooled to a file as it arrives; an external S3
endpoint's object is a ``Streamed`` one, read once as it arrives.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from . import digests

CHUNK = 1024 * 1024   # what is read, hashed and sent at a time


class Blob:
    length: int = 0

    def __init__(self):
        self._digests: dict[str, bytes | None] = {}

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        return self.length > 0

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        raise NotImplementedError

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def __bytes__(self) -> bytes:
        return self.read()

    def digest(self, algorithm: str) -> bytes | None:
        """The binary digest of the bytes (None when ``algorithm`` cannot be computed here)."""
        if algorithm not in self._digests:
            self.compute(algorithm)
        return self._digests[algorithm]

    def compute(self, *algorithms: str) -> None:
        """Compute several digests in one pass (the ones already known are not computed again)."""
        wanted = {name: digests.hasher(name) for name in algorithms if name not in self._digests}
        hashers = {name: h for name, h in wanted.items() if h is not None}
        if hashers:
            for chunk in self.chunks():
                for h in hashers.values():
                    h.update(chunk)
        for name, h in wanted.items():
            self._digests[name] = h.digest() if h is not None else None

    def close(self) -> None:
        """Release what the blob holds open (reading it afterwards is an error)."""


class FileRange(Blob):
    """``length`` bytes of an open file from ``start``. The file is opened by whoever makes the range (the
    byte store, inside its transaction), so a later delete or replacement of the key does not change what
    this range reads."""

    def __init__(self, file: BinaryIO, start: int, length: int):
        super().__init__()
        self.file, self.start, self.length = file, start, max(0, length)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        position, left = self.start, self.length
        while left > 0:
            self.file.seek(position)   # from where this reader left off, whatever else read the file
            chunk = self.file.read(min(size, left))
            if not chunk:
                raise EOFError(f"the file ended {left} bytes before the range did")
            position += len(chunk)
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()


class Streamed(Blob):
    """``length`` bytes of a file-like ``stream`` read once (an external endpoint's HTTP answer): its digests,
    if asked for, are computed as it is read, and it cannot be read again."""

    def __init__(self, stream, length: int):
        super().__init__()
        self.stream, self.length, self._read = stream, length, False

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        if self._read:
            raise RuntimeError("a streamed body can be read only once")
        self._read = True
        left = self.length
        while left > 0:
            chunk = self.stream.read(min(size, left))
            if not chunk:
                raise EOFError(f"the stream ended {left} bytes early")
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.stream.close()


class Joined(Blob):
    """Blobs (or bytes) one after the other: the parts of a multipart upload as one object."""

    def __init__(self, parts: list):
        super().__init__()
        self.parts = parts
        self.length = sum(len(part) for part in parts)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, (bytes, bytearray)):
                if part:
                    yield bytes(part)
            else:
                yield from part.chunks(size)

    def close(self) -> None:
        for part in self.parts:
            if isinstance(part, Blob):
                part.close()


def chunks(data, size: int = CHUNK) -> Iterator[bytes]:
    """The chunks of ``data``, bytes or a Blob."""
    if isinstance(data, Blob):
        yield from data.chunks(size)
    elif data:
        view = memoryview(data)
        for i in range(0, len(view), size):
            yield bytes(view[i:i + size])


def window(data, first: int, last: int):
    """Bytes ``first`` to ``last`` (inclusive) of bytes or a Blob, read no earlier than needed."""
    if isinstance(data, FileRange):
        return FileRange(data.file, data.start + first, last - first + 1)
    return as_bytes(data)[first:last + 1]


def as_bytes(data) -> bytes:
    return data.read() if isinstance(data, Blob) else bytes(data)
