"""A job's tasks: how many it has and how each one turns out.

A task is the job's operation applied to one object of its manifest. While the job is Preparing, S3 reads
the manifest: when jobyard's own S3 objects hold the manifest's bucket (or, for a ManifestGenerator, the
source bucket), the tasks are the manifest's rows (or the matching objects), and a manifest that cannot be
read, or whose ETag is not the one given, fails the job as on AWS. Without such a bucket the job has a
configured number of tasks (``JOBYARD_S3CONTROL_DEFAULT_TASKS``, 10), so jobs run with no S3 set-up at all.

Outcomes: jobyard does not apply the operations to objects yet, so every task succeeds, except LambdaInvoke
tasks: jobyard runs no Lambda functions, so those fail, as a function that cannot be invoked makes them fail
on AWS. ``task_outcomes`` is the one place that will apply the operation to each object.

Outcomes are kept run-length encoded (``[count, succeeded, error code, message]``), so a job of a million
alike tasks costs a few bytes, and the counts after any number of tasks are a short walk.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from typing import Iterator

from ...objects import ObjectError, ObjectStore
from ...store import Resource
from . import states as S
from .stored import microseconds

Run = list  # [count, succeeded, error code, message]


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


class ManifestUnreadable(Exception):
    """The manifest cannot be used: the job fails with this code and reason."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.failure = {"FailureCode": code, "FailureReason": reason[:256]}


def task_count(job: Resource, objects: ObjectStore | None) -> int:
    """How many tasks the job has, as S3 learns it while the job is Preparing (see the module docstring);
    raises ManifestUnreadable."""
    doc = job.doc
    counted = None
    if objects is not None:
        if doc.get("Manifest"):
            counted = _count_manifest(doc["Manifest"], objects)
        else:
            counted = _count_generated(doc["ManifestGenerator"]["S3JobManifestGenerator"], objects)
    return doc["Tasks"]["Total"] if counted is None else counted


def _read(objects: ObjectStore, bucket: str, key: str, version_id: str | None = None):
    try:
        return objects.get(bucket, key, version_id=version_id)
    except ObjectError as error:
        raise ManifestUnreadable(f"Manifest{error.code}", f"Reading the manifest failed: {error.code}: "
                                 f"{error.message} (s3://{bucket}/{key})") from None


def _count_manifest(manifest: dict, objects: ObjectStore) -> int | None:
    location, spec = manifest["Location"], manifest["Spec"]
    bucket, key = _OBJECT_ARN.fullmatch(location["ObjectArn"]).groups()
    if not objects.bucket_exists(bucket):
        return None
    body = _read(objects, bucket, key, location.get("ObjectVersionId"))
    if body.info.etag.strip('"') != location["ETag"].strip('"'):
        raise ManifestUnreadable("ManifestETagMismatch", f"The manifest's ETag {body.info.etag} does not match the "
                                 f"ETag given for it ({location['ETag']}).")
    if spec["Format"] == "S3BatchOperations_CSV_20180820":
        return _csv_rows(body.data, len(spec["Fields"]))
    return _inventory_rows(body.data, objects)


def _csv_rows(data: bytes, columns: int) -> int:
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8"))) if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as error:
        raise ManifestUnreadable("ManifestParseFailure", f"The manifest is not a CSV file: {error}") from None
    short = next((n for n, row in enumerate(rows, 1) if len(row) < columns), None)
    if short is not None:
        raise ManifestUnreadable("ManifestParseFailure", f"Row {short} of the manifest has fewer than the "
                                 f"{columns} columns its Fields name.")
    return len(rows)


def _inventory_rows(data: bytes, objects: ObjectStore) -> int:
    """An S3 Inventory manifest.json: its CSV files (gzipped) in the inventory's destination bucket."""
    try:
        manifest = json.loads(data)
        bucket = _BUCKET_ARN.fullmatch(manifest["destinationBucket"]).group(1)
        files = [f["key"] for f in manifest["files"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ManifestUnreadable("ManifestParseFailure", "The manifest is not an S3 Inventory manifest.json "
                                 "(destinationBucket and files are needed).") from None
    total = 0
    for key in files:
        raw = _read(objects, bucket, key).data
        try:
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        except OSError as error:
            raise ManifestUnreadable("ManifestParseFailure", f"Inventory file {key} is not gzip: {error}") from None
        total += _csv_rows(text, 2)
    return total


def _count_generated(generator: dict, objects: ObjectStore) -> int | None:
    """The source bucket's objects that the generator's filter keeps. Replication and encryption criteria
    are not known to jobyard's objects and keep every object."""
    bucket = _BUCKET_ARN.fullmatch(generator["SourceBucket"]).group(1)
    if not objects.bucket_exists(bucket):
        return None
    criteria = generator.get("Filter") or {}
    names = criteria.get("KeyNameConstraint") or {}
    prefixes, suffixes = names.get("MatchAnyPrefix"), names.get("MatchAnySuffix")
    substrings, classes = names.get("MatchAnySubstring"), criteria.get("MatchAnyStorageClass")
    larger, smaller = criteria.get("ObjectSizeGreaterThanBytes"), criteria.get("ObjectSizeLessThanBytes")
    after, before = microseconds(criteria.get("CreatedAfter")), microseconds(criteria.get("CreatedBefore"))
    count = 0
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
        count += 1
    return count


def task_outcomes(job: Resource) -> Iterator[TaskOutcome]:
    """Each task's outcome, in the order the tasks run."""
    operation = job.doc["Operation"]
    if operation_name(operation) == "LambdaInvoke":
        function = operation["LambdaInvoke"].get("FunctionArn", "")
        outcome = TaskOutcome(False, "PermanentFailure",
                              f"Lambda function {function} could not be invoked: jobyard runs no Lambda "
                              "functions (no handler is configured)")
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
        if ran >= S.FAILURE_THRESHOLD_MIN_TASKS and failed > ran * S.FAILURE_THRESHOLD_RATE:
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
