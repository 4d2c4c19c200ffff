"""The catch-up engine: one jump of the clock lands every job exactly where small steps would."""

from jobyard.lifecycle import Lifecycle, draw_seconds
from jobyard.services.snowball import jobs
from jobyard.store import Store, sqlite_url

DAY_US = 86400 * 1_000_000
START = 1_700_000_000 * 1_000_000


def store_with_jobs(path, ids):
    store = Store(sqlite_url(str(path)))
    with store.transaction() as tx:
        for index, job_id in enumerate(ids):
            job_type = ("IMPORT", "EXPORT", "LOCAL_USE")[index % 3]
            doc = {"JobType": job_type, "SnowballType": "EDGE", "ShippingOption": "STANDARD",
                   "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::a"}, {"BucketArn": "arn:aws:s3:::b"}]}}
            if job_type == "EXPORT":
                doc["IsMaster"] = True
            tx.insert(jobs.new_job("111122223333", "us-east-1", START, doc, job_id=job_id))
    return store


def snapshot(store):
    with store.transaction() as tx:
        rows = tx.page(jobs.JOB, "111122223333", "us-east-1", limit=1000)[0]
    # Export parts get fresh ids; compare them by their place in the family.
    return sorted((r.parent != "", r.state, r.next_due_us, str(sorted(r.doc.get("Entered", {}).items())))
                  for r in rows)


def test_jump_equals_small_steps(tmp_path):
    ids = [f"JID00000000-0000-0000-0000-{n:012d}" for n in range(9)]
    lifecycle = Lifecycle()
    lifecycle.register(jobs.JOB, jobs.advance)
    stepped, jumped = store_with_jobs(tmp_path / "a.db", ids), store_with_jobs(tmp_path / "b.db", ids)
    for hour in range(1, 24 * 20 + 1):
        with stepped.transaction() as tx:
            lifecycle.catch_up(tx, START + hour * 3600 * 1_000_000)
    with jumped.transaction() as tx:
        applied = lifecycle.catch_up(tx, START + 20 * DAY_US)
    assert applied > 9 * 5
    assert snapshot(stepped) == snapshot(jumped)
    with jumped.transaction() as tx:
        assert tx.next_due() is None or tx.next_due() > START + 20 * DAY_US


def test_durations_repeat_for_the_same_job():
    assert draw_seconds("JID1", "New", 10, 20) == draw_seconds("JID1", "New", 10, 20)
    assert draw_seconds("JID1", "New", 10, 20) != draw_seconds("JID2", "New", 10, 20)
    assert 10 <= draw_seconds("JID3", "New", 10, 20) <= 20


def test_idle_store_catch_up_applies_nothing(tmp_path):
    store = store_with_jobs(tmp_path / "c.db", ["JID00000000-0000-0000-0000-000000000001"])
    lifecycle = Lifecycle()
    lifecycle.register(jobs.JOB, jobs.advance)
    with store.transaction() as tx:
        assert lifecycle.catch_up(tx, START) == 0


def test_a_failing_transition_is_undone_and_the_rest_go_on(tmp_path, caplog):
    from jobyard.store import Resource

    store = Store(sqlite_url(str(tmp_path / "d.db")))
    lifecycle = Lifecycle()

    def move(tx, resource, at_us):
        resource.state, resource.next_due_us = "moved", None

    def explode(tx, resource, at_us):
        tx.insert(Resource("test.side", "a", "r", "written-before-failing", created_us=at_us))
        resource.state = "half-moved"
        raise ValueError("a defect in a handler")

    lifecycle.register("test.good", move)
    lifecycle.register("test.bad", explode)
    with store.transaction() as tx:
        tx.insert(Resource("test.bad", "a", "r", "bad", state="waiting", created_us=START, next_due_us=START + 1))
        tx.insert(Resource("test.good", "a", "r", "good", state="waiting", created_us=START, next_due_us=START + 2))
    with store.transaction() as tx:
        assert lifecycle.catch_up(tx, START + 10) == 1
    with store.transaction() as tx:
        bad, good = tx.get("test.bad", "a", "r", "bad"), tx.get("test.good", "a", "r", "good")
        assert (bad.state, bad.next_due_us) == ("waiting", None)
        assert tx.get("test.side", "a", "r", "written-before-failing") is None
        assert good.state == "moved"
        assert lifecycle.catch_up(tx, START + 20) == 0
    assert "a defect in a handler" in caplog.text
