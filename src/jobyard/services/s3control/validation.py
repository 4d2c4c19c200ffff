"""What CreateJob and the tagging operations check beyond the model's constraints (which the codec checks).

Each rule raises ``Invalid(message)``; the operation turns it into its error code (BadRequestException for
CreateJob, InvalidTag for the tagging operations). Rules come from the S3 Control API reference and the S3
user guide's Batch Operations pages; messages follow the plain wording S3 uses ("Invalid job manifest").
"""

from __future__ import annotations

import re
import unicodedata

MAX_JOB_TAGS = 50          # "Amazon S3 limits the maximum number of tags to 50 tags per job"
MAX_OBJECT_TAGS = 10       # an S3 object carries at most 10 tags (S3PutObjectTagging, NewObjectTagging)

LAMBDA_SCHEMA_VERSIONS = ("1.0", "2.0")

# Bucket names: 3-63 lower-case letters, digits, dots and hyphens today; older us-east-1 buckets may also
# have upper case and underscores and up to 255 characters (the user guide's own examples use such names).
_BUCKET = r"[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]"
_S3_BUCKET_ARN = re.compile(rf"arn:aws[a-z\-]*:s3:::({_BUCKET})")
_S3_OBJECT_ARN = re.compile(rf"arn:aws[a-z\-]*:s3:::({_BUCKET})/(.+)", re.DOTALL)
# Directory buckets: arn:aws:s3express:<region>:<account>:bucket/<name>--<az-id>--x-s3
_DIRECTORY_BUCKET_ARN = re.compile(
    r"arn:aws[a-z\-]*:s3express:[a-z0-9\-]+:\d{12}:bucket/[a-z0-9.\-]+--[a-z0-9\-]+--x-s3")

# Tag keys and values: Unicode letters, separators and numbers, and _ . : / = + - @  (the model's
# ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, which Python's re cannot compile).
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


class Invalid(Exception):
    """Input that the model allows but the service refuses."""


def _require(condition, message: str) -> None:
    if not condition:
        raise Invalid(message)


def tag_text_ok(text: str) -> bool:
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def check_tags(tags: list[dict], limit: int, what: str = "tags") -> None:
    _require(len(tags) <= limit, f"The number of {what} must not exceed {limit}.")
    keys = [t["Key"] for t in tags]
    _require(len(set(keys)) == len(keys), f"The {what} must not have duplicate keys.")
    for tag in tags:
        _require(tag_text_ok(tag["Key"]), f"The tag key {tag['Key']!r} contains characters that are not allowed.")
        _require(tag_text_ok(tag["Value"]),
                 f"The tag value {tag['Value']!r} contains characters that are not allowed.")


def _bucket_arn(arn: str, what: str, directory_ok: bool = False) -> None:
    ok = _S3_BUCKET_ARN.fullmatch(arn) or (directory_ok and _DIRECTORY_BUCKET_ARN.fullmatch(arn))
    _require(ok, f"{what} must be the ARN of an S3 bucket (arn:aws:s3:::bucket-name): {arn}")


# -- CreateJob ----------------------------------------------------------------------------------------

def check_create_job(params: dict) -> None:
    _check_operation(params["Operation"])
    manifest, generator = params.get("Manifest"), params.get("ManifestGenerator")
    _require(not (manifest and generator),
             "Jobs must be created with either a manifest file or a ManifestGenerator, but not both.")
    _require(manifest or generator, "Jobs must be created with either a manifest file or a ManifestGenerator.")
    if manifest:
        _check_manifest(manifest)
    else:
        _check_generator(generator)
    _check_report(params["Report"])
    check_tags(params.get("Tags") or [], MAX_JOB_TAGS, "job tags")


def _check_operation(operation: dict) -> None:
    chosen = [name for name, value in operation.items() if value is not None]
    _require(chosen, "The job must name an operation.")
    _require(len(chosen) == 1, f"A job runs exactly one operation, but {len(chosen)} were given: {', '.join(chosen)}.")
    name = chosen[0]
    rule = _OPERATION_RULES.get(name)
    if rule is not None:
        rule(operation[name])


def _lambda(spec: dict) -> None:
    _require(spec.get("FunctionArn"), "LambdaInvoke needs the FunctionArn of the function to invoke.")
    version = spec.get("InvocationSchemaVersion", "1.0")
    _require(version in LAMBDA_SCHEMA_VERSIONS,
             f"InvocationSchemaVersion must be 1.0 or 2.0, not {version}.")
    _require(not spec.get("UserArguments") or version == "2.0",
             "UserArguments need InvocationSchemaVersion 2.0.")


def _copy(spec: dict) -> None:
    _require(spec.get("TargetResource"), "S3PutObjectCopy needs the TargetResource bucket to copy into.")
    _bucket_arn(spec["TargetResource"], "TargetResource", directory_ok=True)
    _require(("ObjectLockMode" in spec) == ("ObjectLockRetainUntilDate" in spec),
             "ObjectLockMode and ObjectLockRetainUntilDate must be given together.")
    _require(not (spec.get("CannedAccessControlList") and spec.get("AccessControlGrants")),
             "Give either CannedAccessControlList or AccessControlGrants, not both.")
    check_tags(spec.get("NewObjectTagging") or [], MAX_OBJECT_TAGS, "object tags")
    _require(not spec.get("SSEAwsKmsKeyId") or (spec.get("NewObjectMetadata") or {}).get("SSEAlgorithm") == "KMS",
             "SSEAwsKmsKeyId needs NewObjectMetadata.SSEAlgorithm KMS.")


def _acl(spec: dict) -> None:
    policy = spec.get("AccessControlPolicy")
    _require(policy, "S3PutObjectAcl needs an AccessControlPolicy.")
    given = [k for k in ("AccessControlList", "CannedAccessControlList") if policy.get(k)]
    _require(len(given) == 1,
             "The AccessControlPolicy must give exactly one of AccessControlList and CannedAccessControlList.")


def _tagging(spec: dict) -> None:
    _require("TagSet" in spec, "S3PutObjectTagging needs a TagSet (an empty one removes the objects' tags).")
    check_tags(spec["TagSet"], MAX_OBJECT_TAGS, "object tags")


def _retention(spec: dict) -> None:
    retention = spec["Retention"]
    # Without Mode and RetainUntilDate the job removes retention; one without the other means nothing.
    _require(("Mode" in retention) == ("RetainUntilDate" in retention),
             "Retention needs both Mode and RetainUntilDate, or neither (to remove retention).")


def _restore(spec: dict) -> None:
    days = spec.get("ExpirationInDays")
    _require(days is None or days >= 1,
             "ExpirationInDays must be 1 or greater (omit it for S3 Intelligent-Tiering archive tiers).")


def _checksum(spec: dict) -> None:
    _require(spec.get("ChecksumAlgorithm"), "S3ComputeObjectChecksum needs a ChecksumAlgorithm.")
    _require(spec.get("ChecksumType"), "S3ComputeObjectChecksum needs a ChecksumType (FULL_OBJECT or COMPOSITE).")
    # "CRC-64/NVME (CRC64NVME): Supports the full object checksum type only" (S3 user guide).
    _require(spec["ChecksumAlgorithm"] != "CRC64NVME" or spec["ChecksumType"] == "FULL_OBJECT",
             "CRC64NVME supports only the FULL_OBJECT checksum type.")


def _encryption(spec: dict) -> None:
    _require((spec.get("ObjectEncryption") or {}).get("SSEKMS"),
             "S3UpdateObjectEncryption needs ObjectEncryption.SSEKMS: SSE-KMS is the type it changes objects to.")


_OPERATION_RULES = {
    "LambdaInvoke": _lambda, "S3PutObjectCopy": _copy, "S3PutObjectAcl": _acl, "S3PutObjectTagging": _tagging,
    "S3PutObjectRetention": _retention, "S3InitiateRestoreObject": _restore,
    "S3ComputeObjectChecksum": _checksum, "S3UpdateObjectEncryption": _encryption,
}


def _check_manifest(manifest: dict) -> None:
    spec, location = manifest["Spec"], manifest["Location"]
    match = _S3_OBJECT_ARN.fullmatch(location["ObjectArn"])
    _require(match, f"Invalid job manifest: ObjectArn must be the ARN of an S3 object "
                    f"(arn:aws:s3:::bucket-name/key): {location['ObjectArn']}")
    if spec["Format"] == "S3BatchOperations_CSV_20180820":
        fields = spec.get("Fields") or []
        _require(fields, "Invalid job manifest: a CSV manifest needs Fields naming its columns.")
        named = [f for f in fields if f != "Ignore"]
        _require(len(set(named)) == len(named), "Invalid job manifest: Fields names a column twice.")
        _require("Bucket" in named and "Key" in named,
                 "Invalid job manifest: Fields must include Bucket and Key.")


def _check_generator(generator: dict) -> None:
    s3 = generator.get("S3JobManifestGenerator")
    _require(s3, "The ManifestGenerator needs an S3JobManifestGenerator.")
    _bucket_arn(s3["SourceBucket"], "SourceBucket")
    output = s3.get("ManifestOutputLocation")
    _require(not s3["EnableManifestOutput"] or output,
             "EnableManifestOutput needs a ManifestOutputLocation to write the manifest to.")
    if output:
        _bucket_arn(output["Bucket"], "ManifestOutputLocation.Bucket")
        encryption = output.get("ManifestEncryption") or {}
        _require(len([k for k in ("SSES3", "SSEKMS") if k in encryption]) <= 1,
                 "ManifestEncryption takes SSES3 or SSEKMS, not both.")
    criteria = s3.get("Filter") or {}
    after, before = criteria.get("CreatedAfter"), criteria.get("CreatedBefore")
    _require(after is None or before is None or after < before, "CreatedAfter must be earlier than CreatedBefore.")
    larger, smaller = criteria.get("ObjectSizeGreaterThanBytes"), criteria.get("ObjectSizeLessThanBytes")
    _require(larger is None or larger >= 0, "ObjectSizeGreaterThanBytes must not be negative.")
    _require(smaller is None or smaller > 0, "ObjectSizeLessThanBytes must be positive.")
    _require(larger is None or smaller is None or larger < smaller,
             "ObjectSizeGreaterThanBytes must be less than ObjectSizeLessThanBytes.")


def _check_report(report: dict) -> None:
    if not report["Enabled"]:
        return
    _require(report.get("Bucket"), "An enabled completion report needs the Bucket to write it to.")
    _require(report.get("Format"), "An enabled completion report needs a Format (Report_CSV_20180820).")
    _bucket_arn(report["Bucket"], "The report Bucket")
