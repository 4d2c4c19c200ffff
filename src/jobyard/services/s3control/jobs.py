"""S3 Batch Operations jobs: how they are stored, how they move, how they share capacity, how they read back.

A job is a ``s3control.job`` resource whose ``state`` is its Status, so ListJobs' status filter is an index
read. Its document keeps the CreateJob members as given (timestamps frozen to microseconds) plus what S3
fills in along the way: the task plan, the time spent Active, failure reasons, termination time.

Progress is computed, not ticked: a running job records when its current Active span began, its task rate
and warm-up, so the tasks run by any moment follow from the time spent Active. A job without objects (its
manifest is not in jobyard) is only woken at its next state change (the last task, the failure threshold),
which keeps a million-task job as cheap as a ten-task one.

A job whose tasks act on jobyard's objects does that work in steps: its manifest rows are kept in chunks of
``MAX_TASKS_PER_STEP`` (``s3control.tasks`` children of the job), and while Active it wakes each time about
``STEP_SECONDS`` more of its tasks are due, applies them through the object layer (at most
``MAX_TASKS_PER_STEP``), counts what succeeded and failed, keeps the rows for the completion report
(``s3control.results`` children) and checks the failure threshold after every task. Its ProgressSummary
counts the tasks applied so far. When it ends (Completing, Failing, Cancelling) the report is written.

Capacity: each account and region runs at most ``JOBYARD_S3CONTROL_CONCURRENT_JOBS`` jobs at once. Waiting
jobs (Ready, Paused) start highest priority first, then oldest first; when a waiting job outranks a running
one and no slot is free, the lowest-priority running job pauses to make room (S3 user guide, "Assigning job
priority": a lower-priority job can pause while a higher-priority one runs; priorities are best effort).
Jobs holding a slot (running, or waiting with a start time) carry ``parent = "slot"``; waiting jobs without
one each have a ``s3control.queue`` entry whose id sorts by priority, then age. Both are index reads of at
most a few rows per slot, so scheduling costs the same with ten waiting jobs or a million.
"""

from __future__ import annotations

import hashlib
import math

from ...clock import US, to_datetime
from ...context import Context, Scope
from ...store import Resource
from ..base import partition
from . import report, states, tasks
from .operations import run_task
from .stored import thaw

JOB = "s3control.job"
TOKEN = "s3control.token"
QUEUE = "s3control.queue"
TASKS = "s3control.tasks"        # a chunk of a job's manifest rows
RESULTS = "s3control.results"    # one step's completion-report rows
SLOT = "slot"
MAX_PRIORITY = 2**31 - 1

RUNNING = (states.ACTIVE, states.PAUSING)
WAITING = (states.READY, states.PAUSED)

SUSPENDED_CAUSE = "The job was created with ConfirmationRequired and waits to be confirmed (UpdateJobStatus Ready)."
FAILURE_SUSPENDED_TOO_LONG = {
    "FailureCode": "SuspendedJobExpired",
    "FailureReason": "The job stayed Suspended awaiting confirmation for more than 30 days.",
}
FAILURE_THRESHOLD = {
    "FailureCode": "TaskFailureThresholdExceeded",
    "FailureReason": "More than 50 percent of the tasks run failed after at least 1,000 tasks had run.",
}
# A replication job needs a replication configuration on its source bucket, or it fails (S3 knowledge
# center, "Why does my S3 Batch Replication job fail?"); no bucket in jobyard has one. The code is S3's
# error code for a bucket without one ("List of error codes", 404); the user guide names no FailureCode for this
# job failure (checked: "Replicating existing objects with Batch Replication", "Troubleshooting Batch Operations").
FAILURE_NO_REPLICATION = {
    "FailureCode": "ReplicationConfigurationNotFoundError",
    "FailureReason": "S3ReplicateObject needs a replication configuration on the source bucket; jobyard's "
                     "buckets have none, so the job cannot replicate objects.",
}


def job_arn(job: Resource) -> str:
    return f"arn:{partition(job.region)}:s3:{job.region}:{job.account}:job/{job.id}"


def token_id(token: str) -> str:
    """The id of a ClientRequestToken's lookup resource (account and region are columns already)."""
    return hashlib.sha256(token.encode()).hexdigest()


# -- creating -----------------------------------------------------------------------------------------

# The kept count of an account's unfinished jobs (CreateJob's limit): ``add_job`` and every state change
# keep it.
UNFINISHED_JOBS = "s3control.unfinished-jobs"
_UNFINISHED = frozenset(states.UNFINISHED)


def unfinished_jobs(scope: Scope) -> int:
    return scope.counter(UNFINISHED_JOBS, JOB, states=states.UNFINISHED)


def add_job(scope: Scope, job: Resource) -> Resource:
    """Store a new job and count it."""
    scope.insert(job)
    if job.state in _UNFINISHED:
        scope.bump(UNFINISHED_JOBS, 1)
    return job


def new_job(scope: Scope, job_id: str, doc: dict, created_us: int | None = None) -> Resource:
    """A new job of ``scope`` (not stored yet), created now unless told otherwise."""
    created_us = scope.now_us if created_us is None else created_us
    doc["Entered"] = {states.NEW: created_us}
    doc["Tasks"] = {"Total": states.default_tasks(), "Known": False}
    doc["Active"] = {"Us": 0, "Since": None}
    doc["Ran"] = 0
    return scope.new(JOB, job_id, state=states.NEW, created_us=created_us, doc=doc,
                     next_due_us=created_us + int(states.stay_seconds(job_id, states.NEW, created_us) * US))


# -- moving -------------------------------------------------------------------------------------------

def _active_us(job: Resource, now_us: int) -> int:
    active = job.doc["Active"]
    running = now_us - active["Since"] if job.state == states.ACTIVE and active["Since"] is not None else 0
    return active["Us"] + max(0, running)


def _ran_after(job: Resource, active_us: int) -> int:
    """How many tasks the job's rate has run after ``active_us`` of Active time."""
    plan = job.doc["Tasks"]
    if "Rate" not in plan:
        return 0
    ran = int(max(0, active_us - plan["WarmupUs"]) * plan["Rate"] // US)
    return min(plan.get("StopAt", plan["Total"]), ran)


def _needed_us(plan: dict, tasks_run: int) -> int:
    """Active time after which the job's rate has run ``tasks_run`` tasks (a microsecond to spare, so the
    rounding of the rate never leaves the last of them out)."""
    return plan["WarmupUs"] + math.ceil(tasks_run * US / plan["Rate"]) + 1


def _next_target(plan: dict) -> int:
    """The tasks run by the job's next wake while Active: all of them, or the end of its next step."""
    if plan.get("Objects"):
        return min(plan["Total"], plan["Done"] + plan["Step"])
    return plan["StopAt"]


def _leave_active(job: Resource, at_us: int, finished: bool) -> None:
    active = job.doc["Active"]
    active["Us"] = _active_us(job, at_us)
    active["Since"] = None
    plan = job.doc["Tasks"]
    if plan.get("Objects"):
        job.doc["Ran"] = plan["Done"]   # tasks due but not yet applied run when the job is Active again
    else:
        job.doc["Ran"] = plan["StopAt"] if finished else _ran_after(job, active["Us"])


def _start_tasks(job: Resource) -> None:
    """Fix the job's task rate when it first becomes Active; a job without objects also runs its task
    outcomes then, once."""
    plan = job.doc["Tasks"]
    if "Rate" in plan:
        return
    plan.update(Rate=states.task_rate(job.id), WarmupUs=int(states.warmup_seconds(job.id) * US),
                ThresholdFailed=False)
    if plan.get("Objects"):
        plan.update(Step=states.tasks_per_step(plan["Rate"]), Done=0, Succeeded=0, Failed=0)
    else:
        outcome = tasks.plan(job)
        plan.update(Runs=outcome.runs, StopAt=outcome.stop_at, ThresholdFailed=outcome.threshold_failed)


def enter(scope: Scope, job: Resource, state: str, at_us: int, *, finished: bool = False) -> None:
    """Move ``job`` into ``state`` at ``at_us`` and set when it next moves by itself."""
    if job.state == states.ACTIVE and state != states.ACTIVE:
        _leave_active(job, at_us, finished)
    _dequeue(scope, job)
    job.parent = SLOT if state in RUNNING else ""
    scope.bump(UNFINISHED_JOBS, (state in _UNFINISHED) - (job.state in _UNFINISHED))
    job.state = state
    doc = job.doc
    doc["Entered"][state] = at_us
    if state == states.ACTIVE:
        _start_tasks(job)
        doc["Active"]["Since"] = at_us
        job.next_due_us = at_us + max(0, _needed_us(doc["Tasks"], _next_target(doc["Tasks"])) - doc["Active"]["Us"])
    elif state in states.TERMINAL:
        _drop_children(scope, job)   # its manifest rows and report rows are not needed any more
        doc["TerminationUs"] = at_us
        job.next_due_us = at_us + int(states.retention_seconds() * US)
    elif state == states.SUSPENDED:
        doc["SuspendedUs"] = at_us
        doc["SuspendedCause"] = SUSPENDED_CAUSE
        job.next_due_us = at_us + int(states.SUSPENDED_LIMIT * US)
    elif state in WAITING:
        job.next_due_us = None  # until the scheduler gives it a slot
        _enqueue(scope, job)
    elif state == states.PREPARING:
        job.next_due_us = at_us + int(states.preparing_seconds(job.id, doc["Tasks"]["Total"]) * US)
    else:
        job.next_due_us = at_us + int(states.stay_seconds(job.id, state, at_us) * US)


def _finish_preparing(ctx: Context, job: Resource) -> None:
    doc, at_us, objects = job.doc, ctx.now_us, ctx.objects
    generator = (doc.get("ManifestGenerator") or {}).get("S3JobManifestGenerator")
    writes_manifest = bool(generator and generator.get("EnableManifestOutput")
                           and generator.get("ManifestOutputLocation"))
    try:
        found = tasks.read_tasks(job, objects)
        if found is not None:
            if tasks.operation_name(doc["Operation"]) == "S3ReplicateObject":
                raise tasks.JobFailed(*FAILURE_NO_REPLICATION.values())
            if report.enabled(doc["Report"]):
                report.check_bucket(job, objects)
            if writes_manifest:
                doc["GeneratedManifestDescriptor"] = tasks.write_generated_manifest(job, found, objects, at_us)
    except tasks.JobFailed as failed:
        doc["FailureReasons"] = [failed.failure]
        enter(ctx.scope, job, states.FAILING, at_us)
        return
    if found is None:
        doc["Tasks"].update(Known=True)
        if writes_manifest:
            doc["GeneratedManifestDescriptor"] = _unwritten_manifest(job, generator["ManifestOutputLocation"])
    else:
        doc["Tasks"].update(Total=len(found), Known=True, Objects=True)
        _keep_tasks(ctx.scope, job, found)
    enter(ctx.scope, job, states.SUSPENDED if doc["ConfirmationRequired"] else states.READY, at_us)


def _unwritten_manifest(job: Resource, location: dict) -> dict:
    """Where a job without objects says its generated manifest is (nothing is written for it)."""
    prefix = location.get("ManifestPrefix", "").strip("/")
    key = "/".join(p for p in (prefix, f"job-{job.id}", "manifest.json") if p)
    return {"Format": location["ManifestFormat"],
            "Location": {"ObjectArn": f"{location['Bucket']}/{key}",
                         "ETag": hashlib.md5(f"{job.id}/generated-manifest".encode()).hexdigest()}}


# -- tasks that act on objects --------------------------------------------------------------------------

def _chunk_id(job: Resource, chunk: int) -> str:
    return f"{job.id}/{chunk:08d}"


def _keep_tasks(scope: Scope, job: Resource, found: list[tasks.Task]) -> None:
    size = states.MAX_TASKS_PER_STEP
    scope.tx.insert_many(scope.new(TASKS, _chunk_id(job, n // size), parent=job.id, created_us=job.created_us,
                                   doc={"rows": found[n:n + size]})
                         for n in range(0, len(found), size))


def _tasks_between(scope: Scope, job: Resource, first: int, end: int):
    """(chunk, task) for the tasks numbered ``first`` to ``end`` - 1 (at most two chunks: a step is no
    larger than a chunk)."""
    size = states.MAX_TASKS_PER_STEP
    for chunk in range(first // size, (end - 1) // size + 1):
        rows = scope.get(TASKS, _chunk_id(job, chunk)).doc["rows"]
        low, high = max(first, chunk * size), min(end, (chunk + 1) * size)
        for task in rows[low - chunk * size:high - chunk * size]:
            yield chunk, task


def _run_step(ctx: Context, job: Resource) -> None:
    """Apply the tasks due now (at most one step's worth) to their objects."""
    scope, at_us = ctx.scope, ctx.now_us
    doc, plan = job.doc, job.doc["Tasks"]
    first = done = plan["Done"]
    due = min(_ran_after(job, _active_us(job, at_us)), first + states.MAX_TASKS_PER_STEP)
    rows = {report.SUCCEEDED: [], report.FAILED: []}
    read_chunks = set()
    for chunk, task in _tasks_between(scope, job, first, due) if due > first else ():
        read_chunks.add(chunk)
        result = run_task(doc["Operation"], task, ctx.objects)
        done += 1
        plan["Succeeded" if result.succeeded else "Failed"] += 1
        if report.keeps(doc["Report"], result):
            rows[report.SUCCEEDED if result.succeeded else report.FAILED].append(report.row(task, result))
        if done >= states.FAILURE_THRESHOLD_MIN_TASKS and plan["Failed"] > done * states.FAILURE_THRESHOLD_RATE:
            plan["ThresholdFailed"] = True
            break
    plan["Done"] = done
    if rows[report.SUCCEEDED] or rows[report.FAILED]:
        scope.add(RESULTS, f"{job.id}/{first:012d}", parent=job.id,
                  doc={k: "".join(v) for k, v in rows.items() if v})
    for chunk in read_chunks:   # chunks whose tasks have all run are not needed again
        if (chunk + 1) * states.MAX_TASKS_PER_STEP <= done or done >= plan["Total"]:
            scope.delete(scope.get(TASKS, _chunk_id(job, chunk)))


def _next_step_due(job: Resource, at_us: int, progressed: bool) -> int:
    plan, active = job.doc["Tasks"], job.doc["Active"]
    due = active["Since"] + _needed_us(plan, _next_target(plan)) - active["Us"]
    return max(due, at_us if progressed else at_us + 1)


def _advance_active(ctx: Context, job: Resource) -> bool:
    """The job's next Active wake; True when it has stopped being Active."""
    plan, at_us = job.doc["Tasks"], ctx.now_us
    if plan.get("Objects"):
        before = plan["Done"]
        _run_step(ctx, job)
        if not plan["ThresholdFailed"] and plan["Done"] < plan["Total"]:
            job.next_due_us = _next_step_due(job, at_us, plan["Done"] > before)
            return False
    if plan["ThresholdFailed"]:
        job.doc["FailureReasons"] = [FAILURE_THRESHOLD]
        enter(ctx.scope, job, states.FAILING, at_us, finished=True)
    else:
        enter(ctx.scope, job, states.COMPLETING, at_us, finished=True)
    return True


def _finish(ctx: Context, job: Resource) -> str:
    """The end of Completing, Failing or Cancelling: write the completion report of a job whose tasks acted
    on objects (when at least one ran), and say the state the job ends in."""
    final = {states.COMPLETING: states.COMPLETE, states.FAILING: states.FAILED,
             states.CANCELLING: states.CANCELLED}[job.state]
    doc = job.doc
    if not doc["Tasks"].get("Objects"):
        return final
    if report.enabled(doc["Report"]) and doc["Tasks"].get("Done", 0) > 0:
        try:
            report.write(job, ctx.scope.children(RESULTS, job.id), ctx.objects, ctx.now_us)
        except tasks.JobFailed as failed:
            doc["FailureReasons"] = [*doc.get("FailureReasons", []), failed.failure]
            final = states.FAILED
    return final


def _drop_children(scope: Scope, job: Resource) -> None:
    for kind in (TASKS, RESULTS):
        for child in scope.children(kind, job.id):
            scope.delete(child)


def _report_pending(job: Resource) -> bool:
    plan = job.doc["Tasks"]
    return bool(plan.get("Objects") and plan.get("Done") and report.enabled(job.doc["Report"]))


def advance(ctx: Context, job: Resource) -> list[Resource]:
    """The transition handler: the job's stay in its state is over (``ctx.now_us``: when it ended)."""
    scope, at_us, state = ctx.scope, ctx.now_us, job.state
    if state in states.TERMINAL:
        # The retention window has passed: the job is gone (DescribeJob answers NotFound from now on).
        delete(scope, job)
        job.next_due_us = None
        return []
    if state == states.NEW:
        enter(scope, job, states.PREPARING, at_us)
        return []
    if state == states.PREPARING:
        _finish_preparing(ctx, job)
    elif state == states.SUSPENDED:
        job.doc["FailureReasons"] = [FAILURE_SUSPENDED_TOO_LONG]
        enter(scope, job, states.FAILED, at_us)
        return []
    elif state in WAITING:
        enter(scope, job, states.ACTIVE, at_us)        # the start time of its slot has come
        return []
    elif state == states.ACTIVE:
        if not _advance_active(ctx, job):
            return []
    elif state == states.PAUSING:
        enter(scope, job, states.PAUSED, at_us)
    else:
        enter(scope, job, _finish(ctx, job), at_us)
    return schedule(scope, at_us, job)


def cancel(scope: Scope, job: Resource, at_us: int) -> None:
    # A paused job whose tasks ran still has its completion report to write: it goes through Cancelling.
    at_once = job.state in states.CANCEL_AT_ONCE and not _report_pending(job)
    enter(scope, job, states.CANCELLED if at_once else states.CANCELLING, at_us)


def set_priority(scope: Scope, job: Resource, priority: int) -> None:
    queued = job.doc.get("QueueId") is not None
    _dequeue(scope, job)
    job.doc["Priority"] = priority
    if queued:
        _enqueue(scope, job)


def delete(scope: Scope, job: Resource) -> None:
    if job.state in _UNFINISHED:
        scope.bump(UNFINISHED_JOBS, -1)
    _dequeue(scope, job)
    _drop_children(scope, job)
    scope.delete(job)
    token = job.doc.get("TokenId")
    if token:
        lookup = scope.get(TOKEN, token)
        if lookup is not None:
            scope.delete(lookup)


# -- sharing capacity ---------------------------------------------------------------------------------

def _queue_id(job: Resource) -> str:
    # Ascending ids: highest priority first, then oldest, then by job id.
    return f"{MAX_PRIORITY - job.doc['Priority']:010d}.{job.created_us:020d}.{job.id}"


def _enqueue(scope: Scope, job: Resource) -> None:
    entry = scope.add(QUEUE, _queue_id(job), created_us=job.created_us, doc={"JobId": job.id})
    job.doc["QueueId"] = entry.id


def _dequeue(scope: Scope, job: Resource) -> None:
    entry_id = job.doc.pop("QueueId", None)
    if entry_id is not None:
        entry = scope.get(QUEUE, entry_id)
        if entry is not None:
            scope.delete(entry)


def schedule(scope: Scope, at_us: int, current: Resource | None = None) -> list[Resource]:
    """Start waiting jobs in free slots and pause lower-priority running jobs for higher-priority waiting ones.

    ``current`` is a job the caller holds and saves itself (its changes may not be stored yet); the other
    jobs changed here are saved and returned.
    """
    def load(job_id: str) -> Resource:
        return current if current is not None and current.id == job_id else scope.get(JOB, job_id)

    holders = [j for j in scope.children(JOB, SLOT) if current is None or j.id != current.id]
    if current is not None and current.parent == SLOT:
        holders.append(current)
    slots = states.concurrent_jobs()
    free = max(0, slots - len(holders))
    entries, _ = scope.rows(QUEUE, limit=free + len(holders), by="id", parent="")
    waiting = [load(e.doc["JobId"]) for e in entries]
    changed: list[Resource] = []
    for job in waiting[:free]:
        _dequeue(scope, job)
        job.parent = SLOT
        job.next_due_us = at_us + int(states.stay_seconds(job.id, job.state, at_us) * US)
        changed.append(job)
    # Jobs already pausing make room for the next waiting jobs; each further one that outranks a running
    # job pauses the lowest-priority (then newest) running job.
    running = sorted((j for j in holders if j.state == states.ACTIVE),
                     key=lambda j: (j.doc["Priority"], -j.created_us))
    pausing = sum(1 for j in holders if j.state == states.PAUSING)
    for candidate in waiting[free + pausing:]:
        if not running or running[0].doc["Priority"] >= candidate.doc["Priority"]:
            break
        victim = running.pop(0)
        enter(scope, victim, states.PAUSING, at_us)
        changed.append(victim)
    others = [j for j in changed if current is None or j.id != current.id]
    for job in others:
        scope.save(job)
    return others


# -- reading back -------------------------------------------------------------------------------------

def progress_summary(job: Resource, now_us: int) -> dict:
    doc = job.doc
    plan = doc["Tasks"]
    active_us = _active_us(job, now_us)
    if plan.get("Objects"):
        succeeded, failed = plan.get("Succeeded", 0), plan.get("Failed", 0)
    else:
        ran = _ran_after(job, active_us) if job.state == states.ACTIVE else doc["Ran"]
        succeeded, failed = tasks.counts(plan.get("Runs", []), ran)
    return {"TotalNumberOfTasks": plan["Total"] if plan["Known"] else 0,
            "NumberOfTasksSucceeded": succeeded, "NumberOfTasksFailed": failed,
            "Timers": {"ElapsedTimeInActiveSeconds": active_us // US}}


def list_entry(job: Resource, now_us: int) -> dict:
    doc = job.doc
    entry = {"JobId": job.id, "Operation": tasks.operation_name(doc["Operation"]), "Priority": doc["Priority"],
             "Status": job.state, "CreationTime": to_datetime(job.created_us),
             "ProgressSummary": progress_summary(job, now_us)}
    if doc.get("Description"):
        entry["Description"] = doc["Description"]
    if doc.get("TerminationUs") is not None:
        entry["TerminationDate"] = to_datetime(doc["TerminationUs"])
    return entry


def descriptor(job: Resource, now_us: int) -> dict:
    """JobDescriptor as DescribeJob returns it."""
    doc = job.doc
    out = {"JobId": job.id, "ConfirmationRequired": doc["ConfirmationRequired"], "JobArn": job_arn(job),
           "Status": job.state, "Operation": thaw(doc["Operation"]), "Priority": doc["Priority"],
           "ProgressSummary": progress_summary(job, now_us), "FailureReasons": doc.get("FailureReasons", []),
           "Report": thaw(doc["Report"]), "CreationTime": to_datetime(job.created_us), "RoleArn": doc["RoleArn"]}
    for member in ("Description", "StatusUpdateReason", "SuspendedCause", "GeneratedManifestDescriptor"):
        if doc.get(member):
            out[member] = doc[member]
    for member in ("Manifest", "ManifestGenerator"):
        if doc.get(member):
            out[member] = thaw(doc[member])
    if doc.get("TerminationUs") is not None:
        out["TerminationDate"] = to_datetime(doc["TerminationUs"])
    if doc.get("SuspendedUs") is not None:
        out["SuspendedDate"] = to_datetime(doc["SuspendedUs"])
    return out
