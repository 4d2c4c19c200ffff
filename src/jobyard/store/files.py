"""Byte payloads kept as files under the data dir (archives, uploaded assets, object bodies).

Rows in the store name a file by key; the bytes live here so that large payloads never sit in the
database. Writes go to a temporary file that is fsynced and renamed into place, so an acknowledged
write survives a killed process and a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from typing import BinaryIO


class FileStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        # Keys are hashed into a fan-out of directories: any key string is safe and no folder grows huge.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return os.path.join(self.root, digest[:2], digest[2:4], digest)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """The bytes of ``key`` from ``start`` up to and including ``end`` (default: to the end)."""
        with open(self._path(key), "rb") as f:
            f.seek(start)
            return f.read() if end is None else f.read(end - start + 1)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int:
        return os.path.getsize(self._path(key))

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root, exist_ok=True)
