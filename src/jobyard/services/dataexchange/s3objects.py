"""The one place where Data Exchange jobs touch Amazon S3 objects.

Import and export jobs to and from S3 go through ``transfer``. jobyard has no S3 object store yet, so every
transfer fails with ``S3Unavailable`` and the job ends in ``ERROR`` saying why. When S3 objects exist, this
function reads objects into payload files (imports) and writes payload files out as objects (exports);
nothing else in the service needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...store import Tx


@dataclass
class S3Copy:
    """One object to move. Imports fill in ``file_key``/``size``; exports name the asset's ``file_key``."""

    bucket: str
    key: str
    file_key: str | None = None
    size: int | None = None


class S3Unavailable(Exception):
    """The objects cannot be read or written; the message says why (it becomes the job's error)."""


def transfer(tx: Tx, account: str, region: str, direction: str, copies: list[S3Copy]) -> list[S3Copy]:
    """Copy objects in (``direction="import"``) or out (``"export"``) of S3 for ``account``."""
    first = copies[0] if copies else S3Copy("", "")
    verb = "read" if direction == "import" else "write"
    raise S3Unavailable(f"jobyard has no S3 object store yet, so it cannot {verb} s3://{first.bucket}/"
                        f"{first.key}; S3 import and export jobs end in ERROR until it has one.")
