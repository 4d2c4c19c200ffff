"""The SHA-256 tree hash Glacier computes over 1 MiB chunks, and which byte ranges are tree-hash aligned.

The hash: SHA-256 of every 1 MiB chunk (the last may be shorter), then adjacent digests are hashed in pairs,
level by level, an odd last one moving up unchanged, until one digest is left; its hex form is the tree
hash. A range is tree-hash aligned when the tree built over it alone has a root that is a node of the whole
archive's tree: only then does Glacier send a checksum for downloaded data.
"""

from __future__ import annotations

import hashlib

from ... import digests
from .common import MiB


def combine(digests: list[bytes]) -> bytes:
    level = list(digests)
    while len(level) > 1:
        paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tree_hash(data) -> str:
    """The tree hash of bytes or of a Blob (an upload's body, a stored range: hashed as they are read)."""
    return digests.digest_of(digests.TREE_HASH, data).hex()


def _chunks(size: int) -> int:
    return max(1, -(-size // MiB))


def is_megabyte_aligned(size: int, start: int, end: int) -> bool:
    """Start on a 1 MiB boundary; end just before one, or at the archive's last byte."""
    return start % MiB == 0 and ((end + 1) % MiB == 0 or end == size - 1)


def is_tree_hash_aligned(size: int, start: int, end: int) -> bool:
    """Whether bytes ``start..end`` (inclusive) of an archive of ``size`` bytes span one node of its tree."""
    if not (0 <= start <= end < size) or not is_megabyte_aligned(size, start, end):
        return False
    wanted = (start // MiB, _chunks(end + 1))
    nodes = [(i, i + 1) for i in range(_chunks(size))]
    while True:
        if wanted in nodes:
            return True
        if len(nodes) == 1:
            return False
        paired = [(nodes[i][0], nodes[i + 1][1]) for i in range(0, len(nodes) - 1, 2)]
        if len(nodes) % 2:
            paired.append(nodes[-1])
        nodes = paired
