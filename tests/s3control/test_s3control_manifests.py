"""Manifests held in jobyard's own S3 objects: the tasks are their rows; an unreadable manifest fails the job."""

import gzip
import json

import pytest

from s3control_helpers import LAMBDA, advance_until, create_job, describe
from support import make_client


@pytest.fixture
def s3(server, account):
    client = make_client("s3", server.url, account)
    client.create_bucket(Bucket="my-reports")   # the completion reports' bucket (REPORT): it must exist
    return client


def put(s3, bucket: str, key: str, body: bytes) -> str:
    """Store an object (creating its bucket if need be); returns its ETag."""
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    return s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]


def csv_manifest(bucket: str, key: str, etag: str, fields=("Bucket", "Key")) -> dict:
    return {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": list(fields)},
            "Location": {"ObjectArn": f"arn:aws:s3:::{bucket}/{key}", "ETag": etag}}


def finished(server, s3c, account, job_id, wanted="Complete") -> dict:
    advance_until(server, s3c, account, job_id, wanted, step=4)
    return describe(s3c, account, job_id)


def test_tasks_are_the_manifest_rows(server, s3c, s3, account):
    for n in range(30):
        put(s3, "photos", f"img/{n}.jpg", b"jpeg")
    rows = "".join(f"photos,img/{n}.jpg\n" for n in range(37)) + "\n"   # a blank line is no task
    etag = put(s3, "manifests", "tagging/manifest.csv", rows.encode())
    job_id = create_job(s3c, account, Manifest=csv_manifest("manifests", "tagging/manifest.csv", etag.strip('"')))
    progress = finished(server, s3c, account, job_id)["ProgressSummary"]
    assert progress["TotalNumberOfTasks"] == 37
    assert (progress["NumberOfTasksSucceeded"], progress["NumberOfTasksFailed"]) == (30, 7)   # 7 keys are missing


def test_lambda_tasks_of_a_manifest_fail(server, s3c, s3, account):
    etag = put(s3, "manifests", "m.csv", b"photos,a.jpg\nphotos,b.jpg\n")
    job_id = create_job(s3c, account, operation=LAMBDA, Manifest=csv_manifest("manifests", "m.csv", etag))
    progress = finished(server, s3c, account, job_id)["ProgressSummary"]
    assert (progress["TotalNumberOfTasks"], progress["NumberOfTasksFailed"]) == (2, 2)


def test_manifest_outside_jobyard_gets_the_default(server, s3c, account):
    job_id = create_job(s3c, account)   # its bucket does not exist in jobyard
    assert finished(server, s3c, account, job_id)["ProgressSummary"]["TotalNumberOfTasks"] == 10


@pytest.mark.parametrize("case, code", [
    ("etag", "ManifestETagMismatch"),
    ("missing", "ManifestNoSuchKey"),
    ("columns", "ManifestParseFailure"),
])
def test_unreadable_manifest_fails_the_job(server, s3c, s3, account, case, code):
    etag = put(s3, "manifests", "m.csv", b"photos,a.jpg\nphotos,b.jpg\n")
    manifest = {"etag": csv_manifest("manifests", "m.csv", "0" * 32),
                "missing": csv_manifest("manifests", "gone.csv", etag),
                "columns": csv_manifest("manifests", "m.csv", etag, ("Bucket", "Key", "VersionId"))}[case]
    job_id = create_job(s3c, account, Manifest=manifest)
    seen = advance_until(server, s3c, account, job_id, "Failed", step=4)
    assert seen == ["New", "Preparing", "Failing", "Failed"]
    job = describe(s3c, account, job_id)
    [failure] = job["FailureReasons"]
    assert failure["FailureCode"] == code and failure["FailureReason"]
    assert job["ProgressSummary"]["TotalNumberOfTasks"] == 0 and "TerminationDate" in job


def test_inventory_report_manifest(server, s3c, s3, account):
    put(s3, "inventory", "data/part-1.csv.gz", gzip.compress(b'"photos","a.jpg"\n"photos","b.jpg"\n'))
    put(s3, "inventory", "data/part-2.csv.gz", gzip.compress(b'"photos","c.jpg"\n'))
    document = {"sourceBucket": "photos", "destinationBucket": "arn:aws:s3:::inventory", "fileFormat": "CSV",
                "files": [{"key": "data/part-1.csv.gz"}, {"key": "data/part-2.csv.gz"}]}
    etag = put(s3, "inventory", "photos/config/2024-01-01T00-00Z/manifest.json", json.dumps(document).encode())
    manifest = {"Spec": {"Format": "S3InventoryReport_CSV_20161130"},
                "Location": {"ObjectArn": "arn:aws:s3:::inventory/photos/config/2024-01-01T00-00Z/manifest.json",
                             "ETag": etag}}
    job_id = create_job(s3c, account, Manifest=manifest)
    assert finished(server, s3c, account, job_id)["ProgressSummary"]["TotalNumberOfTasks"] == 3


def test_generated_manifest_counts_the_matching_objects(server, s3c, s3, account):
    for key, size in [("logs/a.txt", 5), ("logs/b.txt", 500), ("logs/c.gz", 5), ("other/d.txt", 5)]:
        put(s3, "source-bucket", key, b"x" * size)
    generator = {"S3JobManifestGenerator": {
        "SourceBucket": "arn:aws:s3:::source-bucket", "EnableManifestOutput": False,
        "Filter": {"KeyNameConstraint": {"MatchAnyPrefix": ["logs/"], "MatchAnySuffix": [".txt"]},
                   "ObjectSizeLessThanBytes": 100}}}
    job_id = create_job(s3c, account, Manifest=None, ManifestGenerator=generator)
    assert finished(server, s3c, account, job_id)["ProgressSummary"]["TotalNumberOfTasks"] == 1
