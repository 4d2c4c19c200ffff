"""The catch-up engine: one jump of the clock lands every job exactly where small steps would."""

from pathlib import Path

import pytest

from jobyard.config import Config
from jobyard.lifecycle import draw_seconds
from jobyard.server import Emulator
from jobyard.services.snowball import jobs
from jobyard.store import Resource

DAY_US = 86400 * 1_000_000
START = 1_700_000_000 * 1_000_000


@pytest.fixture
def emulators(tmp_path):
    """Emulators on their own data dirs (frozen clocks): ``emulators("a")`` makes or returns one."""
    made = {}

    def make(name):
        if name not in made:
            made[name] = Emulator(Config(data_dir=str(tmp_path / name), time_scale=0))
        return made[name]

    yield make
    for emulator in made.values():
        emulator.close()


def with_jobs(emulator, ids):
    with emulator.store.transaction() as tx:
        for index, job_id in enumerate(ids):
            job_type = ("IMPORT", "EXPORT", "LOCAL_USE")[index % 3]
            doc = {"JobType": job_type, "SnowballType": "EDGE", "ShippingOption": "STANDARD",
                   "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::a"}, {"BucketArn": "arn:aws:s3:::b"}]}}
            if job_type == "EXPORT":
                doc["IsMaster"] = True
            tx.insert(jobs.new_job("111122223333", "us-east-1", START, doc, job_id=job_id))
    return emulator


def snapshot(emulator):
    with emulator.store.transaction() as tx:
        rows = tx.page(jobs.JOB, "111122223333", "us-east-1", limit=1000)[0]
    # Export parts get fresh ids; compare them by their place in the family.
    return sorted((r.parent != "", r.state, r.next_due_us, str(sorted(r.doc.get("Entered", {}).items())))
                  for r in rows)


def test_jump_equals_small_steps(emulators):
    ids = [f"JID00000000-0000-0000-0000-{n:012d}" for n in range(9)]
    stepped, jumped = with_jobs(emulators("a"), ids), with_jobs(emulators("b"), ids)
    for hour in range(1, 24 * 20 + 1):
        with stepped.store.transaction() as tx:
            stepped.lifecycle.catch_up(tx, START + hour * 3600 * 1_000_000)
    with jumped.store.transaction() as tx:
        applied = jumped.lifecycle.catch_up(tx, START + 20 * DAY_US)
    assert applied > 9 * 5
    assert snapshot(stepped) == snapshot(jumped)
    with jumped.store.transaction() as tx:
        assert tx.next_due() is None or tx.next_due() > START + 20 * DAY_US


def test_durations_repeat_for_the_same_job():
    assert draw_seconds("JID1", "New", 10, 20) == draw_seconds("JID1", "New", 10, 20)
    assert draw_seconds("JID1", "New", 10, 20) != draw_seconds("JID2", "New", 10, 20)
    assert 10 <= draw_seconds("JID3", "New", 10, 20) <= 20


def test_idle_store_catch_up_applies_nothing(emulators):
    emulator = with_jobs(emulators("c"), ["JID00000000-0000-0000-0000-000000000001"])
    with emulator.store.transaction() as tx:
        assert emulator.lifecycle.catch_up(tx, START) == 0


def test_a_failing_transition_is_undone_and_the_rest_go_on(emulators, caplog):
    emulator = emulators("d")
    store, lifecycle = emulator.store, emulator.lifecycle

    def move(ctx, resource):
        resource.state, resource.next_due_us = "moved", None
        ctx.files.put("kept", b"written by a transition that succeeds")

    def explode(ctx, resource):
        assert (ctx.account, ctx.region, ctx.now_us) == ("a", "r", START + 1)
        ctx.scope.add("test.side", "written-before-failing")
        ctx.files.put("undone", b"written by a transition that fails")
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
        files = emulator.files.bind(tx)
        assert files.get("kept") == b"written by a transition that succeeds"
        assert not files.exists("undone")
    assert "a defect in a handler" in caplog.text
    # The failed transition's staged bytes went with its savepoint: nothing is left pending.
    pending = Path(emulator.files.root, ".pending")
    assert [p for p in pending.rglob("*") if p.is_file() and p.suffix != ".lock"] == []
