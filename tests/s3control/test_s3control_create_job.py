"""CreateJob: every operation type the model has is accepted, and what S3 refuses is a BadRequestException."""

import copy
from datetime import datetime, timezone

import pytest

from s3control_helpers import MANIFEST, REPORT, ROLE, TAGGING, create_job, describe, expect_error

LATER = datetime(2030, 6, 1, tzinfo=timezone.utc)
GENERATOR = {"S3JobManifestGenerator": {
    "SourceBucket": "arn:aws:s3:::source-bucket", "EnableManifestOutput": True,
    "ManifestOutputLocation": {"Bucket": "arn:aws:s3:::manifest-out", "ManifestPrefix": "generated",
                               "ManifestFormat": "S3InventoryReport_CSV_20211130",
                               "ManifestEncryption": {"SSES3": {}}},
    "Filter": {"CreatedAfter": datetime(2024, 1, 1, tzinfo=timezone.utc), "EligibleForReplication": True,
               "KeyNameConstraint": {"MatchAnyPrefix": ["logs/"]}, "MatchAnyStorageClass": ["STANDARD"],
               "ObjectSizeGreaterThanBytes": 10, "ObjectSizeLessThanBytes": 10_000}}}

OPERATIONS = {
    "LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                     "InvocationSchemaVersion": "2.0", "UserArguments": {"mode": "fast"}},
    "S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::destination", "TargetKeyPrefix": "copied",
                        "StorageClass": "STANDARD_IA", "MetadataDirective": "COPY",
                        "NewObjectTagging": [{"Key": "copied", "Value": "yes"}],
                        "ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER,
                        "ChecksumAlgorithm": "CRC32"},
    "S3PutObjectAcl": {"AccessControlPolicy": {"CannedAccessControlList": "bucket-owner-full-control"}},
    "S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]},
    "S3DeleteObjectTagging": {},
    "S3InitiateRestoreObject": {"ExpirationInDays": 5, "GlacierJobTier": "BULK"},
    "S3PutObjectLegalHold": {"LegalHold": {"Status": "ON"}},
    "S3PutObjectRetention": {"Retention": {"Mode": "COMPLIANCE", "RetainUntilDate": LATER}},
    "S3ReplicateObject": {},
    "S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"},
    "S3UpdateObjectEncryption": {"ObjectEncryption": {"SSEKMS": {
        "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "BucketKeyEnabled": True}}},
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_type_is_accepted(s3c, account, name):
    job_id = create_job(s3c, account, operation={name: OPERATIONS[name]})
    job = describe(s3c, account, job_id)
    assert job["Operation"] == {name: OPERATIONS[name]}
    assert s3c.list_jobs(AccountId=account)["Jobs"][0]["Operation"] == name


def test_manifest_generator_job(server, s3c, account):
    job_id = create_job(s3c, account, Manifest=None, ManifestGenerator=GENERATOR, operation={"S3ReplicateObject": {}})
    job = describe(s3c, account, job_id)
    assert job["ManifestGenerator"] == GENERATOR and "Manifest" not in job
    assert "GeneratedManifestDescriptor" not in job
    server.advance(10 * 60)
    descriptor = describe(s3c, account, job_id)["GeneratedManifestDescriptor"]
    assert descriptor["Format"] == "S3InventoryReport_CSV_20211130"
    assert descriptor["Location"]["ObjectArn"] == f"arn:aws:s3:::manifest-out/generated/job-{job_id}/manifest.json"
    assert descriptor["Location"]["ETag"]


def test_inventory_manifest_and_disabled_report(s3c, account):
    manifest = {"Spec": {"Format": "S3InventoryReport_CSV_20161130"},
                "Location": {"ObjectArn": "arn:aws:s3:::inventory/config/2024-01-01T00-00Z/manifest.json",
                             "ObjectVersionId": "v1", "ETag": "abc"}}
    job_id = create_job(s3c, account, Manifest=manifest, Report={"Enabled": False})
    job = describe(s3c, account, job_id)
    assert job["Manifest"] == manifest and job["Report"] == {"Enabled": False}


def test_tags_given_at_creation(s3c, account):
    tags = [{"Key": "Department", "Value": "Finance"}, {"Key": "ключ", "Value": "значение 1"}]
    job_id = create_job(s3c, account, Tags=tags)
    assert s3c.get_job_tagging(AccountId=account, JobId=job_id)["Tags"] == tags


def _with(path: str, value):
    """CreateJob parameters with one member (dotted path into the defaults) replaced; None removes it."""
    params = copy.deepcopy(dict(Operation=TAGGING, Manifest=MANIFEST, Report=REPORT, Priority=10, RoleArn=ROLE,
                                ConfirmationRequired=False))
    *parents, last = path.split(".")
    target = params
    for part in parents:
        target = target[part]
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return params


def _lambda(**spec):
    return {"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", **spec}}


REFUSED = {
    "two operations": _with("Operation", {**TAGGING, "S3DeleteObjectTagging": {}}),
    "no operation": _with("Operation", {}),
    "manifest and generator": _with("ManifestGenerator", GENERATOR),
    "neither manifest nor generator": _with("Manifest", None),
    "CSV manifest without fields": _with("Manifest.Spec.Fields", None),
    "fields without Key": _with("Manifest.Spec.Fields", ["Bucket", "VersionId"]),
    "field named twice": _with("Manifest.Spec.Fields", ["Bucket", "Key", "Key"]),
    "manifest ARN of a bucket": _with("Manifest.Location.ObjectArn", "arn:aws:s3:::my-manifests"),
    "report without bucket": _with("Report.Bucket", None),
    "report without format": _with("Report.Format", None),
    "report bucket ARN with a key": _with("Report.Bucket", "arn:aws:s3:::reports/some/key"),
    "lambda without function": _with("Operation", {"LambdaInvoke": {"InvocationSchemaVersion": "1.0"}}),
    "lambda arguments on schema 1.0": _with("Operation", _lambda(UserArguments={"a": "b"})),
    "lambda schema 3.0": _with("Operation", _lambda(InvocationSchemaVersion="3.0")),
    "copy without target": _with("Operation", {"S3PutObjectCopy": {"StorageClass": "GLACIER"}}),
    "copy target not a bucket": _with("Operation", {"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::b/key"}}),
    "copy lock mode without date": _with("Operation", {"S3PutObjectCopy": {
        "TargetResource": "arn:aws:s3:::b", "ObjectLockMode": "COMPLIANCE"}}),
    "acl with list and canned": _with("Operation", {"S3PutObjectAcl": {"AccessControlPolicy": {
        "AccessControlList": {"Owner": {"ID": "owner"}}, "CannedAccessControlList": "private"}}}),
    "acl without policy": _with("Operation", {"S3PutObjectAcl": {}}),
    "tagging without tag set": _with("Operation", {"S3PutObjectTagging": {}}),
    "eleven object tags": _with("Operation", {"S3PutObjectTagging": {
        "TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}}),
    "retention mode without date": _with("Operation", {"S3PutObjectRetention": {"Retention": {"Mode": "GOVERNANCE"}}}),
    "restore for zero days": _with("Operation", {"S3InitiateRestoreObject": {"ExpirationInDays": 0}}),
    "checksum without algorithm": _with("Operation", {"S3ComputeObjectChecksum": {"ChecksumType": "COMPOSITE"}}),
    "CRC64NVME composite checksum": _with("Operation", {"S3ComputeObjectChecksum": {
        "ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"}}),
    "encryption without SSE-KMS": _with("Operation", {"S3UpdateObjectEncryption": {"ObjectEncryption": {}}}),
    "generator output without location": _with("Manifest", None) | {"ManifestGenerator": {"S3JobManifestGenerator": {
        "SourceBucket": "arn:aws:s3:::src", "EnableManifestOutput": True}}},
    "generator source not a bucket": _with("Manifest", None) | {"ManifestGenerator": {"S3JobManifestGenerator": {
        "SourceBucket": "arn:aws:s3:::src/key", "EnableManifestOutput": False}}},
    "51 job tags": _with("Tags", [{"Key": f"k{i}", "Value": "v"} for i in range(51)]),
    "duplicate tag keys": _with("Tags", [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]),
    "tag with a forbidden character": _with("Tags", [{"Key": "semi;colon", "Value": "v"}]),
    # The model's own constraints, which botocore does not check (it checks only required members and minima).
    "description too long": _with("Description", "x" * 257),
    "role ARN of a user": _with("RoleArn", "arn:aws:iam::123456789012:user/someone"),
    "negative priority": _with("Priority", -1),
    "unknown manifest format": _with("Manifest.Spec.Format", "JSON"),
    "report scope": _with("Report.ReportScope", "SomeTasks"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_input_is_a_bad_request(raw_s3c, account, case):
    expect_error(raw_s3c, "CreateJob", "BadRequestException", 400, AccountId=account, **REFUSED[case])
    assert raw_s3c.list_jobs(AccountId=account)["Jobs"] == []   # a refused request writes nothing


def test_missing_required_members_are_a_bad_request(raw_s3c, account):
    params = _with("RoleArn", None)
    error = expect_error(raw_s3c, "CreateJob", "BadRequestException", 400, AccountId=account, **params)
    assert "roleArn" in error.response["Error"]["Message"]


def test_values_that_do_not_parse_are_malformed_xml(raw_s3c, account):
    # 2**31 is no 32-bit integer at all: the body cannot be read, as S3 says of any unreadable body.
    expect_error(raw_s3c, "CreateJob", "MalformedXML", 400, AccountId=account, **_with("Priority", 2**31))
