"""The completion report (S3 user guide, "Examples: S3 Batch Operations completion reports").

Written to the report bucket when a job whose tasks ran ends (Complete, Failed or Cancelled), as long as at
least one task ran:

* ``<prefix>/job-<job id>/results/<40 hex digits>.csv``: one file for the tasks that succeeded and one for
  those that failed (with ``ReportScope`` FailedTasksOnly, only the latter), each row
  ``Bucket,Key,VersionId,TaskStatus,HTTPStatusCode,ErrorCode,ResultMessage``. The guide's ReportSchema names
  ErrorCode before HTTPStatusCode, but every example row it shows (and what S3 writes) has the HTTP status
  first — ``awsexamplebucket1,image_14975,,failed,200,PermanentFailure,"Lambda returned ..."`` — so the rows
  follow the examples and manifest.json keeps the documented ReportSchema text. Keys are URL-encoded as in a
  manifest, so a report's rows can be given back as the manifest of a retry job (Fields Bucket, Key,
  VersionId, then Ignore).
* ``<prefix>/job-<job id>/manifest.json``: Format, ReportCreationDate, Results (TaskExecutionStatus, Bucket,
  MD5Checksum, Key of each results file) and ReportSchema, as in the guide's example.

While the job runs, each step keeps its report rows as one ``s3control.results`` resource (the job's
child); the report is assembled from them when the job ends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from urllib.parse import quote_plus

from ...clock import to_datetime
from ...objects import ObjectError, ObjectStore
from ...store import Resource
from .operations import TaskResult
from .tasks import Task, bucket_of, write_failure

FORMAT = "Report_CSV_20180820"
SCHEMA = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
SUCCEEDED, FAILED = "succeeded", "failed"


def enabled(report: dict) -> bool:
    return bool(report.get("Enabled")) and bool(report.get("Bucket"))


def keeps(report: dict, result: TaskResult) -> bool:
    """Whether the report has a row for this task."""
    return enabled(report) and (report.get("ReportScope") != "FailedTasksOnly" or not result.succeeded)


def row(task: Task, result: TaskResult) -> str:
    bucket, key, version_id = task
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(
        [bucket, quote_plus(key, safe="/"), version_id or "", SUCCEEDED if result.succeeded else FAILED,
         result.http_status, result.error_code, result.message])
    return line.getvalue()


def folder(job: Resource) -> str:
    prefix = (job.doc["Report"].get("Prefix") or "").strip("/")
    return "/".join(p for p in (prefix, f"job-{job.id}") if p)


def check_bucket(job: Resource, objects: ObjectStore) -> None:
    """A report bucket that does not exist fails the job while it is Preparing, before any task runs."""
    bucket = bucket_of(job.doc["Report"]["Bucket"])
    try:
        objects.head_bucket(bucket)
    except ObjectError as error:
        raise write_failure("completion report", "Report", error, bucket) from None


def write(job: Resource, parts: list[Resource], objects: ObjectStore, now_us: int) -> None:
    """Write the report from the steps' rows (``parts``, in the order the steps ran); raises JobFailed when
    the report bucket cannot be written."""
    bucket = bucket_of(job.doc["Report"]["Bucket"])
    base = folder(job)
    results = []
    for status in (SUCCEEDED, FAILED):
        data = "".join(part.doc.get(status, "") for part in parts).encode()
        if not data:
            continue
        name = hashlib.sha1(f"{job.id}/{status}".encode()).hexdigest()
        key = f"{base}/results/{name}.csv"
        _put(objects, bucket, key, data, "text/csv")
        results.append({"TaskExecutionStatus": status, "Bucket": bucket,
                        "MD5Checksum": hashlib.md5(data).hexdigest(), "Key": key})
    created = to_datetime(now_us).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    manifest = {"Format": FORMAT, "ReportCreationDate": created, "Results": results, "ReportSchema": SCHEMA}
    _put(objects, bucket, f"{base}/manifest.json", json.dumps(manifest, indent=4).encode(), "application/json")


def _put(objects: ObjectStore, bucket: str, key: str, data: bytes, content_type: str) -> None:
    try:
        objects.put(bucket, key, data, content_type=content_type)
    except ObjectError as error:
        raise write_failure("completion report", "Report", error, bucket, key) from None
