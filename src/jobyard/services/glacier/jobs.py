"""Glacier jobs on the simulated clock: how long they take, what they produce, when they expire.

A job is InProgress until its due time, then Succeeded (its output prepared at that moment) or Failed
(the archive was deleted meanwhile, or a select query could not run). Its output, and the job itself,
can be read for 24 hours after completion; then the job is gone and its id answers 404 "The job ID was
not found". Durations come from the AWS tiers, drawn per job:

* Expedited: 1-5 minutes, archives over 250 MB excepted (Developer Guide, "Archive Retrieval Options"; it
  gives no time for the larger ones, so here 5-30 minutes);
* Standard: 3-5 hours; Bulk: 5-12 hours;
* inventory retrieval: about 4 hours. The current guide gives no inventory time; its 2018 edition said "Most
  Amazon Glacier jobs take about four hours to complete" (Set Vault Notification Configuration).
"""

from __future__ import annotations

import orjson

from ...clock import US
from ...lifecycle import draw_seconds
from ...context import Context, Scope
from ...objects import ObjectError, ObjectStore
from ...store import Resource, TxFiles
from . import inventory, select
from .common import DAY, DELETED, FAILED, HOUR, IN_PROGRESS, SUCCEEDED, archive_key, iso_millis, output_key
from .errors import ARCHIVE, JOB, VAULT, vault_arn

TIERS = ("Expedited", "Standard", "Bulk")
DEFAULT_TIER = "Standard"
TIER_SECONDS = {"Expedited": (60, 5 * 60), "Standard": (3 * HOUR, 5 * HOUR), "Bulk": (5 * HOUR, 12 * HOUR)}
LARGE_ARCHIVE = 250 * 1000 * 1000
EXPEDITED_LARGE_SECONDS = (5 * 60, 30 * 60)
INVENTORY_SECONDS = (3.5 * HOUR, 4.5 * HOUR)
OUTPUT_KEPT = DAY          # "A job ID does not expire for at least 24 hours after Glacier completes the job"

ARCHIVE_RETRIEVAL, INVENTORY_RETRIEVAL, SELECT = "ArchiveRetrieval", "InventoryRetrieval", "Select"
RESULT_PART = "results/part-00000.csv"     # AWS names result parts opaquely; one part here
IN_PROGRESS_MESSAGE = "Operation in progress."


def duration_seconds(job_id: str, action: str, tier: str | None, size: int) -> float:
    if action == INVENTORY_RETRIEVAL:
        low, high = INVENTORY_SECONDS
    elif tier == "Expedited" and size > LARGE_ARCHIVE:
        low, high = EXPEDITED_LARGE_SECONDS
    else:
        low, high = TIER_SECONDS[tier or DEFAULT_TIER]
    return draw_seconds(job_id, "complete", low, high)


def new_job(scope: Scope, vault: str, job_id: str, doc: dict) -> Resource:
    """A job started now (not stored yet)."""
    doc["StatusMessage"] = IN_PROGRESS_MESSAGE
    seconds = duration_seconds(job_id, doc["Action"], doc.get("Tier"), doc.get("ArchiveSize") or 0)
    return scope.new(JOB, job_id, parent=vault, state=IN_PROGRESS, next_due_us=scope.now_us + int(seconds * US),
                     doc=doc, ref=doc.get("ArchiveId") or "")


# -- what DescribeJob and ListJobs show -----------------------------------------------------------------

def describe(job: Resource) -> dict:
    doc, completed = job.doc, job.state != IN_PROGRESS
    out = {
        "JobId": job.id,
        "JobDescription": doc.get("Description"),
        "Action": doc["Action"],
        "VaultARN": vault_arn(job.region, job.account, job.parent),
        "CreationDate": iso_millis(job.created_us),
        "Completed": completed,
        "StatusCode": job.state,
        "StatusMessage": doc.get("StatusMessage"),
        "SNSTopic": doc.get("SNSTopic"),
        "CompletionDate": iso_millis(doc["CompletionDate"]) if completed else None,
    }
    if doc["Action"] == ARCHIVE_RETRIEVAL:
        start, end = doc["Range"]
        whole = start == 0 and end == doc["ArchiveSize"] - 1
        out.update({
            "ArchiveId": doc["ArchiveId"],
            "ArchiveSizeInBytes": doc["ArchiveSize"],
            "ArchiveSHA256TreeHash": doc["ArchiveTreeHash"],
            "RetrievalByteRange": f"{start}-{end}",
            "Tier": doc["Tier"],
            # The range's hash when it is tree-hash aligned; AWS leaves it out for a whole archive until
            # the job is done.
            "SHA256TreeHash": None if whole and not completed else doc.get("RangeTreeHash"),
        })
    elif doc["Action"] == SELECT:
        # Select jobs write to S3; the archive's size, hash and range are not theirs to show.
        out.update({"ArchiveId": doc["ArchiveId"], "Tier": doc["Tier"], "SelectParameters": doc["SelectParameters"],
                    "OutputLocation": doc["OutputLocation"], "JobOutputPath": doc["JobOutputPath"]})
    else:
        wanted = doc["Inventory"]
        parameters = {"Format": wanted["Format"], "StartDate": wanted.get("StartDate"),
                      "EndDate": wanted.get("EndDate"), "Limit": wanted.get("Limit")}
        if completed:
            # After completion: where the next inventory job continues, or nothing when all was listed.
            parameters["Marker"] = doc.get("NextMarker")
            out["InventorySizeInBytes"] = doc.get("OutputSize")
        out["InventoryRetrievalParameters"] = {k: v for k, v in parameters.items() if v is not None}
    return out


# -- transitions -----------------------------------------------------------------------------------------

def advance(ctx: Context, job: Resource) -> None:
    """The transition handler of jobs: complete an InProgress job, expire a completed one."""
    if job.state == IN_PROGRESS:
        _complete(ctx, job)
        job.next_due_us = ctx.now_us + OUTPUT_KEPT * US
    else:
        expire(ctx, job)


def _complete(ctx: Context, job: Resource) -> None:
    doc = job.doc
    failure = None
    if doc["Action"] in (ARCHIVE_RETRIEVAL, SELECT):
        archive = ctx.scope.get(ARCHIVE, doc["ArchiveId"])
        if archive is None or archive.state == DELETED:
            failure = f"The archive was deleted before the job completed: {doc['ArchiveId']}"
        elif doc["Action"] == SELECT:
            failure = _run_select(ctx.files, job, ctx.objects)
    else:
        failure = _prepare_inventory(ctx, job)
    job.state = FAILED if failure else SUCCEEDED
    doc["StatusMessage"] = failure or SUCCEEDED
    doc["CompletionDate"] = ctx.now_us


def _prepare_inventory(ctx: Context, job: Resource) -> str | None:
    vault = ctx.scope.get(VAULT, job.parent)
    snapshot = (vault.doc.get("Inventory") or {}) if vault is not None else {}
    if not snapshot.get("Key"):
        return "The vault inventory is not available."
    wanted = job.doc["Inventory"]
    entries, next_position = inventory.select(orjson.loads(ctx.files.get(snapshot["Key"])), wanted.get("StartUs"),
                                              wanted.get("EndUs"), wanted.get("After"), wanted.get("LimitCount"))
    body, _ = inventory.render(entries, vault_arn(job.region, job.account, job.parent), snapshot["Date"],
                               wanted["Format"])
    ctx.files.put(output_key(job.account, job.region, job.id), body)
    job.doc["OutputSize"] = len(body)
    job.doc["InventoryDate"] = snapshot["Date"]
    if next_position is not None:
        job.doc["NextMarker"] = inventory.encode_marker(next_position)
    return None


def _run_select(files: TxFiles, job: Resource, store: ObjectStore) -> str | None:
    """Run the query over the archive and write what AWS writes under the job's output path: the results
    and ``result_manifest.txt``, or an error log and ``error_manifest.txt``."""
    doc, location = job.doc, job.doc["OutputLocation"]["S3"]
    bucket, path = location["BucketName"], doc["JobOutputPath"]
    parameters = doc["SelectParameters"]
    options = {"storage_class": location.get("StorageClass"), "tags": location.get("Tagging"),
               "metadata": location.get("UserMetadata"), "acl": location.get("CannedACL")}
    try:
        try:
            result = select.run(select.parse(parameters["Expression"]),
                                 files.get(archive_key(job.account, job.region, doc["ArchiveId"])),
                                 (parameters.get("InputSerialization") or {}).get("csv") or {},
                                 (parameters.get("OutputSerialization") or {}).get("csv") or {})
        except select.SelectError as error:
            store.put(bucket, f"{path}errors/error.txt", f"{error}\n".encode(), content_type="text/plain", **options)
            store.put(bucket, f"{path}error_manifest.txt", f"{path}errors/error.txt\n".encode(),
                      content_type="text/plain", **options)
            return f"The select query failed: {error}"
        store.put(bucket, path + RESULT_PART, result, content_type="text/csv", **options)
        store.put(bucket, f"{path}result_manifest.txt", f"{path}{RESULT_PART}\n".encode(), content_type="text/plain",
                  **options)
    except ObjectError as error:
        return f"The results could not be written to s3://{bucket}/{path}: {error.message}"
    return None


def expire(ctx: Context, job: Resource) -> None:
    """Forget a job and its output; an archive deleted meanwhile loses its bytes once no job needs them."""
    ctx.scope.delete(job)
    job.next_due_us = None
    ctx.files.delete(output_key(job.account, job.region, job.id))
    if job.ref and not archive_bytes_needed(ctx.scope, job.ref):
        ctx.files.delete(archive_key(job.account, job.region, job.ref))


def archive_bytes_needed(scope: Scope, archive_id: str) -> bool:
    """Whether an archive's bytes must stay: it exists, or a finished retrieval can still be downloaded."""
    archive = scope.get(ARCHIVE, archive_id)
    if archive is not None and archive.state != DELETED:
        return True
    return scope.exists(JOB, ref=archive_id, states=[SUCCEEDED])
