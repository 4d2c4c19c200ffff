"""Jobs whose manifest is in jobyard's S3 objects really act on those objects and write a completion report:
everything here goes through boto3 (S3 for the objects and the report, S3 Control for the job)."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import uuid
import zlib
from datetime import datetime, timedelta

import pytest

from conformance import attach
from s3control_helpers import MINUTE, advance_until, create_job, describe
from support import make_client

REPORTS = "batch-reports"
REPORT = {"Bucket": f"arn:aws:s3:::{REPORTS}", "Prefix": "runs", "Format": "Report_CSV_20180820", "Enabled": True,
          "ReportScope": "AllTasks"}
TAGS = [{"Key": "reviewed", "Value": "yes"}, {"Key": "team", "Value": "photos"}]
TAGGING = {"S3PutObjectTagging": {"TagSet": TAGS}}
SCHEMA = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"


@pytest.fixture
def s3(server, account):
    client = make_client("s3", server.url, account)
    failures = attach(client)
    client.create_bucket(Bucket=REPORTS)
    yield client
    assert not failures, "\n".join(failures)


def put(s3, bucket: str, key: str, body: bytes = b"data", **extra) -> dict:
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    return s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def manifest_of(s3, rows: list[str], fields=("Bucket", "Key"), key: str | None = None) -> dict:
    """Upload a CSV manifest and describe it as CreateJob takes it, with its real ETag."""
    key = key or f"manifests/{uuid.uuid4()}.csv"
    etag = put(s3, "manifests", key, "".join(f"{row}\n" for row in rows).encode())["ETag"]
    return {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": list(fields)},
            "Location": {"ObjectArn": f"arn:aws:s3:::manifests/{key}", "ETag": etag.strip('"')}}


def run(server, s3c, account, operation: dict, wanted: str = "Complete", **params) -> dict:
    """Create a job (no confirmation), run it until ``wanted`` and describe it."""
    params.setdefault("Report", REPORT)
    job_id = create_job(s3c, account, operation=operation, **params)
    advance_until(server, s3c, account, job_id, wanted, step=15)
    return describe(s3c, account, job_id)


def progress(job: dict) -> tuple[int, int, int]:
    summary = job["ProgressSummary"]
    return summary["TotalNumberOfTasks"], summary["NumberOfTasksSucceeded"], summary["NumberOfTasksFailed"]


def read_report(s3, job: dict, prefix: str = "runs") -> tuple[dict, dict[str, list[list[str]]]]:
    """The report's manifest.json and its results rows by TaskExecutionStatus, checked against each other."""
    folder = f"{prefix}/job-{job['JobId']}" if prefix else f"job-{job['JobId']}"
    manifest = json.loads(s3.get_object(Bucket=REPORTS, Key=f"{folder}/manifest.json")["Body"].read())
    assert manifest["Format"] == "Report_CSV_20180820" and manifest["ReportSchema"] == SCHEMA
    assert datetime.strptime(manifest["ReportCreationDate"], "%Y-%m-%dT%H:%M:%S.%fZ")
    rows = {}
    for result in manifest["Results"]:
        assert result["Bucket"] == REPORTS and result["Key"].startswith(f"{folder}/results/")
        assert result["Key"].endswith(".csv") and len(result["Key"].rsplit("/", 1)[1]) == 44   # 40 hex digits
        body = s3.get_object(Bucket=REPORTS, Key=result["Key"])["Body"].read()
        assert hashlib.md5(body).hexdigest() == result["MD5Checksum"]
        rows[result["TaskExecutionStatus"]] = list(csv.reader(io.StringIO(body.decode())))
    return manifest, rows


def tags_of(s3, bucket: str, key: str, **extra) -> list[dict]:
    return sorted(s3.get_object_tagging(Bucket=bucket, Key=key, **extra)["TagSet"], key=lambda t: t["Key"])


# -- tagging, end to end --------------------------------------------------------------------------------

def test_tagging_job_tags_the_objects_and_reports_every_task(server, s3c, s3, account):
    keys = ["a.jpg", "dir/b.jpg", "with space+plus.jpg"]
    for key in keys:
        put(s3, "photos", key)
    rows = ["photos,a.jpg", "photos,dir/b.jpg", "photos,with%20space%2Bplus.jpg", "photos,missing.jpg"]
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, rows))
    assert job["Status"] == "Complete" and job["FailureReasons"] == []
    assert progress(job) == (4, 3, 1)
    for key in keys:
        assert tags_of(s3, "photos", key) == TAGS
    manifest, report = read_report(s3, job)
    assert [r["TaskExecutionStatus"] for r in manifest["Results"]] == ["succeeded", "failed"]
    assert report["succeeded"] == [["photos", "a.jpg", "", "succeeded", "200", "", "Successful"],
                                   ["photos", "dir/b.jpg", "", "succeeded", "200", "", "Successful"],
                                   ["photos", "with+space%2Bplus.jpg", "", "succeeded", "200", "", "Successful"]]
    [failed] = report["failed"]
    assert failed[:6] == ["photos", "missing.jpg", "", "failed", "404", "NoSuchKey"]
    assert "Error Code: NoSuchKey" in failed[6]


def test_tasks_run_in_steps_at_the_job_task_rate(server, s3c, s3, account):
    # 600 tasks on keys that do not exist: each fails at once (below the 1,000-task threshold, the job completes).
    put(s3, "sparse", "present")
    job_id = create_job(s3c, account, Report=REPORT,
                        Manifest=manifest_of(s3, [f"sparse,nothing-{n}" for n in range(600)]))
    advance_until(server, s3c, account, job_id, "Active", step=5)
    readings = []
    while (job := describe(s3c, account, job_id))["Status"] == "Active":
        readings.append(progress(job)[2])
        server.advance(5)
    assert readings == sorted(readings) and readings[-1] < 600
    assert any(0 < failed < 600 for failed in readings)          # work is spread over the Active time
    advance_until(server, s3c, account, job_id, "Complete", step=15)
    job = describe(s3c, account, job_id)
    assert progress(job) == (600, 0, 600)
    _, report = read_report(s3, job)
    assert [row[1] for row in report["failed"]] == [f"nothing-{n}" for n in range(600)]


def test_failed_tasks_only_report(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, ["photos,a.jpg", "photos,gone.jpg"]),
              Report=REPORT | {"ReportScope": "FailedTasksOnly"})
    assert progress(job) == (2, 1, 1)
    manifest, report = read_report(s3, job)
    assert [r["TaskExecutionStatus"] for r in manifest["Results"]] == ["failed"]
    assert [row[:6] for row in report["failed"]] == [["photos", "gone.jpg", "", "failed", "404", "NoSuchKey"]]


def test_report_without_prefix(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    report = {k: v for k, v in REPORT.items() if k != "Prefix"}
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, ["photos,a.jpg"]), Report=report)
    _, rows = read_report(s3, job, prefix="")
    assert rows["succeeded"][0][:4] == ["photos", "a.jpg", "", "succeeded"]


def test_disabled_report_writes_nothing(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, ["photos,a.jpg"]), Report={"Enabled": False})
    assert progress(job) == (1, 1, 0) and tags_of(s3, "photos", "a.jpg") == TAGS
    assert s3.list_objects_v2(Bucket=REPORTS)["KeyCount"] == 0


def test_missing_report_bucket_fails_the_job_before_any_task(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    job_id = create_job(s3c, account, Manifest=manifest_of(s3, ["photos,a.jpg"]),
                        Report=REPORT | {"Bucket": "arn:aws:s3:::no-such-reports"})
    assert advance_until(server, s3c, account, job_id, "Failed", step=4) == ["New", "Preparing", "Failing", "Failed"]
    [failure] = describe(s3c, account, job_id)["FailureReasons"]
    assert failure["FailureCode"] == "ReportNoSuchBucket" and "no-such-reports" in failure["FailureReason"]
    assert tags_of(s3, "photos", "a.jpg") == []


def test_report_bucket_gone_by_the_end_fails_the_job(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    job_id = create_job(s3c, account, operation=TAGGING, Report=REPORT, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    advance_until(server, s3c, account, job_id, "Active", step=5)
    s3.delete_bucket(Bucket=REPORTS)
    advance_until(server, s3c, account, job_id, "Failed", step=15)
    job = describe(s3c, account, job_id)
    assert progress(job) == (1, 1, 0) and tags_of(s3, "photos", "a.jpg") == TAGS   # the tasks did run
    [failure] = job["FailureReasons"]
    assert failure["FailureCode"] == "ReportNoSuchBucket" and REPORTS in failure["FailureReason"]


def test_empty_manifest_completes_without_a_report(server, s3c, s3, account):
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, []))
    assert progress(job) == (0, 0, 0)
    assert s3.list_objects_v2(Bucket=REPORTS)["KeyCount"] == 0    # no task ran: no report


def test_versioned_manifest_acts_on_the_named_version(server, s3c, s3, account):
    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket="versions", Key="doc", Body=b"v1")["VersionId"]
    new = s3.put_object(Bucket="versions", Key="doc", Body=b"v2")["VersionId"]
    job = run(server, s3c, account, TAGGING, Manifest=manifest_of(s3, [f"versions,doc,{old}", "versions,doc,"],
                                                                  fields=("Bucket", "Key", "VersionId")))
    assert progress(job) == (2, 1, 1)
    assert tags_of(s3, "versions", "doc", VersionId=old) == TAGS
    assert tags_of(s3, "versions", "doc", VersionId=new) == []
    _, report = read_report(s3, job)
    assert report["succeeded"][0][:4] == ["versions", "doc", old, "succeeded"]
    assert report["failed"][0][:6] == ["versions", "doc", "", "failed", "400", "InvalidArgument"]


def test_inventory_manifest_keys_are_url_decoded(server, s3c, s3, account):
    put(s3, "photos", "a b.jpg")
    data = gzip.compress(b'"photos","a+b.jpg","ignored"\n')
    put(s3, "inventory", "data/1.csv.gz", data)
    document = {"sourceBucket": "photos", "destinationBucket": "arn:aws:s3:::inventory", "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size", "files": [{"key": "data/1.csv.gz"}]}
    etag = put(s3, "inventory", "manifest.json", json.dumps(document).encode())["ETag"]
    manifest = {"Spec": {"Format": "S3InventoryReport_CSV_20161130"},
                "Location": {"ObjectArn": "arn:aws:s3:::inventory/manifest.json", "ETag": etag}}
    job = run(server, s3c, account, TAGGING, Manifest=manifest)
    assert progress(job) == (1, 1, 0) and tags_of(s3, "photos", "a b.jpg") == TAGS


# -- the other operations -------------------------------------------------------------------------------

def test_delete_object_tagging(server, s3c, s3, account):
    put(s3, "photos", "a.jpg", Tagging="old=1&other=2")
    job = run(server, s3c, account, {"S3DeleteObjectTagging": {}}, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 1, 0) and tags_of(s3, "photos", "a.jpg") == []


def test_copy_into_another_bucket_under_a_prefix(server, s3c, s3, account):
    put(s3, "photos", "a.jpg", b"first", Metadata={"camera": "x100"}, Tagging="source=1", ContentType="image/jpeg")
    put(s3, "photos", "b.jpg", b"second")
    s3.create_bucket(Bucket="archive")
    copy = {"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::archive", "TargetKeyPrefix": "2024",
                                "StorageClass": "STANDARD_IA", "MetadataDirective": "REPLACE",
                                "NewObjectMetadata": {"UserMetadata": {"copied": "yes"}, "ContentType": "text/plain"},
                                "NewObjectTagging": [{"Key": "copy", "Value": "true"}]}}
    job = run(server, s3c, account, copy, Manifest=manifest_of(s3, ["photos,a.jpg", "photos,b.jpg", "photos,c.jpg"]))
    assert progress(job) == (3, 2, 1)
    got = s3.get_object(Bucket="archive", Key="2024/a.jpg")
    assert got["Body"].read() == b"first" and got["Metadata"] == {"copied": "yes"}
    assert got["ContentType"] == "text/plain" and got["StorageClass"] == "STANDARD_IA"
    assert tags_of(s3, "archive", "2024/a.jpg") == [{"Key": "copy", "Value": "true"}]
    assert s3.get_object(Bucket="archive", Key="2024/b.jpg")["Body"].read() == b"second"
    assert s3.get_object(Bucket="photos", Key="a.jpg")["Metadata"] == {"camera": "x100"}   # the source stays


def test_copy_keeps_metadata_and_tags_by_default(server, s3c, s3, account):
    put(s3, "photos", "a.jpg", b"first", Metadata={"camera": "x100"}, Tagging="source=1")
    s3.create_bucket(Bucket="archive")
    copy = {"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::archive", "TargetKeyPrefix": "backup/"}}
    job = run(server, s3c, account, copy, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 1, 0)
    assert s3.get_object(Bucket="archive", Key="backup/a.jpg")["Metadata"] == {"camera": "x100"}
    assert tags_of(s3, "archive", "backup/a.jpg") == [{"Key": "source", "Value": "1"}]


def test_copy_into_a_missing_bucket_fails_each_task(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    copy = {"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::nowhere"}}
    job = run(server, s3c, account, copy, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 0, 1)
    _, report = read_report(s3, job)
    assert report["failed"][0][4:6] == ["404", "NoSuchBucket"]


def test_canned_and_explicit_acls(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    canned = {"S3PutObjectAcl": {"AccessControlPolicy": {"CannedAccessControlList": "public-read"}}}
    run(server, s3c, account, canned, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    grants = s3.get_object_acl(Bucket="photos", Key="a.jpg")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    reader = "a" * 64
    explicit = {"S3PutObjectAcl": {"AccessControlPolicy": {"AccessControlList": {
        "Owner": {"ID": "owner"},
        "Grants": [{"Grantee": {"TypeIdentifier": "id", "Identifier": reader}, "Permission": "READ_ACP"}]}}}}
    job = run(server, s3c, account, explicit, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 1, 0)
    grants = s3.get_object_acl(Bucket="photos", Key="a.jpg")["Grants"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [(reader, "READ_ACP")]


def test_legal_hold_and_retention_on_an_object_lock_bucket(server, s3c, s3, account):
    s3.create_bucket(Bucket="vault", ObjectLockEnabledForBucket=True)
    put(s3, "vault", "contract.pdf")
    put(s3, "photos", "plain.jpg")   # a bucket without Object Lock: the task fails
    rows = ["vault,contract.pdf", "photos,plain.jpg"]
    job = run(server, s3c, account, {"S3PutObjectLegalHold": {"LegalHold": {"Status": "ON"}}},
              Manifest=manifest_of(s3, rows))
    assert progress(job) == (2, 1, 1)
    assert s3.get_object_legal_hold(Bucket="vault", Key="contract.pdf")["LegalHold"] == {"Status": "ON"}
    _, report = read_report(s3, job)
    assert report["failed"][0][:5] == ["photos", "plain.jpg", "", "failed", "400"]

    now = datetime.fromisoformat(server.clock()["now"].replace("Z", "+00:00"))   # the simulated now
    until = now.replace(microsecond=0) + timedelta(days=400)
    retention = {"S3PutObjectRetention": {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": until}}}
    run(server, s3c, account, retention, Manifest=manifest_of(s3, rows[:1]))
    got = s3.get_object_retention(Bucket="vault", Key="contract.pdf")["Retention"]
    assert got["Mode"] == "GOVERNANCE" and got["RetainUntilDate"] == until

    # Shortening a GOVERNANCE retention needs BypassGovernanceRetention.
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - timedelta(days=100)}
    job = run(server, s3c, account, {"S3PutObjectRetention": {"Retention": shorter}},
              Manifest=manifest_of(s3, rows[:1]))
    assert progress(job) == (1, 0, 1)
    assert read_report(s3, job)[1]["failed"][0][4:6] == ["403", "AccessDenied"]
    job = run(server, s3c, account, {"S3PutObjectRetention": {"Retention": shorter, "BypassGovernanceRetention": True}},
              Manifest=manifest_of(s3, rows[:1]))
    assert progress(job) == (1, 1, 0)
    assert s3.get_object_retention(Bucket="vault", Key="contract.pdf")["Retention"]["RetainUntilDate"] == \
        shorter["RetainUntilDate"]


def test_restore_of_archived_objects(server, s3c, s3, account):
    put(s3, "cold", "frozen.bin", StorageClass="GLACIER")
    put(s3, "cold", "warm.bin")
    restore = {"S3InitiateRestoreObject": {"ExpirationInDays": 3, "GlacierJobTier": "BULK"}}
    job = run(server, s3c, account, restore, Manifest=manifest_of(s3, ["cold,frozen.bin", "cold,warm.bin"]))
    assert progress(job) == (2, 1, 1)
    assert s3.head_object(Bucket="cold", Key="frozen.bin")["Restore"] == 'ongoing-request="true"'
    _, report = read_report(s3, job)
    assert report["failed"][0][:6] == ["cold", "warm.bin", "", "failed", "403", "InvalidObjectState"]
    server.advance(13 * 3600)   # bulk retrievals take 5-12 hours
    assert 'ongoing-request="false"' in s3.head_object(Bucket="cold", Key="frozen.bin")["Restore"]


def test_compute_object_checksum(server, s3c, s3, account):
    put(s3, "photos", "a.jpg", b"checksum me")
    sha256 = {"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"}}
    job = run(server, s3c, account, sha256, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    result = json.loads(read_report(s3, job)[1]["succeeded"][0][6])
    digest = hashlib.sha256(b"checksum me").digest()
    assert result["checksum_base64"] == base64.b64encode(digest).decode() and result["checksum_hex"] == digest.hex()
    assert (result["checksumAlgorithm"], result["checksumType"]) == ("SHA256", "FULL_OBJECT")
    assert result["etag"] == hashlib.md5(b"checksum me").hexdigest()

    crc = {"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC32", "ChecksumType": "COMPOSITE"}}
    job = run(server, s3c, account, crc, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    result = json.loads(read_report(s3, job)[1]["succeeded"][0][6])
    part = zlib.crc32(b"checksum me").to_bytes(4, "big")
    assert result["checksum_base64"] == base64.b64encode(zlib.crc32(part).to_bytes(4, "big")).decode() + "-1"


def test_lambda_tasks_fail_without_a_handler(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    function = "arn:aws:lambda:us-east-1:123456789012:function:process"
    job = run(server, s3c, account, {"LambdaInvoke": {"FunctionArn": function}},
              Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 0, 1)
    [row] = read_report(s3, job)[1]["failed"]
    assert row[5] == "PermanentFailure" and function in row[6] and "no Lambda handler configured" in row[6]


def test_update_encryption_fails_each_task(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    operation = {"S3UpdateObjectEncryption": {"ObjectEncryption": {"SSEKMS": {
        "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}}}
    job = run(server, s3c, account, operation, Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert progress(job) == (1, 0, 1)
    assert read_report(s3, job)[1]["failed"][0][4:6] == ["501", "NotImplemented"]


def test_replication_job_fails_without_a_replication_configuration(server, s3c, s3, account):
    put(s3, "photos", "a.jpg")
    job = run(server, s3c, account, {"S3ReplicateObject": {}}, "Failed", Manifest=manifest_of(s3, ["photos,a.jpg"]))
    assert job["FailureReasons"][0]["FailureCode"] == "ReplicationConfigurationNotFoundError"
    assert progress(job) == (0, 0, 0)
    assert s3.list_objects_v2(Bucket=REPORTS)["KeyCount"] == 0    # no task ran: no report


# -- manifests S3 makes, job ends -----------------------------------------------------------------------

def test_manifest_generator_filters_and_writes_its_manifest(server, s3c, s3, account):
    for key, size in [("logs/a.txt", 5), ("logs/b.txt", 500), ("logs/c.gz", 5), ("other/d.txt", 5)]:
        put(s3, "source-bucket", key, b"x" * size)
    s3.create_bucket(Bucket="generated")
    generator = {"S3JobManifestGenerator": {
        "SourceBucket": "arn:aws:s3:::source-bucket", "EnableManifestOutput": True,
        "ManifestOutputLocation": {"Bucket": "arn:aws:s3:::generated", "ManifestPrefix": "lists",
                                   "ManifestFormat": "S3InventoryReport_CSV_20211130"},
        "Filter": {"KeyNameConstraint": {"MatchAnyPrefix": ["logs/"], "MatchAnySuffix": [".txt"]},
                   "ObjectSizeLessThanBytes": 100}}}
    job = run(server, s3c, account, TAGGING, Manifest=None, ManifestGenerator=generator)
    assert progress(job) == (1, 1, 0)
    assert tags_of(s3, "source-bucket", "logs/a.txt") == TAGS
    for other in ("logs/b.txt", "logs/c.gz", "other/d.txt"):
        assert tags_of(s3, "source-bucket", other) == []
    location = job["GeneratedManifestDescriptor"]["Location"]
    key = f"lists/job-{job['JobId']}/manifest.json"
    assert location["ObjectArn"] == f"arn:aws:s3:::generated/{key}"
    written = s3.get_object(Bucket="generated", Key=key)
    assert written["ETag"].strip('"') == location["ETag"]
    document = json.loads(written["Body"].read())
    [data] = document["files"]
    rows = gzip.decompress(s3.get_object(Bucket="generated", Key=data["key"])["Body"].read())
    assert rows == b'"source-bucket","logs/a.txt"\n'
    # The generated manifest is a manifest another job can use.
    again = {"Spec": {"Format": "S3InventoryReport_CSV_20161130"}, "Location": location}
    assert progress(run(server, s3c, account, {"S3DeleteObjectTagging": {}}, Manifest=again)) == (1, 1, 0)
    assert tags_of(s3, "source-bucket", "logs/a.txt") == []


def test_job_fails_when_more_than_half_of_1000_tasks_fail(server, s3c, s3, account):
    put(s3, "photos", "present.jpg")
    rows = ["photos,present.jpg"] * 10 + [f"photos,missing-{n}.jpg" for n in range(1200)]
    job = run(server, s3c, account, TAGGING, "Failed", Manifest=manifest_of(s3, rows))
    assert [f["FailureCode"] for f in job["FailureReasons"]] == ["TaskFailureThresholdExceeded"]
    assert progress(job) == (1210, 10, 990)   # the 1,000th task run tips it
    _, report = read_report(s3, job)
    assert len(report["succeeded"]) == 10 and len(report["failed"]) == 990


def test_cancelled_job_reports_the_tasks_that_ran(server, s3c, s3, account):
    put(s3, "sparse", "present")
    job_id = create_job(s3c, account, Report=REPORT, Manifest=manifest_of(s3, [f"sparse,k{n}" for n in range(900)]))
    advance_until(server, s3c, account, job_id, "Active", step=5)
    while progress(describe(s3c, account, job_id))[2] == 0:
        server.advance(5)
    assert s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Cancelled")["Status"] == \
        "Cancelling"
    advance_until(server, s3c, account, job_id, "Cancelled", step=15)
    job = describe(s3c, account, job_id)
    ran = progress(job)[2]
    assert 0 < ran < 900
    assert len(read_report(s3, job)[1]["failed"]) == ran


def test_paused_job_whose_tasks_ran_is_cancelled_through_cancelling(server, s3c, s3, account, settings):
    settings(concurrent_jobs=1)
    put(s3, "photos", "a.jpg")
    high = create_job(s3c, account, Report=REPORT, Priority=100, ConfirmationRequired=True,
                      Manifest=manifest_of(s3, ["photos,a.jpg"]))
    low = create_job(s3c, account, Report=REPORT, Priority=1, Manifest=manifest_of(s3, ["photos,a.jpg"] * 20_000))
    advance_until(server, s3c, account, high, "Suspended", step=5)
    advance_until(server, s3c, account, low, "Active", step=5)
    while progress(describe(s3c, account, low))[1] == 0:
        server.advance(5)
    s3c.update_job_status(AccountId=account, JobId=high, RequestedJobStatus="Ready")   # it takes low's slot
    advance_until(server, s3c, account, low, "Paused", step=5, limit=MINUTE * 30)
    ran = progress(describe(s3c, account, low))[1]
    assert 0 < ran < 20_000
    assert s3c.update_job_status(AccountId=account, JobId=low, RequestedJobStatus="Cancelled")["Status"] == \
        "Cancelling"
    advance_until(server, s3c, account, low, "Cancelled", step=15)
    job = describe(s3c, account, low)
    assert progress(job)[1] == ran and len(read_report(s3, job)[1]["succeeded"]) == ran
    advance_until(server, s3c, account, high, "Complete", step=15)
