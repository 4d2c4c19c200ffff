"""S3's rules for the checksums of objects and multipart uploads: ETags of multipart objects, which checksum
types each algorithm allows, and the errors for the rest. The digests themselves are ``jobyard.digests``
(re-exported here, as the object layer's callers use them by this name)."""

from __future__ import annotations

import functools
import hashlib

from .. import digests
from ..digests import (ALGORITHMS, DIGEST_BYTES, HEADERS, composite, compute, etag, matches,  # noqa: F401
                       md5_base64, md5_hex, well_formed)
from .api import ObjectError

verify_checksum = functools.partial(digests.verify_checksum, error=ObjectError)
verify_md5 = functools.partial(digests.verify_md5, error=ObjectError)

# How each algorithm may combine the checksums of a multipart upload's parts, S3's default first (S3 user
# guide, "Checking object integrity": CRC64NVME is full-object only, the SHAs composite only).
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"
CHECKSUM_TYPES = {"CRC32": (COMPOSITE, FULL_OBJECT), "CRC32C": (COMPOSITE, FULL_OBJECT), "CRC64NVME": (FULL_OBJECT,),
                  "SHA1": (COMPOSITE,), "SHA256": (COMPOSITE,)}


def multipart_etag(part_etags: list[str]) -> str:
    """The ETag of a multipart object: the MD5 of the parts' binary MD5s, then ``-`` and the part count."""
    digests = b"".join(bytes.fromhex(part.strip('"')) for part in part_etags)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(part_etags)}"'


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
