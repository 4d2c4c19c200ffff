"""A job's tasks: which objects they act on, how many there are, and (without objects) how they turn out.

A task is the job's operation applied to one object of its manifest. While the job is Preparing, S3 reads
the manifest: when jobyard's own S3 objects hold the manifest's bucket (or, for a ManifestGenerator, the
source bucket), the tasks are the manifest's rows (or the matching objects), and a manifest that cannot be
read, or whose ETag is not the one given, fails the job as on AWS. Those tasks really act on the objects
(``operations.py``), a bounded step at a time (``jobs.py``).

Without such a bucket the job has a configured number of tasks (``JOBYARD_S3CONTROL_DEFAULT_TASKS``, 10)
and no objects, so jobs run with no S3 set-up at all: those tasks succeed, except LambdaInvoke tasks
(jobyard runs no Lambda functions). Their outcomes are kept run-length encoded (``[count, succeeded, error
code, message]``), so a job of a million alike tasks costs a few bytes, and the counts after any number of
tasks are a short walk.

Manifest keys are URL-encoded, as the S3 user guide requires of CSV manifests and as S3 Inventory writes
them ("object%20key%20with%20spaces"); they are decoded as form data, so ``+`` is a space, as on AWS.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import quote_plus, unquote_plus

from ...objects import ObjectError, ObjectStore
from ...objects.checksums import md5_hex
from ...store import Resource
from . import states
from .stored import microseconds

Run = list  # [count, succeeded, error code, message]
Task = list  # [bucket, key, version id]: None is the current version, "" an empty VersionId field

LAMBDA_UNAVAILABLE = "no Lambda handler configured (jobyard runs no Lambda functions)"


@dataclass(frozen=True)
class TaskOutcome:
    succeeded: bool
    error_code: str = ""
    message: str = ""


@dataclass(frozen=True)
class TaskPlan:
    runs: list[Run]
    stop_at: int            # how many tasks run before the job stops (all of them unless it fails)
    threshold_failed: bool  # the job stops because too many tasks failed


def operation_name(operation: dict) -> str:
    """The OperationName of a job's JobOperation: the one member it sets."""
    return next(iter(operation))


_OBJECT_ARN = re.compile(r"arn:aws[a-z\-]*:s3:::([^/]+)/(.+)", re.DOTALL)
_BUCKET_ARN = re.compile(r"arn:aws[a-z\-]*:s3:::([^/]+)")


def bucket_of(arn: str) -> str:
    return _BUCKET_ARN.fullmatch(arn).group(1)


class JobFailed(Exception):
    """The job cannot go on: it fails with this code and reason."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.failure = {"FailureCode": code, "FailureReason": reason[:256]}


class ManifestUnreadable(JobFailed):
    """The manifest cannot be used."""


def write_failure(what: str, code_prefix: str, error: ObjectError, bucket: str, key: str = "") -> JobFailed:
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    return JobFailed(f"{code_prefix}{error.code}", f"Writing the {what} failed: {error.code}: {error.message} "
                                                   f"({where})")


def read_tasks(job: Resource, objects: ObjectStore) -> list[Task] | None:
    """The job's tasks as S3 learns them while the job is Preparing, or None when jobyard does not hold the
    manifest's bucket (the job then has the default number of tasks, with no objects); raises
    ManifestUnreadable."""
    doc = job.doc
    if doc.get("Manifest"):
        return _manifest_tasks(doc["Manifest"], objects)
    return _generated_tasks(doc["ManifestGenerator"]["S3JobManifestGenerator"], objects)


def _read(objects: ObjectStore, bucket: str, key: str, version_id: str | None = None):
    try:
        return objects.get(bucket, key, version_id=version_id)
    except ObjectError as error:
        raise ManifestUnreadable(f"Manifest{error.code}", f"Reading the manifest failed: {error.code}: "
                                 f"{error.message} (s3://{bucket}/{key})") from None


def _manifest_tasks(manifest: dict, objects: ObjectStore) -> list[Task] | None:
    location, spec = manifest["Location"], manifest["Spec"]
    bucket, key = _OBJECT_ARN.fullmatch(location["ObjectArn"]).groups()
    if not objects.bucket_exists(bucket):
        return None
    body = _read(objects, bucket, key, location.get("ObjectVersionId"))
    if body.info.etag.strip('"') != location["ETag"].strip('"'):
        raise ManifestUnreadable("ManifestETagMismatch", f"The manifest's ETag {body.info.etag} does not match the "
                                 f"ETag given for it ({location['ETag']}).")
    if spec["Format"] == "S3BatchOperations_CSV_20180820":
        return _csv_tasks(body.data, spec["Fields"])
    return _inventory_tasks(body.data, objects)


def _csv_tasks(data: bytes, fields: list[str]) -> list[Task]:
    """The rows of a CSV manifest whose columns ``fields`` names (Bucket, Key, VersionId, Ignore)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8"))) if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as error:
        raise ManifestUnreadable("ManifestParseFailure", f"The manifest is not a CSV file: {error}") from None
    columns = len(fields)
    short = next((n for n, row in enumerate(rows, 1) if len(row) < columns), None)
    if short is not None:
        raise ManifestUnreadable("ManifestParseFailure", f"Row {short} of the manifest has fewer than the "
                                 f"{columns} columns its Fields name.")
    bucket, key = fields.index("Bucket"), fields.index("Key")
    version = fields.index("VersionId") if "VersionId" in fields else None
    return [[row[bucket], unquote_plus(row[key]), row[version] if version is not None else None] for row in rows]


def _inventory_tasks(data: bytes, objects: ObjectStore) -> list[Task]:
    """An S3 Inventory manifest.json: its CSV files (gzipped) in the inventory's destination bucket, whose
    columns ``fileSchema`` names (Bucket and Key first when it is not given)."""
    try:
        manifest = json.loads(data)
        bucket = _BUCKET_ARN.fullmatch(manifest["destinationBucket"]).group(1)
        files = [f["key"] for f in manifest["files"]]
        schema = [c.strip() for c in manifest.get("fileSchema", "Bucket, Key").split(",")]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ManifestUnreadable("ManifestParseFailure", "The manifest is not an S3 Inventory manifest.json "
                                 "(destinationBucket and files are needed).") from None
    if "Bucket" not in schema or "Key" not in schema:
        raise ManifestUnreadable("ManifestParseFailure", "The inventory's fileSchema names no Bucket and Key.")
    fields = [c if c in ("Bucket", "Key", "VersionId") else "Ignore" for c in schema]
    found: list[Task] = []
    for key in files:
        raw = _read(objects, bucket, key).data
        try:
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        except OSError as error:
            raise ManifestUnreadable("ManifestParseFailure", f"Inventory file {key} is not gzip: {error}") from None
        found += _csv_tasks(text, fields)
    return found


def _generated_tasks(generator: dict, objects: ObjectStore) -> list[Task] | None:
    """The source bucket's objects that the generator's filter keeps (their current versions). Replication
    and encryption criteria are not known to jobyard's objects and keep every object."""
    bucket = bucket_of(generator["SourceBucket"])
    if not objects.bucket_exists(bucket):
        return None
    criteria = generator.get("Filter") or {}
    names = criteria.get("KeyNameConstraint") or {}
    prefixes, suffixes = names.get("MatchAnyPrefix"), names.get("MatchAnySuffix")
    substrings, classes = names.get("MatchAnySubstring"), criteria.get("MatchAnyStorageClass")
    larger, smaller = criteria.get("ObjectSizeGreaterThanBytes"), criteria.get("ObjectSizeLessThanBytes")
    after, before = microseconds(criteria.get("CreatedAfter")), microseconds(criteria.get("CreatedBefore"))
    found: list[Task] = []
    for info in objects.walk(bucket):
        key = info.key
        if ((prefixes and not any(key.startswith(p) for p in prefixes))
                or (suffixes and not any(key.endswith(x) for x in suffixes))
                or (substrings and not any(x in key for x in substrings))
                or (classes and info.storage_class not in classes)
                or (larger is not None and info.size <= larger)
                or (smaller is not None and info.size >= smaller)
                or (after is not None and info.last_modified_us <= after)
                or (before is not None and info.last_modified_us >= before)):
            continue
        found.append([bucket, key, info.version_id])
    return found


def write_generated_manifest(job: Resource, found: list[Task], objects: ObjectStore, now_us: int) -> dict:
    """Write a ManifestGenerator's manifest where EnableManifestOutput asks, in the S3 Inventory form its
    ManifestFormat (S3InventoryReport_CSV_20211130) names: ``<prefix>/job-<id>/manifest.json`` and one
    gzipped CSV data file beside it. The layout under the job's folder is jobyard's: the API reference
    (S3ManifestOutputLocation, S3GeneratedManifestDescriptor) gives only the bucket, prefix and format. Returns
    the GeneratedManifestDescriptor; raises JobFailed when the output bucket cannot be written."""
    generator = job.doc["ManifestGenerator"]["S3JobManifestGenerator"]
    location = generator["ManifestOutputLocation"]
    bucket = bucket_of(location["Bucket"])
    folder = "/".join(p for p in (location.get("ManifestPrefix", "").strip("/"), f"job-{job.id}") if p)
    versioned = any(t[2] is not None for t in found)
    schema = "Bucket, Key, VersionId" if versioned else "Bucket, Key"
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for task_bucket, key, version in found:
        writer.writerow([task_bucket, quote_plus(key, safe="/"), *([version or ""] if versioned else [])])
    data = gzip.compress(text.getvalue().encode(), mtime=0)
    data_key = f"{folder}/data/{uuid.uuid5(uuid.NAMESPACE_URL, job.id)}.csv.gz"
    manifest = {"sourceBucket": bucket_of(generator["SourceBucket"]), "destinationBucket": location["Bucket"],
                "version": "2016-11-30", "creationTimestamp": str(now_us // 1000), "fileFormat": "CSV",
                "fileSchema": schema, "files": [{"key": data_key, "size": len(data), "MD5checksum": md5_hex(data)}]}
    body = json.dumps(manifest, indent=2).encode()
    key = f"{folder}/manifest.json"
    try:
        objects.put(bucket, data_key, data, content_type="application/gzip")
        info = objects.put(bucket, key, body, content_type="application/json")
    except ObjectError as error:
        raise write_failure("generated manifest", "ManifestOutput", error, bucket, key) from None
    return {"Format": location["ManifestFormat"],
            "Location": {"ObjectArn": f"arn:aws:s3:::{bucket}/{key}", "ETag": info.etag.strip('"')}}


def task_outcomes(job: Resource) -> Iterator[TaskOutcome]:
    """Each task's outcome, in the order the tasks run, for a job without objects."""
    operation = job.doc["Operation"]
    if operation_name(operation) == "LambdaInvoke":
        function = operation["LambdaInvoke"].get("FunctionArn", "")
        outcome = TaskOutcome(False, "PermanentFailure",
                              f"Lambda function {function} could not be invoked: {LAMBDA_UNAVAILABLE}")
    else:
        outcome = TaskOutcome(True)
    for _ in range(job.doc["Tasks"]["Total"]):
        yield outcome


def plan(job: Resource) -> TaskPlan:
    """Run the outcomes once, watching the task-failure threshold as S3 does: once at least 1,000 tasks have
    run, the job fails as soon as more than half of the tasks run so far have failed."""
    runs: list[Run] = []
    ran = failed = 0
    for outcome in task_outcomes(job):
        ran += 1
        failed += not outcome.succeeded
        key = [outcome.succeeded, outcome.error_code, outcome.message]
        if runs and runs[-1][1:] == key:
            runs[-1][0] += 1
        else:
            runs.append([1, *key])
        if ran >= states.FAILURE_THRESHOLD_MIN_TASKS and failed > ran * states.FAILURE_THRESHOLD_RATE:
            return TaskPlan(runs, ran, True)
    return TaskPlan(runs, ran, False)


def counts(runs: list[Run], ran: int) -> tuple[int, int]:
    """(succeeded, failed) among the first ``ran`` tasks."""
    succeeded = failed = 0
    for count, ok, _code, _message in runs:
        take = min(count, ran)
        if ok:
            succeeded += take
        else:
            failed += take
        ran -= take
        if ran <= 0:
            break
    return succeeded, failed
