"""The job state machine over a real store: one clock jump lands every job where small steps would, even
when jobs pause and resume one another for capacity."""

from jobyard.config import Config
from jobyard.server import Emulator
from jobyard.services.s3control import jobs, states
from jobyard.services.s3control.errors import ERRORS

ACCOUNT, REGION = "111122223333", "us-east-1"
START = 1_700_000_000 * 1_000_000
SECOND = 1_000_000

LAMBDA = {"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}}
TAGGING = {"S3PutObjectTagging": {"TagSet": []}}
# A manifest in a bucket jobyard does not hold: the jobs get the default number of tasks, with no objects.
MANIFEST = {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": "arn:aws:s3:::elsewhere/manifest.csv", "ETag": "0" * 32}}


def emulator_with_jobs(path, settings) -> Emulator:
    """Jobs created a minute apart: rising priorities (so later ones pause earlier ones), one LambdaInvoke job
    big enough to hit the failure threshold, one awaiting confirmation."""
    em = Emulator(Config(data_dir=str(path), time_scale=0))
    with em.runtime.unit(ACCOUNT, REGION, "CreateJob", service="s3control", errors=ERRORS,
                         now_us=START - SECOND) as ctx:
        for n in range(8):
            settings(default_tasks=3000 if n == 3 else 20_000)
            doc = {"Operation": LAMBDA if n == 3 else TAGGING, "Priority": n, "ConfirmationRequired": n == 5,
                   "Manifest": MANIFEST, "Report": {"Enabled": False}, "RoleArn": "arn:aws:iam::111122223333:role/r",
                   "Tags": []}
            job_id = f"00000000-0000-4000-8000-{n:012d}"
            ctx.scope.insert(jobs.new_job(ctx.scope, job_id, doc, created_us=START + n * 60 * SECOND))
    return em


def catch_up(em: Emulator, now_us: int) -> None:
    with em.runtime.unit(ACCOUNT, REGION, None, service="s3control", errors=ERRORS, now_us=now_us):
        pass   # a unit of work applies every transition due by its instant before anything else


def snapshot(em: Emulator):
    with em.store.transaction() as tx:
        rows = tx.page(jobs.JOB, ACCOUNT, REGION, limit=100)[0]
        queue = tx.page(jobs.QUEUE, ACCOUNT, REGION, limit=100, by="id", parent="")[0]
    return ([(r.id, r.state, r.parent, r.next_due_us, sorted(r.doc["Entered"].items()), r.doc["Active"], r.doc["Ran"])
             for r in rows], [q.id for q in queue])


def test_jump_equals_small_steps(tmp_path, settings):
    settings(concurrent_jobs=2)
    stepped, jumped = emulator_with_jobs(tmp_path / "a", settings), emulator_with_jobs(tmp_path / "b", settings)
    try:
        horizon = 6 * 3600
        for second in range(0, horizon + 1, 7):
            catch_up(stepped, START + second * SECOND)
        catch_up(jumped, START + horizon * SECOND)
        assert snapshot(stepped) == snapshot(jumped)

        rows, queue = snapshot(jumped)
    finally:
        stepped.close()
        jumped.close()
    by_id = {row[0]: row for row in rows}
    status = {row[0][-1]: row[1] for row in rows}
    assert status["5"] == states.SUSPENDED and queue == []     # waits for confirmation, holds no slot
    assert status["3"] == states.FAILED                        # LambdaInvoke: threshold after 1,000 tasks
    assert by_id["00000000-0000-4000-8000-000000000003"][6] == states.FAILURE_THRESHOLD_MIN_TASKS
    assert all(status[n] == states.COMPLETE for n in "0124" "67")
    assert any(states.PAUSED in dict(row[4]) for row in rows)  # capacity was contended: someone paused


def test_idle_jobs_cost_nothing(tmp_path, settings):
    settings(concurrent_jobs=2)
    em = emulator_with_jobs(tmp_path / "c", settings)
    try:
        with em.store.transaction() as tx:
            assert em.lifecycle.catch_up(tx, START - SECOND) == 0
    finally:
        em.close()
