"""The one place where Data Exchange jobs touch Amazon S3 objects, through jobyard's object layer.

Imports read each source object into a payload file (assets keep their bytes in the byte store, as
signed-URL imports do); exports write an asset's payload file out as an object. Both are all or
nothing as far as the job can see: every source is looked at (or every destination bucket and key
checked) before the first byte is copied, so a job that ends in ``ERROR`` has created no assets and
written no objects. A failure in the middle of the copy (an object deleted meanwhile on an external
``--s3-endpoint`` server) raises too; the job runs in a savepoint (``jobs.run``), so the payload files
and built-in objects written up to then are undone with it. Only objects an export already wrote to
an external server stay.

S3's errors become Data Exchange job error codes (``job_error_code``); which resource an error names
is the job's business (``jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...objects import ObjectError, ObjectStore
from ...objects.api import ARCHIVE_CLASSES
from ...store import TxFiles

RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND_EXCEPTION"
ACCESS_DENIED = "ACCESS_DENIED_EXCEPTION"
VALIDATION = "VALIDATION_EXCEPTION"
INTERNAL = "INTERNAL_SERVER_EXCEPTION"

_JOB_CODES = {"NoSuchKey": RESOURCE_NOT_FOUND, "NoSuchBucket": RESOURCE_NOT_FOUND, "NoSuchVersion": RESOURCE_NOT_FOUND,
              "AccessDenied": ACCESS_DENIED, "AllAccessDisabled": ACCESS_DENIED}
MAX_KEY_BYTES = 1024   # S3's limit on an object key, in UTF-8 bytes


def job_error_code(error: ObjectError) -> str:
    """The job error code for an S3 error. Codes AWS does not document a mapping for (an archived object,
    a key S3 refuses) are the caller's input problems, so VALIDATION_EXCEPTION: the API reference (JobError)
    lists the codes but maps no S3 error to them."""
    code = _JOB_CODES.get(error.code)
    if code is not None:
        return code
    return INTERNAL if error.status >= 500 else VALIDATION


@dataclass
class S3Copy:
    """One object to move. Imports fill in ``file_key``/``size``; exports name the asset and its ``file_key``."""

    bucket: str
    key: str
    file_key: str | None = None
    size: int | None = None
    asset_id: str | None = None


@dataclass
class Failure:
    """Why one object (``copy``), or a whole destination bucket (``copy`` None), could not be copied."""

    bucket: str
    code: str            # the job error code
    message: str
    copy: S3Copy | None = None


class TransferFailed(Exception):
    def __init__(self, failures: list[Failure]):
        super().__init__(failures[0].message)
        self.failures = failures


def _object_failure(copy: S3Copy, verb: str, error: ObjectError) -> Failure:
    return Failure(copy.bucket, job_error_code(error),
                   f"Could not {verb} s3://{copy.bucket}/{copy.key}: {error.message} ({error.code})", copy)


def import_objects(store: ObjectStore, files: TxFiles, copies: list[S3Copy],
                   file_key: Callable[[int], str]) -> list[S3Copy]:
    """Copy each source object into the payload file ``file_key(index)``, filling in ``file_key``/``size``.

    Every source is checked first, and every unreadable one is reported. A read that fails part way
    raises too, after some files were written: the caller's savepoint takes them back. Raises
    ``TransferFailed``."""
    failures = []
    for copy in copies:
        try:
            info = store.head(copy.bucket, copy.key)
        except ObjectError as error:
            failures.append(_object_failure(copy, "read", error))
            continue
        if info.storage_class in ARCHIVE_CLASSES and not (info.restore and not info.restore.ongoing):
            failures.append(Failure(copy.bucket, VALIDATION,
                                    f"Could not read s3://{copy.bucket}/{copy.key}: the object is in the "
                                    f"{info.storage_class} storage class and has not been restored.", copy))
    if failures:
        raise TransferFailed(failures)
    for index, copy in enumerate(copies):
        try:
            data = store.read(copy.bucket, copy.key)
        except ObjectError as error:
            raise TransferFailed([_object_failure(copy, "read", error)]) from None
        copy.file_key, copy.size = file_key(index), len(data)
        files.put(copy.file_key, data)
    return copies


def export_objects(store: ObjectStore, files: TxFiles, copies: list[S3Copy]) -> None:
    """Write each asset's payload as the object ``bucket``/``key`` (replacing what is there, as AWS does).

    Every destination bucket and key is checked before anything is written. Raises ``TransferFailed``."""
    failures = []
    for bucket in dict.fromkeys(copy.bucket for copy in copies):
        try:
            store.head_bucket(bucket)
        except ObjectError as error:
            failures.append(Failure(bucket, job_error_code(error),
                                    f"The destination bucket {bucket} cannot be written: {error.message} "
                                    f"({error.code})"))
    for copy in copies:
        if not copy.file_key or not files.exists(copy.file_key):
            failures.append(Failure(copy.bucket, INTERNAL, f"The bytes of asset {copy.asset_id} are not available.",
                                    copy))
            continue
        size = len(copy.key.encode("utf-8"))
        if not 0 < size <= MAX_KEY_BYTES:
            failures.append(Failure(copy.bucket, VALIDATION,
                                    f"The object key {copy.key!r} is {size} bytes long; Amazon S3 keys have 1 to "
                                    f"{MAX_KEY_BYTES} bytes.", copy))
    if failures:
        raise TransferFailed(failures)
    for copy in copies:
        try:
            store.put(copy.bucket, copy.key, files.get(copy.file_key))
        except ObjectError as error:
            raise TransferFailed([_object_failure(copy, "write", error)]) from None
