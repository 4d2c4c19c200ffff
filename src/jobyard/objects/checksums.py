"""Object checksums as S3 computes them: the MD5 ETag and the flexible checksums (base64 of the digest).

CRC32C and CRC64NVME come from ``awscrt`` (the library botocore itself uses for them) when it is
installed; without it those two are kept as the client sent them, unverified, since no pinned
dependency of this project computes them.
"""

from __future__ import annotations

import base64
import hashlib
import zlib

from .api import ObjectError

try:  # optional, as in botocore
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - depends on the environment
    _crt = None

# S3's algorithm names, and the header each one travels in.
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADERS = {name: f"x-amz-checksum-{name.lower()}" for name in ALGORITHMS}
# Length in bytes of each digest, to tell a malformed value from a wrong one.
DIGEST_BYTES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def etag(data: bytes) -> str:
    """The ETag of a single-part upload: the quoted MD5 hex digest of the bytes."""
    return f'"{md5_hex(data)}"'


def md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _digest(algorithm: str, data: bytes) -> bytes | None:
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "SHA1":
        return hashlib.sha1(data).digest()
    if algorithm == "SHA256":
        return hashlib.sha256(data).digest()
    if _crt is not None and algorithm == "CRC32C":
        return _crt.crc32c(data).to_bytes(4, "big")
    if _crt is not None and algorithm == "CRC64NVME":
        return _crt.crc64nvme(data).to_bytes(8, "big")
    return None


def compute(algorithm: str, data: bytes) -> str | None:
    """The base64 checksum of ``data``, or None when this algorithm cannot be computed here."""
    digest = _digest(algorithm, data)
    return base64.b64encode(digest).decode() if digest is not None else None


def well_formed(algorithm: str, value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == DIGEST_BYTES[algorithm]
    except (ValueError, KeyError):
        return False


def matches(algorithm: str, value: str, data: bytes) -> bool:
    """Whether ``value`` is the checksum of ``data`` (True when it cannot be computed here)."""
    computed = compute(algorithm, data)
    return computed is None or computed == value


def verify_checksum(algorithm: str, value: str, data: bytes) -> None:
    """A client's checksum of ``data``: InvalidRequest when malformed, BadDigest when it does not match."""
    if algorithm not in ALGORITHMS or not well_formed(algorithm, value):
        header = HEADERS.get(algorithm, f"x-amz-checksum-{algorithm.lower()}")
        raise ObjectError("InvalidRequest", f"Value for {header} header is invalid.", 400)
    if not matches(algorithm, value, data):
        raise ObjectError("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400)


def verify_md5(value: str, data: bytes) -> None:
    """A Content-MD5 header: InvalidDigest when it is no MD5, BadDigest when it is not this body's."""
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise ObjectError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    if digest != hashlib.md5(data).digest():
        raise ObjectError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)
