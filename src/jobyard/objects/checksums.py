"""Object checksums as S3 computes them: the MD5 ETag and the flexible checksums (base64 of the digest).

CRC32C and CRC64NVME come from ``awscrt`` (the library botocore itself uses for them) when it is
installed; without it those two are kept as the client sent them, unverified, since no pinned
dependency of this project computes them over object-sized data. The composite checksum of a multipart
object only hashes the parts' checksums (a few bytes each), which plain Python does fast enough.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import zlib

from .api import ObjectError
from .rules import bad_digest, invalid_digest

try:  # optional, as in botocore
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - depends on the environment
    _crt = None

# S3's algorithm names, and the header each one travels in.
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADERS = {name: f"x-amz-checksum-{name.lower()}" for name in ALGORITHMS}
# Length in bytes of each digest, to tell a malformed value from a wrong one.
DIGEST_BYTES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
# How each algorithm may combine the checksums of a multipart upload's parts, S3's default first (S3 user
# guide, "Checking object integrity": CRC64NVME is full-object only, the SHAs composite only).
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"
CHECKSUM_TYPES = {"CRC32": (COMPOSITE, FULL_OBJECT), "CRC32C": (COMPOSITE, FULL_OBJECT), "CRC64NVME": (FULL_OBJECT,),
                  "SHA1": (COMPOSITE,), "SHA256": (COMPOSITE,)}
# Reflected polynomials of the CRCs zlib lacks, for the plain-Python fallback.
_CRC_POLYNOMIALS = {"CRC32C": (0x82F63B78, 32), "CRC64NVME": (0x9A6C9329AC4BC9B5, 64)}


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


def multipart_etag(part_etags: list[str]) -> str:
    """The ETag of a multipart object: the MD5 of the parts' binary MD5s, then ``-`` and the part count."""
    digests = b"".join(bytes.fromhex(etag.strip('"')) for etag in part_etags)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(part_etags)}"'


def composite(algorithm: str, part_values: list[str]) -> str:
    """A COMPOSITE checksum: the checksum of the parts' binary checksums, then ``-`` and the part count."""
    joined = b"".join(base64.b64decode(value) for value in part_values)
    digest = _digest(algorithm, joined)
    if digest is None:
        digest = _plain_crc(algorithm, joined)
    return f"{base64.b64encode(digest).decode()}-{len(part_values)}"


def upload_checksum_type(algorithm: str | None, checksum_type: str | None) -> str | None:
    """The checksum type of a new multipart upload (by default FULL_OBJECT for CRC64NVME, COMPOSITE for
    the others), or InvalidRequest for a combination S3 refuses."""
    if algorithm is None:
        if checksum_type is not None:
            raise ObjectError("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                                                "x-amz-checksum-algorithm header.", 400)
        return None
    if algorithm not in CHECKSUM_TYPES:
        # The algorithms S3 answers this for on its general purpose buckets (SHA512, MD5 and the XXHASH
        # ones of newer models are beyond this emulator as well).
        raise unsupported_algorithm()
    if checksum_type is None:
        return CHECKSUM_TYPES[algorithm][0]
    if checksum_type not in (COMPOSITE, FULL_OBJECT):
        raise ObjectError("InvalidRequest", "Value for x-amz-checksum-type header is invalid.", 400)
    if checksum_type not in CHECKSUM_TYPES[algorithm]:
        raise ObjectError("InvalidRequest", f"The {checksum_type} checksum type cannot be used with the "
                                            f"{algorithm.lower()} checksum algorithm.", 400)
    return checksum_type


def unsupported_algorithm() -> ObjectError:
    return ObjectError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                                         "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]", 400)


def type_mismatch(expected: str | None, actual: str | None) -> ObjectError:
    """A part (or object) checksum of another algorithm than the upload's."""
    return ObjectError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                                         f"{(expected or 'null').lower()}, actual checksum Type: "
                                         f"{(actual or 'null').lower()}", 400)


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
        raise invalid_digest()
    if digest != hashlib.md5(data).digest():
        raise bad_digest()
