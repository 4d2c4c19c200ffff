"""One clock for every process on a store: steered through any, seen by all at once, with what became due;
the clock row's next due time; reads that are the first request after a clock jump."""

from __future__ import annotations

import shutil
import threading
import time
import signal

import pytest

from jobyard.config import Config
from jobyard.testing import admin_call, running_server
from test_migrations import pg_schema  # noqa: F401  (the fixture)
from test_process import ServeProcess, client

ADDRESS = {"Name": "N", "Street1": "S", "City": "C", "StateOrProvince": "WA", "Country": "US",
           "PostalCode": "98101", "PhoneNumber": "425-555-5555"}


def states(snowball) -> dict:
    return {e["JobId"]: e["JobState"] for e in snowball.list_jobs()["JobListEntries"]}


def test_two_servers_on_one_data_dir_share_the_clock_and_the_jobs(tmp_path):
    first = ServeProcess(tmp_path, "--time-scale", "0")
    second = ServeProcess(tmp_path)
    try:
        one, two = client(first.url), client(second.url)
        address = one.create_address(Address=ADDRESS)["AddressId"]
        job_ids = [one.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")["JobId"]
                   for _ in range(3)]
        clock = admin_call(first.url, "GET", "clock")
        assert clock["scale"] == 0 and admin_call(second.url, "GET", "clock") == clock
        assert states(one) == states(two) == {j: "New" for j in job_ids}
        # Advanced through the second: the first's next request (a read) sees the time and the transitions.
        moved = admin_call(second.url, "POST", "clock", {"advance": 7200})
        assert admin_call(first.url, "GET", "clock") == moved != clock
        assert one.describe_job(JobId=job_ids[0])["JobMetadata"]["JobState"] == "PreparingAppliance"
        assert states(one) == states(two) == {j: "PreparingAppliance" for j in job_ids}
        # A new speed set through the first is the second's; frozen again through the second, both agree.
        assert admin_call(first.url, "POST", "clock", {"scale": 1000})["scale"] == 1000
        assert admin_call(second.url, "GET", "clock")["scale"] == 1000
        frozen = admin_call(second.url, "POST", "clock", {"scale": 0})
        assert frozen["now"] > moved["now"]
        assert admin_call(first.url, "GET", "clock") == frozen == admin_call(second.url, "GET", "clock")
        # Days later through the first: both list the jobs delivered.
        admin_call(first.url, "POST", "clock", {"advance": 10 * 86400})
        assert states(two) == states(one)
        assert set(states(two).values()) - {"New", "PreparingAppliance"}
    finally:
        first.kill(signal.SIGTERM)
        second.kill(signal.SIGTERM)


def test_the_clock_row_keeps_the_next_due_time(tmp_path):
    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as server:
        snowball = client(server.url)
        store = server.emulator.store

        def next_due():
            with store.transaction(write=False) as tx:
                return tx.clock_row().next_due_us

        assert next_due() is None
        address = snowball.create_address(Address=ADDRESS)["AddressId"]
        job = snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")["JobId"]
        with store.transaction(write=False) as tx:
            row = tx.get("snowball.job", "123456789012", "us-east-1", job)
            assert next_due() == row.next_due_us is not None
        server.advance(7200)
        with store.transaction(write=False) as tx:
            row = tx.get("snowball.job", "123456789012", "us-east-1", job)
            assert row.state == "PreparingAppliance"
            # Exact after catch-up: the earliest due time of any resource.
            assert next_due() == tx.conn.exec_driver_sql("SELECT min(next_due_us) FROM resources").scalar()
        snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")   # due before the rest
        with store.transaction(write=False) as tx:
            assert next_due() == tx.conn.exec_driver_sql("SELECT min(next_due_us) FROM resources").scalar()


def test_a_read_first_after_a_clock_jump_sees_every_transition(tmp_path):
    """The same jobs (one store, copied) driven two ways land in the same states: one server answering a
    read first after each jump, the other a write."""
    with running_server(Config(data_dir=str(tmp_path / "a"), time_scale=0)) as server:
        snowball = client(server.url)
        address = snowball.create_address(Address=ADDRESS)["AddressId"]
        jobs = [snowball.create_job(JobType=t, AddressId=address, SnowballType="EDGE",
                                    **({"Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::b"}]},
                                        "RoleARN": "arn:aws:iam::123456789012:role/r"}
                                       if t != "LOCAL_USE" else {}))["JobId"]
                for t in ("LOCAL_USE", "IMPORT", "EXPORT")]
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    seen = []
    for name, read_first in (("a", True), ("b", False)):
        with running_server(Config(data_dir=str(tmp_path / name))) as server:
            snowball = client(server.url)
            trail = []
            for hours in (1, 2, 5, 24, 72, 240):
                # The clock row steered as another process would, without the catch-up of the admin route:
                # the next request is the first to see the time.
                server.emulator.clock.steer(advance=hours * 3600)
                if not read_first:
                    snowball.create_address(Address=ADDRESS)   # a writer catches up first
                trail.append([snowball.describe_job(JobId=j)["JobMetadata"]["JobState"] for j in jobs])
            seen.append(trail)
    assert seen[0] == seen[1]
    assert len({tuple(t) for t in seen[0]}) > 2   # the states did move along the way


def test_two_servers_on_one_postgresql_store_share_the_clock(pg_schema, tmp_path):  # noqa: F811
    with running_server(Config(data_dir=str(tmp_path / "a"), store_url=pg_schema, time_scale=0)) as a, \
            running_server(Config(data_dir=str(tmp_path / "b"), store_url=pg_schema)) as b:
        one, two = client(a.url), client(b.url)
        address = one.create_address(Address=ADDRESS)["AddressId"]
        job_ids = [one.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")["JobId"]
                   for _ in range(3)]
        assert a.clock() == b.clock()
        # Steered through b without its catch-up: a's next request, a read, applies what became due.
        b.emulator.clock.steer(advance=7200)
        assert a.clock() == b.clock()
        assert one.describe_job(JobId=job_ids[0])["JobMetadata"]["JobState"] == "PreparingAppliance"
        assert states(one) == states(two) == {j: "PreparingAppliance" for j in job_ids}
        a.advance(10 * 86400)
        assert states(two) == states(one) and set(states(one).values()) - {"New", "PreparingAppliance"}
        with a.emulator.store.transaction(write=False) as tx:
            least = tx.conn.exec_driver_sql("SELECT min(next_due_us) FROM resources").scalar()
            assert tx.clock_row().next_due_us == least


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_busy_servers_on_one_store_answer_every_request(tmp_path, database, request):
    """Readers and writers of two processes at once, with time running fast (catch-ups keep coming due):
    no request fails (no SQLITE_BUSY, no deadlock)."""
    store = ("--store", request.getfixturevalue("pg_schema")) if database == "postgresql" else ()
    first = ServeProcess(tmp_path / "one", *store, "--time-scale", "2000")
    second = ServeProcess(tmp_path / ("one" if database == "sqlite" else "two"), *store)
    failures, done = [], threading.Event()
    try:
        address = client(first.url).create_address(Address=ADDRESS)["AddressId"]

        def work(url, writer):
            snowball = client(url)
            try:
                while not done.is_set():
                    if writer:
                        snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")
                    else:
                        for entry in snowball.list_jobs(MaxResults=5)["JobListEntries"]:
                            snowball.describe_job(JobId=entry["JobId"])
            except Exception as error:
                failures.append(error)

        threads = [threading.Thread(target=work, args=(url, writer))
                   for url in (first.url, second.url) for writer in (True, False)]
        for t in threads:
            t.start()
        time.sleep(6)
        done.set()
        for t in threads:
            t.join(timeout=60)
        assert failures == []
        listed = {e["JobState"] for e in client(second.url).list_jobs()["JobListEntries"]}
        assert listed - {"New"}   # jobs moved along while others were created
    finally:
        done.set()
        first.kill(signal.SIGTERM)
        second.kill(signal.SIGTERM)


def test_readers_take_no_write_lock_and_a_read_that_writes_becomes_a_writer(tmp_path):
    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as server:
        runtime, store = server.emulator.runtime, server.emulator.store
        assert runtime.reads_only("ListJobs") and not runtime.reads_only("CreateJob")
        started = time.monotonic()
        with runtime.unit("123456789012", "us-east-1", "ListJobs") as ctx:
            assert ctx.scope.get("test.thing", "one") is None
            with store.transaction() as writer:   # another writer commits while the reader is open
                writer.insert(ctx.scope.new("test.thing", "one"))
            assert ctx.scope.get("test.thing", "one") is None   # the reader's snapshot
        assert time.monotonic() - started < 5   # no wait for a lock (SQLite's busy timeout is 10 s)
        with runtime.unit("123456789012", "us-east-1", "GetThing") as ctx:
            ctx.scope.add("test.thing", "two")
        assert "GetThing" in runtime.writers and not runtime.reads_only("GetThing")
        with runtime.unit("123456789012", "us-east-1", "GetThing") as ctx:
            assert ctx.scope.get("test.thing", "two") is not None
