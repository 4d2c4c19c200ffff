"""What a task does to its object: the job's operation, applied through the object layer.

``run_task`` applies the operation to one manifest row and says how it went, as the completion report
records it: succeeded or failed, the HTTP status, the error code and a result message. An S3 error from the
object layer fails the task with S3's own code and status (a missing key: ``NoSuchKey``, 404), worded as the
AWS SDK words it inside a report ("Not Found (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey)").

Operations jobyard's objects cannot carry out fail their tasks with a reason that says so: LambdaInvoke (no
Lambda handler is configured) and S3UpdateObjectEncryption (objects here are always SSE-S3). Those that touch
what jobyard's objects do not keep ignore it: S3PutObjectCopy's RedirectLocation, RequesterPays, SSE-KMS
key and Bucket Key settings.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Callable

from ...objects import ObjectError, ObjectStore, Retention
from ...objects.checksums import compute
from .stored import microseconds
from .tasks import LAMBDA_UNAVAILABLE, Task, operation_name

SUCCESSFUL = "Successful"   # the ResultMessage of a task that succeeded

# S3Grantee.TypeIdentifier -> the object layer's grantee type and the member that names the grantee
_GRANTEE_TYPES = {"id": ("CanonicalUser", "ID"), "emailAddress": ("AmazonCustomerByEmail", "EmailAddress"),
                  "uri": ("Group", "URI")}
_RESTORE_TIERS = {"STANDARD": "Standard", "BULK": "Bulk"}


@dataclass(frozen=True)
class TaskResult:
    succeeded: bool
    http_status: int
    error_code: str = ""
    message: str = SUCCESSFUL


class TaskFailed(Exception):
    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(message)
        self.result = TaskResult(False, http_status, code, message)


def s3_error_message(error: ObjectError) -> str:
    return f"{error.message} (Service: Amazon S3; Status Code: {error.status}; Error Code: {error.code})"


def run_task(operation: dict, task: Task, objects: ObjectStore) -> TaskResult:
    name = operation_name(operation)
    spec = operation[name] or {}
    bucket, key, version_id = task
    try:
        if version_id == "":
            # An empty VersionId field (an "all versions" inventory's null versions): S3 fails these tasks;
            # the user guide's remedy is to write the string "null" instead.
            raise TaskFailed(400, "InvalidArgument", "Invalid version id specified: the manifest's VersionId is "
                                                     "empty (write null for an object's null version)")
        message = _OPERATIONS[name](spec, bucket, key, version_id, objects)
    except ObjectError as error:
        return TaskResult(False, error.status, error.code, s3_error_message(error))
    except TaskFailed as failed:
        return failed.result
    return TaskResult(True, 200, "", message or SUCCESSFUL)


# -- the operations ---------------------------------------------------------------------------------------
# Each takes (operation parameters, bucket, key, version id, objects) and returns a result message or None.

def _put_tagging(spec, bucket, key, version_id, objects: ObjectStore):
    objects.put_tags(bucket, key, {t["Key"]: t["Value"] for t in spec.get("TagSet") or []}, version_id=version_id)


def _delete_tagging(spec, bucket, key, version_id, objects: ObjectStore):
    objects.delete_tags(bucket, key, version_id=version_id)


def _grants(s3_grants: list[dict]) -> list[dict]:
    """S3 Control's grants ({Grantee: {TypeIdentifier, Identifier}, Permission}) in the object layer's form."""
    grants = []
    for grant in s3_grants:
        grantee = grant.get("Grantee") or {}
        kind, member = _GRANTEE_TYPES.get(grantee.get("TypeIdentifier"), (None, "ID"))
        grants.append({"Grantee": {"Type": kind, member: grantee.get("Identifier")},
                       "Permission": grant.get("Permission")})
    return grants


def _put_acl(spec, bucket, key, version_id, objects: ObjectStore):
    policy = spec["AccessControlPolicy"]
    canned = policy.get("CannedAccessControlList")
    if canned:
        objects.set_acl(bucket, key, acl=canned, version_id=version_id)
    else:
        grants = (policy.get("AccessControlList") or {}).get("Grants") or []
        objects.set_acl(bucket, key, grants=_grants(grants), version_id=version_id)


def _restore(spec, bucket, key, version_id, objects: ObjectStore):
    tier = _RESTORE_TIERS[spec.get("GlacierJobTier") or "STANDARD"]
    objects.restore(bucket, key, days=spec.get("ExpirationInDays"), tier=tier, version_id=version_id)


def _legal_hold(spec, bucket, key, version_id, objects: ObjectStore):
    objects.set_legal_hold(bucket, key, spec["LegalHold"]["Status"], version_id=version_id)


def _retention(spec, bucket, key, version_id, objects: ObjectStore):
    given = spec.get("Retention") or {}
    # Without Mode and RetainUntilDate the operation removes the object's retention.
    retention = Retention(given["Mode"], microseconds(given["RetainUntilDate"])) if given.get("Mode") else None
    objects.set_retention(bucket, key, retention, version_id=version_id,
                          bypass_governance=bool(spec.get("BypassGovernanceRetention")))


def _target(spec: dict) -> str:
    """The bucket of TargetResource: arn:aws:s3:::name, or a directory bucket's arn:aws:s3express:...:bucket/name."""
    arn = spec["TargetResource"]
    return arn.rsplit(":::", 1)[1] if ":::" in arn else arn.rsplit("bucket/", 1)[-1]


def _target_key(spec: dict, key: str) -> str:
    """TargetKeyPrefix is a folder ("set it to Folder1 to copy into Folder1"): the copy's key is
    ``<prefix>/<source key>``, without doubling a slash the prefix already ends with."""
    prefix = spec.get("TargetKeyPrefix") or ""
    return f"{prefix}{key}" if not prefix or prefix.endswith("/") else f"{prefix}/{key}"


def _copy(spec, bucket, key, version_id, objects: ObjectStore):
    source = objects.head(bucket, key, version_id=version_id)
    since = microseconds(spec.get("ModifiedSinceConstraint"))
    until = microseconds(spec.get("UnModifiedSinceConstraint"))
    if since is not None and source.last_modified_us <= since:
        raise TaskFailed(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold "
                                                    "(ModifiedSinceConstraint)")
    if until is not None and source.last_modified_us > until:
        raise TaskFailed(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold "
                                                    "(UnModifiedSinceConstraint)")
    new = spec.get("NewObjectMetadata")
    directive = spec.get("MetadataDirective") or ("REPLACE" if new is not None else "COPY")
    headers = {}
    if directive == "REPLACE":
        new = new or {}
        headers = dict(metadata={k.lower(): v for k, v in (new.get("UserMetadata") or {}).items()},
                       content_type=new.get("ContentType"), cache_control=new.get("CacheControl"),
                       content_disposition=new.get("ContentDisposition"),
                       content_encoding=new.get("ContentEncoding"), content_language=new.get("ContentLanguage"),
                       expires_us=microseconds(new.get("HttpExpiresDate")))
    tagging = spec.get("NewObjectTagging")
    retention = None
    if spec.get("ObjectLockMode"):
        retention = Retention(spec["ObjectLockMode"], microseconds(spec["ObjectLockRetainUntilDate"]))
    grants = spec.get("AccessControlGrants")
    objects.copy(bucket, key, _target(spec), _target_key(spec, key), source_version_id=version_id,
                 tags={t["Key"]: t["Value"] for t in tagging} if tagging is not None else None,
                 storage_class=spec.get("StorageClass"), acl=spec.get("CannedAccessControlList"),
                 grants=_grants(grants) if grants else None, legal_hold=spec.get("ObjectLockLegalHoldStatus"),
                 retention=retention, checksum_algorithm=spec.get("ChecksumAlgorithm"), **headers)


def _digest(algorithm: str, data: bytes) -> bytes | None:
    if algorithm == "MD5":
        return hashlib.md5(data).digest()
    if algorithm == "SHA512":
        return hashlib.sha512(data).digest()
    value = compute(algorithm, data)
    return base64.b64decode(value) if value is not None else None


def _compute_checksum(spec, bucket, key, version_id, objects: ObjectStore):
    """The requested checksum of the object's bytes, reported as JSON in the task's ResultMessage. The user
    guide says only that the report holds each object's checksum ("Compute checksums"); the keys are those
    AWS's own sample reads back (aws-samples/sample-s3-batch-checksum-validation: ``checksum_hex``,
    ``checksum_base64``, ``checksumAlgorithm``), the others jobyard's. jobyard keeps no
    part boundaries, so a COMPOSITE checksum is that of a single-part object: the checksum of the part's
    checksum, with ``-1``."""
    algorithm, kind = spec["ChecksumAlgorithm"], spec["ChecksumType"]
    info = objects.head(bucket, key, version_id=version_id)
    try:
        digest = _digest(algorithm, objects.read(bucket, key, version_id=version_id))
    except ObjectError:
        # Archived bytes cannot be read without a restore; a checksum stored with the object still serves.
        stored = info.checksums.get(algorithm)
        if kind != "FULL_OBJECT" or not stored:
            raise
        digest = base64.b64decode(stored)
    if digest is None:
        raise TaskFailed(501, "NotImplemented", f"jobyard cannot compute {algorithm} checksums here (CRC32C and "
                                                "CRC64NVME need the awscrt package; XXHASH ones are not supported)")
    suffix = ""
    if kind == "COMPOSITE":
        digest, suffix = _digest(algorithm, digest), "-1"
    value = base64.b64encode(digest).decode() + suffix
    return json.dumps({"checksum_base64": value, "checksum_hex": digest.hex() + suffix,
                       "checksumAlgorithm": algorithm, "checksumType": kind, "etag": info.etag.strip('"')},
                      separators=(",", ":"))


def _lambda(spec, bucket, key, version_id, objects: ObjectStore):
    raise TaskFailed(404, "PermanentFailure", f"Lambda function {spec.get('FunctionArn', '')} could not be invoked: "
                                              f"{LAMBDA_UNAVAILABLE}")


def _replicate(spec, bucket, key, version_id, objects: ObjectStore):
    # Jobs of this operation fail while Preparing (no bucket here has a replication configuration); a task
    # never runs, but would fail the same way.
    raise TaskFailed(400, "ReplicationConfigurationNotFoundError",
                     f"The bucket {bucket} has no replication configuration (jobyard does not replicate objects)")


def _update_encryption(spec, bucket, key, version_id, objects: ObjectStore):
    raise TaskFailed(501, "NotImplemented", "jobyard keeps every object encrypted with SSE-S3 and cannot change it "
                                            "to SSE-KMS")


_OPERATIONS: dict[str, Callable] = {
    "S3PutObjectTagging": _put_tagging, "S3DeleteObjectTagging": _delete_tagging, "S3PutObjectAcl": _put_acl,
    "S3InitiateRestoreObject": _restore, "S3PutObjectLegalHold": _legal_hold, "S3PutObjectRetention": _retention,
    "S3PutObjectCopy": _copy, "S3ComputeObjectChecksum": _compute_checksum, "LambdaInvoke": _lambda,
    "S3ReplicateObject": _replicate, "S3UpdateObjectEncryption": _update_encryption,
}
