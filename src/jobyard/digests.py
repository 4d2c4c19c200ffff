"""Digests of request and object bytes as AWS computes them: MD5 (ETags, ``Content-MD5``) and S3's flexible
checksums (``x-amz-checksum-*``: base64 of the digest), with the errors S3 documents for a wrong one.

The REST codec checks what a client sent with a body; the object layer computes what it stores. CRC32C and
CRC64NVME come from ``awscrt`` (the library botocore itself uses for them) when it is installed; without it
those two are kept as the client sent them, unverified, since no pinned dependency of this project computes
them over object-sized data. The composite checksum of a multipart object only hashes the parts' checksums
(a few bytes each), which plain Python does fast enough.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import zlib

from .errors import ServiceError

try:  # optional, as in botocore
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - depends on the environment
    _crt = None

# S3's algorithm names, and the header each one travels in.
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADERS = {name: f"x-amz-checksum-{name.lower()}" for name in ALGORITHMS}
# Length in bytes of each digest, to tell a malformed value from a wrong one.
DIGEST_BYTES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
# Reflected polynomials of the CRCs zlib lacks, for the plain-Python fallback.
_CRC_POLYNOMIALS = {"CRC32C": (0x82F63B78, 32), "CRC64NVME": (0x9A6C9329AC4BC9B5, 64)}


# Glacier's tree hash: SHA-256 over 1 MiB leaves, combined pairwise (Glacier's "Computing checksums").
TREE_HASH = "TREEHASH"
_MiB = 1024 * 1024


class TreeHasher:
    """Glacier's SHA-256 tree hash, fed any number of bytes at a time."""

    def __init__(self):
        self._leaves: list[bytes] = []
        self._leaf = hashlib.sha256()
        self._filled = 0

    def update(self, data) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), _MiB - self._filled)
            self._leaf.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == _MiB:
                self._leaves.append(self._leaf.digest())
                self._leaf, self._filled = hashlib.sha256(), 0

    def digest(self) -> bytes:
        level = list(self._leaves)
        if self._filled or not level:
            level.append(self._leaf.digest())
        while len(level) > 1:
            paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                paired.append(level[-1])
            level = paired
        return level[0]


class _Crc:
    """A CRC fed piecewise: ``step(data, previous)`` is zlib's or awscrt's."""

    def __init__(self, step, width: int):
        self._step, self._width, self._value = step, width, 0

    def update(self, data) -> None:
        self._value = self._step(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def hasher(algorithm: str):
    """An incremental hasher (``update``/``digest``) of ``algorithm`` ("MD5", S3's names, ``TREE_HASH``), or None
    when it cannot be computed here."""
    if algorithm == "MD5":
        return hashlib.md5()
    if algorithm == "SHA256":
        return hashlib.sha256()
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "CRC32":
        return _Crc(zlib.crc32, 4)
    if algorithm == TREE_HASH:
        return TreeHasher()
    if _crt is not None and algorithm == "CRC32C":
        return _Crc(_crt.crc32c, 4)
    if _crt is not None and algorithm == "CRC64NVME":
        return _Crc(_crt.crc64nvme, 8)
    return None


def digest_of(algorithm: str, data) -> bytes | None:
    """The binary digest of ``data``: bytes, or a ``blobs.Blob`` (which computes it once, without holding its
    bytes in memory)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return data.digest(algorithm)
    h = hasher(algorithm)
    if h is None:
        return None
    h.update(data)
    return h.digest()


def md5_hex(data) -> str:
    return digest_of("MD5", data).hex()


def etag(data: bytes) -> str:
    """The ETag of a single-part upload: the quoted MD5 hex digest of the bytes."""
    return f'"{md5_hex(data)}"'


def md5_base64(data) -> str:
    return base64.b64encode(digest_of("MD5", data)).decode()


def _digest(algorithm: str, data) -> bytes | None:
    return digest_of(algorithm, data) if algorithm in ALGORITHMS else None


@functools.lru_cache(maxsize=None)
def _crc_table(polynomial: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _plain_crc(algorithm: str, data: bytes) -> bytes:
    """CRC32C / CRC64NVME in plain Python: slow, for a few hundred bytes at a time."""
    polynomial, width = _CRC_POLYNOMIALS[algorithm]
    table, mask = _crc_table(polynomial), (1 << width) - 1
    crc = mask
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return (crc ^ mask).to_bytes(width // 8, "big")


def compute(algorithm: str, data: bytes) -> str | None:
    """The base64 checksum of ``data``, or None when this algorithm cannot be computed here."""
    digest = _digest(algorithm, data)
    return base64.b64encode(digest).decode() if digest is not None else None


def composite(algorithm: str, part_values: list[str]) -> str:
    """A COMPOSITE checksum: the checksum of the parts' binary checksums, then ``-`` and the part count."""
    joined = b"".join(base64.b64decode(value) for value in part_values)
    digest = _digest(algorithm, joined)
    if digest is None:
        digest = _plain_crc(algorithm, joined)
    return f"{base64.b64encode(digest).decode()}-{len(part_values)}"


def well_formed(algorithm: str, value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == DIGEST_BYTES[algorithm]
    except (ValueError, KeyError):
        return False


def matches(algorithm: str, value: str, data: bytes) -> bool:
    """Whether ``value`` is the checksum of ``data`` (True when it cannot be computed here)."""
    computed = compute(algorithm, data)
    return computed is None or computed == value


def verify_checksum(algorithm: str, value: str, data: bytes, error: type[ServiceError] = ServiceError) -> None:
    """A client's checksum of ``data``: InvalidRequest when malformed, BadDigest when it does not match; raised
    as ``error`` (the object layer's callers catch its own ObjectError)."""
    if algorithm not in ALGORITHMS or not well_formed(algorithm, value):
        header = HEADERS.get(algorithm, f"x-amz-checksum-{algorithm.lower()}")
        raise error("InvalidRequest", f"Value for {header} header is invalid.", 400)
    if not matches(algorithm, value, data):
        raise error("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400)


def verify_md5(value: str, data: bytes, error: type[ServiceError] = ServiceError) -> None:
    """A Content-MD5 header: InvalidDigest when it is no MD5, BadDigest when it is not this body's."""
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise error("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    if digest != digest_of("MD5", data):
        raise error("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)
