"""The job state machine over a real store: one clock jump lands every job where small steps would, even
when jobs pause and resume one another for capacity."""

from jobyard.lifecycle import Lifecycle
from jobyard.services.s3control import jobs
from jobyard.services.s3control import states as S
from jobyard.store import Store, sqlite_url

ACCOUNT, REGION = "111122223333", "us-east-1"
START = 1_700_000_000 * 1_000_000
SECOND = 1_000_000

LAMBDA = {"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}}
TAGGING = {"S3PutObjectTagging": {"TagSet": []}}


def store_with_jobs(path, settings):
    """Jobs created a minute apart: rising priorities (so later ones pause earlier ones), one LambdaInvoke job
    big enough to hit the failure threshold, one awaiting confirmation."""
    store = Store(sqlite_url(str(path)))
    with store.transaction() as tx:
        for n in range(8):
            settings(default_tasks=3000 if n == 3 else 20_000)
            doc = {"Operation": LAMBDA if n == 3 else TAGGING, "Priority": n, "ConfirmationRequired": n == 5,
                   "Report": {"Enabled": False}, "RoleArn": "arn:aws:iam::111122223333:role/r", "Tags": []}
            job_id = f"00000000-0000-4000-8000-{n:012d}"
            tx.insert(jobs.new_job(ACCOUNT, REGION, job_id, START + n * 60 * SECOND, doc))
    return store


def snapshot(store):
    with store.transaction() as tx:
        rows = tx.page(jobs.JOB, ACCOUNT, REGION, limit=100)[0]
        queue = tx.page(jobs.QUEUE, ACCOUNT, REGION, limit=100, by="id", parent="")[0]
    return ([(r.id, r.state, r.parent, r.next_due_us, sorted(r.doc["Entered"].items()), r.doc["Active"], r.doc["Ran"])
             for r in rows], [q.id for q in queue])


def test_jump_equals_small_steps(tmp_path, settings):
    settings(concurrent_jobs=2)
    lifecycle = Lifecycle()
    lifecycle.register(jobs.JOB, jobs.advance)
    stepped, jumped = store_with_jobs(tmp_path / "a.db", settings), store_with_jobs(tmp_path / "b.db", settings)
    horizon = 6 * 3600
    for second in range(0, horizon + 1, 7):
        with stepped.transaction() as tx:
            lifecycle.catch_up(tx, START + second * SECOND)
    with jumped.transaction() as tx:
        lifecycle.catch_up(tx, START + horizon * SECOND)
    assert snapshot(stepped) == snapshot(jumped)

    rows, queue = snapshot(jumped)
    by_id = {row[0]: row for row in rows}
    states = {row[0][-1]: row[1] for row in rows}
    assert states["5"] == S.SUSPENDED and queue == []          # waits for confirmation, holds no slot
    assert states["3"] == S.FAILED                             # LambdaInvoke: threshold after 1,000 tasks
    assert by_id["00000000-0000-4000-8000-000000000003"][6] == S.FAILURE_THRESHOLD_MIN_TASKS
    assert all(states[n] == S.COMPLETE for n in "0124" "67")
    assert any(S.PAUSED in dict(row[4]) for row in rows)       # capacity was contended: someone paused


def test_idle_jobs_cost_nothing(tmp_path, settings):
    settings(concurrent_jobs=2)
    lifecycle = Lifecycle()
    lifecycle.register(jobs.JOB, jobs.advance)
    store = store_with_jobs(tmp_path / "c.db", settings)
    with store.transaction() as tx:
        assert lifecycle.catch_up(tx, START - SECOND) == 0
