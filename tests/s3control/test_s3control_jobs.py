"""Batch Operations jobs through boto3: creation, the state machine on the simulated clock, status changes."""

import re
import uuid
from datetime import datetime, timedelta, timezone

from s3control_helpers import (DAY, HOUR, LAMBDA, MANIFEST, MINUTE, REPORT, ROLE, TAGGING, advance_until,
                               create_job, describe, expect_error, status)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_create_and_describe(s3c, account):
    job_id = create_job(s3c, account, Description="tag the photos", Priority=42)
    assert UUID.fullmatch(job_id)
    job = describe(s3c, account, job_id)
    assert job["JobId"] == job_id and job["Status"] == "New"
    assert job["JobArn"] == f"arn:aws:s3:us-east-1:{account}:job/{job_id}"
    assert job["Operation"] == TAGGING and job["Manifest"] == MANIFEST and job["Report"] == REPORT
    assert job["Priority"] == 42 and job["RoleArn"] == ROLE and job["Description"] == "tag the photos"
    assert job["ConfirmationRequired"] is False
    assert job["FailureReasons"] == []
    assert job["ProgressSummary"] == {"TotalNumberOfTasks": 0, "NumberOfTasksSucceeded": 0,
                                      "NumberOfTasksFailed": 0, "Timers": {"ElapsedTimeInActiveSeconds": 0}}
    assert isinstance(job["CreationTime"], datetime)
    for absent in ("TerminationDate", "SuspendedDate", "StatusUpdateReason"):
        assert absent not in job


def test_job_runs_to_complete(server, s3c, account):
    job_id = create_job(s3c, account)
    seen = advance_until(server, s3c, account, job_id, "Complete", step=4)
    assert seen == ["New", "Preparing", "Ready", "Active", "Completing", "Complete"]
    job = describe(s3c, account, job_id)
    progress = job["ProgressSummary"]
    assert progress["TotalNumberOfTasks"] == progress["NumberOfTasksSucceeded"] == 10   # the documented default
    assert progress["NumberOfTasksFailed"] == 0
    assert progress["Timers"]["ElapsedTimeInActiveSeconds"] > 0
    assert job["TerminationDate"] >= job["CreationTime"]
    assert job["FailureReasons"] == []


def test_progress_grows_while_active(server, s3c, account, settings):
    settings(default_tasks=5000)   # 100 to 500 simulated seconds of tasks
    job_id = create_job(s3c, account)
    advance_until(server, s3c, account, job_id, "Active", step=4)
    readings = []
    while status(s3c, account, job_id) == "Active":
        readings.append(describe(s3c, account, job_id)["ProgressSummary"])
        server.advance(30)
    done = [r["NumberOfTasksSucceeded"] for r in readings]
    assert done == sorted(done) and done[0] < done[-1] < 5000
    assert all(r["TotalNumberOfTasks"] == 5000 for r in readings)
    elapsed = [r["Timers"]["ElapsedTimeInActiveSeconds"] for r in readings]
    assert elapsed == sorted(elapsed) and elapsed[-1] - elapsed[0] == 30 * (len(elapsed) - 1)
    advance_until(server, s3c, account, job_id, "Complete", step=30)
    assert describe(s3c, account, job_id)["ProgressSummary"]["NumberOfTasksSucceeded"] == 5000


def test_confirmation_omitted_waits_suspended_until_confirmed(server, s3c, account):
    job_id = create_job(s3c, account, ConfirmationRequired=None)
    advance_until(server, s3c, account, job_id, "Suspended", step=4)
    job = describe(s3c, account, job_id)
    assert job["ConfirmationRequired"] is True
    assert job["SuspendedCause"] and isinstance(job["SuspendedDate"], datetime)
    assert job["ProgressSummary"]["TotalNumberOfTasks"] == 10
    server.advance(DAY)
    assert status(s3c, account, job_id) == "Suspended"   # waits for the user
    answer = s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Ready",
                                   StatusUpdateReason="checked the manifest")
    assert (answer["JobId"], answer["Status"]) == (job_id, "Ready")
    assert answer["StatusUpdateReason"] == "checked the manifest"
    seen = advance_until(server, s3c, account, job_id, "Complete", step=4)
    assert seen == ["Ready", "Active", "Completing", "Complete"]
    job = describe(s3c, account, job_id)
    assert job["StatusUpdateReason"] == "checked the manifest" and "SuspendedDate" in job


def test_suspended_job_fails_after_30_days(server, s3c, account):
    job_id = create_job(s3c, account, ConfirmationRequired=True)
    advance_until(server, s3c, account, job_id, "Suspended", step=4)
    suspended_at = describe(s3c, account, job_id)["SuspendedDate"]
    server.advance(29 * DAY)
    assert status(s3c, account, job_id) == "Suspended"
    server.advance(DAY + MINUTE)
    job = describe(s3c, account, job_id)
    assert job["Status"] == "Failed"
    assert job["TerminationDate"] - suspended_at == timedelta(days=30)
    [failure] = job["FailureReasons"]
    assert failure["FailureCode"] and "30 days" in failure["FailureReason"]


def test_confirm_is_only_for_suspended_jobs(server, s3c, account):
    job_id = create_job(s3c, account)
    expect_error(s3c, "UpdateJobStatus", "JobStatusException", 409, AccountId=account, JobId=job_id,
                 RequestedJobStatus="Ready")
    advance_until(server, s3c, account, job_id, "Complete", step=4)
    expect_error(s3c, "UpdateJobStatus", "JobStatusException", 409, AccountId=account, JobId=job_id,
                 RequestedJobStatus="Ready")


def test_cancel_waiting_job_is_immediate(server, s3c, account):
    job_id = create_job(s3c, account, ConfirmationRequired=True)
    advance_until(server, s3c, account, job_id, "Suspended", step=4)
    answer = s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Cancelled")
    assert answer["Status"] == "Cancelled" and "StatusUpdateReason" not in answer
    job = describe(s3c, account, job_id)
    assert job["Status"] == "Cancelled" and "TerminationDate" in job
    assert job["ProgressSummary"]["NumberOfTasksSucceeded"] == 0


def test_cancel_active_job_goes_through_cancelling(server, s3c, account, settings):
    settings(default_tasks=5000)
    job_id = create_job(s3c, account)
    advance_until(server, s3c, account, job_id, "Active", step=4)
    server.advance(60)
    answer = s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Cancelled",
                                   StatusUpdateReason="No longer needed")
    assert answer["Status"] == "Cancelling" and answer["StatusUpdateReason"] == "No longer needed"
    at_cancel = describe(s3c, account, job_id)["ProgressSummary"]
    assert 0 < at_cancel["NumberOfTasksSucceeded"] < 5000
    advance_until(server, s3c, account, job_id, "Cancelled", step=4, limit=HOUR)
    server.advance(HOUR)
    job = describe(s3c, account, job_id)
    assert job["ProgressSummary"] == at_cancel   # nothing ran after the cancel
    assert job["StatusUpdateReason"] == "No longer needed"


def test_finished_jobs_cannot_be_cancelled(server, s3c, account):
    done = create_job(s3c, account)
    advance_until(server, s3c, account, done, "Complete", step=4)
    cancelled = create_job(s3c, account)
    s3c.update_job_status(AccountId=account, JobId=cancelled, RequestedJobStatus="Cancelled")
    for job_id in (done, cancelled):
        error = expect_error(s3c, "UpdateJobStatus", "JobStatusException", 409, AccountId=account, JobId=job_id,
                             RequestedJobStatus="Cancelled")
        assert job_id in error.response["Error"]["Message"]


def test_unknown_job(s3c, account):
    missing = str(uuid.uuid4())
    for operation, extra in [("DescribeJob", {}), ("UpdateJobPriority", {"Priority": 1}),
                             ("UpdateJobStatus", {"RequestedJobStatus": "Cancelled"}), ("GetJobTagging", {}),
                             ("PutJobTagging", {"Tags": []}), ("DeleteJobTagging", {})]:
        expect_error(s3c, operation, "NotFoundException", 404, AccountId=account, JobId=missing, **extra)


def test_malformed_job_id_is_a_bad_request(raw_s3c, account):
    expect_error(raw_s3c, "DescribeJob", "BadRequestException", 400, AccountId=account, JobId="abc")
    expect_error(raw_s3c, "UpdateJobStatus", "BadRequestException", 400, AccountId=account, JobId="bad*id",
                 RequestedJobStatus="Cancelled")
    expect_error(raw_s3c, "UpdateJobStatus", "BadRequestException", 400, AccountId=account,
                 JobId=str(uuid.uuid4()), RequestedJobStatus="Active")


def test_lambda_tasks_fail_but_small_jobs_still_complete(server, s3c, account):
    # The failure threshold only applies once 1,000 tasks have run: 10 failed tasks leave the job Complete.
    job_id = create_job(s3c, account, operation=LAMBDA)
    advance_until(server, s3c, account, job_id, "Complete", step=4)
    progress = describe(s3c, account, job_id)["ProgressSummary"]
    assert (progress["NumberOfTasksSucceeded"], progress["NumberOfTasksFailed"]) == (0, 10)


def test_more_than_half_of_1000_tasks_failing_fails_the_job(server, s3c, account, settings):
    settings(default_tasks=3000)
    job_id = create_job(s3c, account, operation=LAMBDA)
    seen = advance_until(server, s3c, account, job_id, "Failed", step=4, limit=DAY)
    assert seen[-3:] == ["Active", "Failing", "Failed"]
    job = describe(s3c, account, job_id)
    progress = job["ProgressSummary"]
    assert progress["TotalNumberOfTasks"] == 3000
    assert (progress["NumberOfTasksSucceeded"], progress["NumberOfTasksFailed"]) == (0, 1000)
    [failure] = job["FailureReasons"]
    assert failure["FailureCode"] and "50 percent" in failure["FailureReason"]
    assert "TerminationDate" in job


def test_idempotent_create(s3c, account):
    token = str(uuid.uuid4())
    first = create_job(s3c, account, ClientRequestToken=token, Description="once")
    again = create_job(s3c, account, ClientRequestToken=token, Description="once")
    assert again == first
    assert [j["JobId"] for j in s3c.list_jobs(AccountId=account)["Jobs"]] == [first]
    expect_error(s3c, "CreateJob", "IdempotencyException", 409, AccountId=account, Operation=TAGGING,
                 Manifest=MANIFEST, Report=REPORT, Priority=10, RoleArn=ROLE, ClientRequestToken=token,
                 ConfirmationRequired=False, Description="twice")
    assert len(s3c.list_jobs(AccountId=account)["Jobs"]) == 1


def test_update_priority(server, s3c, raw_s3c, account):
    job_id = create_job(s3c, account, Priority=1)
    answer = s3c.update_job_priority(AccountId=account, JobId=job_id, Priority=2147483647)
    assert (answer["JobId"], answer["Priority"]) == (job_id, 2147483647)
    assert describe(s3c, account, job_id)["Priority"] == 2147483647
    assert s3c.list_jobs(AccountId=account)["Jobs"][0]["Priority"] == 2147483647
    expect_error(raw_s3c, "UpdateJobPriority", "BadRequestException", 400, AccountId=account, JobId=job_id,
                 Priority=-1)
    advance_until(server, s3c, account, job_id, "Complete", step=4)
    expect_error(s3c, "UpdateJobPriority", "BadRequestException", 400, AccountId=account, JobId=job_id, Priority=5)


def test_higher_priority_job_pauses_a_running_one(server, s3c, account, settings):
    settings(concurrent_jobs=1, default_tasks=20000)   # one slot; minutes of tasks each
    low = create_job(s3c, account, Priority=1, Description="low")
    advance_until(server, s3c, account, low, "Active", step=4)
    server.advance(60)
    high = create_job(s3c, account, Priority=100, Description="high")
    advance_until(server, s3c, account, high, "Ready", step=4)
    assert status(s3c, account, low) == "Pausing"   # makes room as soon as the higher-priority job is Ready
    advance_until(server, s3c, account, low, "Paused", step=4, limit=HOUR)
    paused = describe(s3c, account, low)["ProgressSummary"]
    advance_until(server, s3c, account, high, "Active", step=4, limit=HOUR)
    server.advance(2 * MINUTE)
    assert status(s3c, account, high) == "Active"
    assert describe(s3c, account, low)["ProgressSummary"] == paused      # no progress while paused
    advance_until(server, s3c, account, high, "Complete", step=60, limit=DAY)
    advance_until(server, s3c, account, low, "Complete", step=60, limit=DAY)
    low_job, high_job = describe(s3c, account, low), describe(s3c, account, high)
    assert low_job["ProgressSummary"]["NumberOfTasksSucceeded"] == 20000
    assert low_job["TerminationDate"] > high_job["TerminationDate"]
    # Time spent Pausing or Paused is not Active time.
    active = low_job["ProgressSummary"]["Timers"]["ElapsedTimeInActiveSeconds"]
    assert active < (low_job["TerminationDate"] - low_job["CreationTime"]).total_seconds() - 2 * MINUTE


def _blocking_job(server, s3c, account, settings) -> str:
    """One slot, taken by a job that runs for hours; jobs created afterwards have the default 10 tasks."""
    settings(concurrent_jobs=1, default_tasks=1_000_000)
    blocker = create_job(s3c, account, Priority=5)
    advance_until(server, s3c, account, blocker, "Active", step=4)
    settings(default_tasks=10)    # the task count is fixed when a job is created
    return blocker


def _start_order(server, s3c, account, job_ids) -> list[str]:
    """The order in which the jobs begin to run (a slot frees when a job starts Completing)."""
    started: list[str] = []
    for _ in range(2000):
        for job_id in job_ids:
            if job_id not in started and status(s3c, account, job_id) in ("Active", "Completing", "Complete"):
                started.append(job_id)
        if len(started) == len(job_ids):
            return started
        server.advance(4)   # shorter than any job stays Active, so no two start unseen in one step
    raise AssertionError(f"only {started} of {job_ids} started")


def test_waiting_jobs_start_by_priority(server, s3c, account, settings):
    blocker = _blocking_job(server, s3c, account, settings)
    later = [create_job(s3c, account, Priority=p) for p in (1, 3, 2)]
    for job_id in later:
        advance_until(server, s3c, account, job_id, "Ready", step=4)
    server.advance(HOUR)
    assert [status(s3c, account, j) for j in later] == ["Ready"] * 3
    assert status(s3c, account, blocker) == "Active"
    s3c.update_job_status(AccountId=account, JobId=blocker, RequestedJobStatus="Cancelled")
    order = _start_order(server, s3c, account, later)
    assert [describe(s3c, account, j)["Priority"] for j in order] == [3, 2, 1]


def test_priority_change_reorders_waiting_jobs(server, s3c, account, settings):
    blocker = _blocking_job(server, s3c, account, settings)
    a, b = create_job(s3c, account, Priority=2), create_job(s3c, account, Priority=1)
    for job_id in (a, b):
        advance_until(server, s3c, account, job_id, "Ready", step=4)
    s3c.update_job_priority(AccountId=account, JobId=b, Priority=9)
    s3c.update_job_status(AccountId=account, JobId=blocker, RequestedJobStatus="Cancelled")
    assert _start_order(server, s3c, account, [a, b]) == [b, a]


def test_ended_jobs_are_kept_for_90_days(server, s3c, account):
    job_id = create_job(s3c, account)
    advance_until(server, s3c, account, job_id, "Complete", step=4)
    server.advance(89 * DAY)
    assert status(s3c, account, job_id) == "Complete"
    assert [j["JobId"] for j in s3c.list_jobs(AccountId=account)["Jobs"]] == [job_id]
    server.advance(DAY)
    expect_error(s3c, "DescribeJob", "NotFoundException", 404, AccountId=account, JobId=job_id)
    assert s3c.list_jobs(AccountId=account)["Jobs"] == []


def test_retention_window_is_configurable(server, s3c, account, settings):
    settings(retention_days=1)
    job_id = create_job(s3c, account)
    s3c.update_job_status(AccountId=account, JobId=job_id, RequestedJobStatus="Cancelled")
    server.advance(DAY - MINUTE)
    assert status(s3c, account, job_id) == "Cancelled"
    server.advance(2 * MINUTE)
    expect_error(s3c, "DescribeJob", "NotFoundException", 404, AccountId=account, JobId=job_id)


def test_token_of_a_deleted_job_makes_a_new_job(server, s3c, account, settings):
    settings(retention_days=1)
    token = str(uuid.uuid4())
    first = create_job(s3c, account, ClientRequestToken=token)
    s3c.update_job_status(AccountId=account, JobId=first, RequestedJobStatus="Cancelled")
    server.advance(2 * DAY)
    second = create_job(s3c, account, ClientRequestToken=token)
    assert second != first and status(s3c, account, second) == "New"


def test_too_many_unfinished_jobs_is_throttled(s3c, account, settings):
    settings(max_unfinished_jobs=2)
    first = create_job(s3c, account)
    create_job(s3c, account)
    expect_error(s3c, "CreateJob", "TooManyRequestsException", 429, AccountId=account, Operation=TAGGING,
                 Manifest=MANIFEST, Report=REPORT, Priority=1, RoleArn=ROLE, ConfirmationRequired=False)
    s3c.update_job_status(AccountId=account, JobId=first, RequestedJobStatus="Cancelled")
    create_job(s3c, account)   # a finished job frees its place


def test_timestamps_in_operations_round_trip(s3c, account):
    until = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    operation = {"S3PutObjectRetention": {"BypassGovernanceRetention": True,
                                          "Retention": {"RetainUntilDate": until, "Mode": "GOVERNANCE"}}}
    job_id = create_job(s3c, account, operation=operation)
    retention = describe(s3c, account, job_id)["Operation"]["S3PutObjectRetention"]
    assert retention["Retention"]["RetainUntilDate"] == until and retention["BypassGovernanceRetention"] is True
