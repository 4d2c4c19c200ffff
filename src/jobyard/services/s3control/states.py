"""S3 Batch Operations job statuses, their timing on the simulated clock, and the settings that shape them.

Statuses (S3 user guide, "Tracking job status"):

    New → Preparing → Ready → Active → Completing → Complete
                    ↘ Suspended (awaiting confirmation) → Ready          (UpdateJobStatus Ready)
                      Suspended for more than 30 days → Failed
    Active ⇄ Pausing → Paused → Active                                  (a higher-priority job needs the capacity)
    Active → Failing → Failed                                           (task-failure threshold)
    New/Preparing/Suspended/Ready/Active/Pausing/Paused → [Cancelling →] Cancelled   (UpdateJobStatus Cancelled)

AWS publishes no durations for these steps (the user guide's "Job statuses" page says what moves a job on,
never how soon); the ranges below are plausible ones, each drawn
per job from its id so that runs repeat.
"""

from __future__ import annotations

import logging
import os

from ...lifecycle import draw_seconds

log = logging.getLogger("jobyard.s3control")

MINUTE = 60.0
DAY = 86400.0

NEW, PREPARING, SUSPENDED, READY, ACTIVE = "New", "Preparing", "Suspended", "Ready", "Active"
PAUSING, PAUSED, COMPLETING, COMPLETE = "Pausing", "Paused", "Completing", "Complete"
CANCELLING, CANCELLED, FAILING, FAILED = "Cancelling", "Cancelled", "Failing", "Failed"

ALL = (NEW, PREPARING, SUSPENDED, READY, ACTIVE, PAUSING, PAUSED, COMPLETING, COMPLETE, CANCELLING, CANCELLED,
       FAILING, FAILED)
TERMINAL = frozenset({COMPLETE, CANCELLED, FAILED})
UNFINISHED = tuple(s for s in ALL if s not in TERMINAL)

# UpdateJobStatus Cancelled: states where nothing runs stop at once (the AWS CLI example cancels a Suspended
# job straight to Cancelled); states with work in flight go through Cancelling first.
CANCEL_AT_ONCE = frozenset({NEW, SUSPENDED, READY, PAUSED})
CANCEL_GRADUALLY = frozenset({PREPARING, ACTIVE, PAUSING})

# How long a job stays in a state before it moves on by itself, (low, high) seconds.
STAY: dict[str, tuple[float, float]] = {
    NEW: (5.0, 30.0),                    # until S3 starts reading the manifest
    PREPARING: (30.0, 2 * MINUTE),       # reading the manifest (plus a little per task, see preparing_seconds)
    READY: (5.0, 30.0),                  # from getting a slot to running
    PAUSED: (5.0, 30.0),                 # from getting a slot back to running again
    PAUSING: (5.0, 30.0),
    COMPLETING: (10.0, MINUTE),          # writing the completion report
    CANCELLING: (5.0, 30.0),
    FAILING: (5.0, 30.0),
}
MANIFEST_TASKS_PER_SECOND = 50_000.0
ACTIVE_WARMUP = (10.0, 40.0)             # Active before the first task finishes
TASKS_PER_SECOND = (10.0, 50.0)          # a job's task rate once running
# Tasks that act on objects run in steps: each step applies the tasks of about STEP_SECONDS of Active time,
# never more than MAX_TASKS_PER_STEP, so no single transition does unbounded object work.
STEP_SECONDS = 5.0
MAX_TASKS_PER_STEP = 1000

SUSPENDED_LIMIT = 30 * DAY               # "a job left suspended for more than 30 days fails"
FAILURE_THRESHOLD_MIN_TASKS = 1000       # the failure rate is watched once this many tasks have run ...
FAILURE_THRESHOLD_RATE = 0.5             # ... and the job fails when more than this share of them failed

# Settings, read from the environment when they apply (documented in the README).
RETENTION_ENV = "JOBYARD_S3CONTROL_RETENTION_DAYS"
DEFAULT_TASKS_ENV = "JOBYARD_S3CONTROL_DEFAULT_TASKS"
CONCURRENT_JOBS_ENV = "JOBYARD_S3CONTROL_CONCURRENT_JOBS"
MAX_UNFINISHED_ENV = "JOBYARD_S3CONTROL_MAX_UNFINISHED_JOBS"

DEFAULT_RETENTION_DAYS = 90.0    # ended jobs stay listed and describable this long, then are deleted
DEFAULT_TASKS = 10               # tasks per job while jobyard cannot read the manifest's objects
# Neither figure is published: the user guide ("Assigning job priority") says only that a lower-priority job can
# pause for a higher one, and no quotas page names a job count for Batch Operations. Both are jobyard's.
DEFAULT_CONCURRENT_JOBS = 4      # jobs of one account and region that run at once
DEFAULT_MAX_UNFINISHED_JOBS = 10_000  # unfinished jobs an account may have before CreateJob is throttled


def _number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        # A bad setting must not break requests: say so and carry on with the default.
        log.warning("ignoring %s=%r: expected a number >= %g; using %g", name, raw, minimum, default)
        return default
    return value


def retention_seconds() -> float:
    return _number(RETENTION_ENV, DEFAULT_RETENTION_DAYS, 0) * DAY


def default_tasks() -> int:
    return int(_number(DEFAULT_TASKS_ENV, DEFAULT_TASKS, 0))


def concurrent_jobs() -> int:
    return int(_number(CONCURRENT_JOBS_ENV, DEFAULT_CONCURRENT_JOBS, 1))


def max_unfinished_jobs() -> int:
    return int(_number(MAX_UNFINISHED_ENV, DEFAULT_MAX_UNFINISHED_JOBS, 1))


def stay_seconds(job_id: str, state: str, entered_us: int) -> float:
    """How long the job stays in ``state`` entered at ``entered_us`` (seeded by the job id and the visit)."""
    low, high = STAY[state]
    return draw_seconds(job_id, f"{state}@{entered_us}", low, high)


def preparing_seconds(job_id: str, tasks: int) -> float:
    low, high = STAY[PREPARING]
    return draw_seconds(job_id, PREPARING, low, high) + tasks / MANIFEST_TASKS_PER_SECOND


def task_rate(job_id: str) -> float:
    return draw_seconds(job_id, "task-rate", *TASKS_PER_SECOND)


def tasks_per_step(rate: float) -> int:
    return max(1, min(MAX_TASKS_PER_STEP, round(rate * STEP_SECONDS)))


def warmup_seconds(job_id: str) -> float:
    return draw_seconds(job_id, "warm-up", *ACTIVE_WARMUP)
