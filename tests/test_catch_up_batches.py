"""Catch-up in batches lands exactly where one transition at a time does.

Jobs of all four services are made through boto3 on a real server; its data dir is then copied, and each
copy is caught up by a walk (many small clock steps) or one jump, with transitions applied in batches or
one per savepoint. Every row, every document and every stored byte must be the same both ways, including
when some transitions fail (the batch is undone and replayed one at a time, the failing ones isolated).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import uuid

import pytest
from botocore.config import Config as BotoConfig
from sqlalchemy import select

from support import make_client

from jobyard.config import Config
from jobyard import lifecycle
from jobyard.lifecycle import BATCH_STEPS
from jobyard.server import Emulator
from jobyard.store.schema import resources
from jobyard.testing import running_server

ACCOUNT = "123412341234"
HOUR, DAY = 3600 * 1_000_000, 86400 * 1_000_000
ROLE = "arn:aws:iam::123412341234:role/r"


def _make_jobs(server) -> None:
    url = server.url
    glacier = make_client("glacier", url, ACCOUNT)
    glacier.create_vault(vaultName="v")
    archives = [glacier.upload_archive(vaultName="v", body=os.urandom(1000 + n))["archiveId"] for n in range(4)]
    server.advance(2 * 86400)   # the vault's first inventory is taken about a day after its first upload
    glacier.initiate_job(vaultName="v", jobParameters={"Type": "inventory-retrieval"})
    for n, archive in enumerate(archives * 3):
        glacier.initiate_job(vaultName="v", jobParameters={
            "Type": "archive-retrieval", "ArchiveId": archive, "Tier": ("Expedited", "Standard", "Bulk")[n % 3]})

    s3 = make_client("s3", url, ACCOUNT, config=BotoConfig(s3={"addressing_style": "path"}))
    for bucket in ("data", "manifests", "reports"):
        s3.create_bucket(Bucket=bucket)
    keys = [f"in/{n}.csv" for n in range(6)]
    for key in keys:
        s3.put_object(Bucket="data", Key=key, Body=f"{key}\n".encode() * 40)
    manifest = io.StringIO()
    csv.writer(manifest).writerows([("data", key) for key in keys])
    etag = s3.put_object(Bucket="manifests", Key="m.csv", Body=manifest.getvalue().encode())["ETag"].strip('"')

    snowball = make_client("snowball", url, ACCOUNT)
    address = snowball.create_address(Address={
        "Name": "N", "Street1": "1 Main St", "City": "Seattle", "StateOrProvince": "WA", "Country": "US",
        "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
    for n in range(24):
        job_type = ("IMPORT", "EXPORT", "LOCAL_USE")[n % 3]
        buckets = [{"BucketArn": f"arn:aws:s3:::b{n}-{i}"} for i in range(1 + (n % 3 == 1) * 2)]
        snowball.create_job(JobType=job_type, AddressId=address, RoleARN=ROLE, SnowballType="EDGE",
                            ShippingOption=("SECOND_DAY", "NEXT_DAY", "STANDARD", "EXPRESS")[n % 4],
                            Resources={"S3Resources": buckets})
    cluster = snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, RoleARN=ROLE, SnowballType="EDGE",
                                      ShippingOption="SECOND_DAY", Resources={}, InitialClusterSize=3)
    assert cluster["ClusterId"]

    s3control = make_client("s3control", url, ACCOUNT, config=BotoConfig(proxies={"http": url}))
    for n in range(10):
        s3control.create_job(
            AccountId=ACCOUNT, Priority=n, RoleArn=ROLE, ConfirmationRequired=False, ClientRequestToken=f"t{n}",
            Operation={"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": str(n)}]}},
            Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                      "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": etag}},
            Report={"Bucket": "arn:aws:s3:::reports", "Prefix": f"r{n}", "Format": "Report_CSV_20180820",
                    "Enabled": True, "ReportScope": "AllTasks"})

    dx = make_client("dataexchange", url, ACCOUNT, config=BotoConfig(inject_host_prefix=False))
    for n in range(5):
        data_set = dx.create_data_set(AssetType="S3_SNAPSHOT", Name=f"d{n}", Description="d")["Id"]
        revision = dx.create_revision(DataSetId=data_set)["Id"]
        job = dx.create_job(Type="IMPORT_ASSETS_FROM_S3", Details={"ImportAssetsFromS3": {
            "DataSetId": data_set, "RevisionId": revision,
            "AssetSources": [{"Bucket": "data", "Key": key} for key in keys[:n + 1]]}})["Id"]
        dx.start_job(JobId=job)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A data dir holding jobs of every service, and the simulated instant they were made at."""
    base = tmp_path_factory.mktemp("batches") / "base"
    with running_server(Config(data_dir=str(base), time_scale=0)) as server:
        _make_jobs(server)
        now = server.emulator.clock.now_us()
    return base, now


@pytest.fixture(autouse=True)
def few_slots(monkeypatch):
    """Two S3 Batch jobs run at once: jobs wait, start and pause one another inside the batches."""
    monkeypatch.setenv("JOBYARD_S3CONTROL_CONCURRENT_JOBS", "2")


@pytest.fixture
def ids(monkeypatch):
    """uuid4 made repeatable, so ids minted by transitions (assets, object keys) match between runs."""
    counter = iter(range(1, 10**9))
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=(7 << 76) | next(counter)))

    def restart():
        nonlocal counter
        counter = iter(range(1, 10**9))
    return restart


def _state(data_dir) -> tuple:
    emulator = Emulator(Config(data_dir=str(data_dir), time_scale=0))
    try:
        with emulator.store.engine.connect() as conn:
            rows = sorted(tuple(r) for r in conn.execute(select(
                resources.c.kind, resources.c.account, resources.c.region, resources.c.id, resources.c.parent,
                resources.c.ref, resources.c.state, resources.c.created_us, resources.c.next_due_us,
                resources.c.doc)))
    finally:
        emulator.close()
    files = []
    root = os.path.join(data_dir, "files")
    for folder, _dirs, names in os.walk(root):
        if "pending" in os.path.relpath(folder, root).split(os.sep):
            continue
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            files.append((os.path.relpath(os.path.join(folder, name), root), hashlib.sha256(data).hexdigest(),
                          hashlib.sha256(_MINTED_BYTES.sub(b"<minted>", data)).hexdigest()))
    return rows, sorted(files)


def _run(made, tmp_path, name: str, batch_size: int, instants: list[int], restart, failing=frozenset()) -> tuple:
    base, _ = made
    target = tmp_path / name
    shutil.copytree(base, target)
    restart()
    emulator = Emulator(Config(data_dir=str(target), time_scale=0))
    emulator.lifecycle.batch_size = batch_size
    if failing:
        for kind, (handler, service, errors) in list(emulator.lifecycle._handlers.items()):
            def broken(ctx, resource, handler=handler):
                if (resource.id, resource.state) in failing:
                    raise RuntimeError(f"injected failure of {resource.id}")
                return handler(ctx, resource)
            emulator.lifecycle.register(kind, broken, service, errors)
    applied = 0
    try:
        for instant in instants:
            with emulator.store.transaction() as tx:
                applied += emulator.lifecycle.catch_up(tx, instant)
    finally:
        emulator.close()
    return applied, _state(target)


_MINTED = re.compile(r"0{8}-?0{4}-?70{3}-?0{4}-?[0-9a-f]{12}")
_MINTED_BYTES = re.compile(_MINTED.pattern.encode())


def _unminted(value):
    """Ids minted by the repeatable uuid4, replaced by one placeholder (a replayed batch mints afresh)."""
    return _MINTED.sub("<minted>", repr(value))


def _both_ways(made, tmp_path, ids, instants, failing=frozenset()):
    batched = _run(made, tmp_path, "batched", BATCH_STEPS, instants, ids, failing)
    single = _run(made, tmp_path, "single", 1, instants, ids, failing)
    if failing:
        # Work undone by a failure used up ids: compare with the ids minted by transitions set aside.
        assert batched[0] == single[0]
        assert sorted(map(_unminted, batched[1][0])) == sorted(map(_unminted, single[1][0]))
        # Stored bytes are named after their keys, which may hold minted ids: compare their contents.
        assert sorted(f[2] for f in batched[1][1]) == sorted(f[2] for f in single[1][1])
        return batched
    assert batched[0] == single[0]
    assert batched[1][0] == single[1][0]      # every row and document
    assert batched[1][1] == single[1][1]      # every stored byte
    return batched


def test_a_jump_lands_the_same_in_batches(made, tmp_path, ids):
    before, _ = _state(made[0])
    scheduled = {row[0].split(".")[0] for row in before if row[8] is not None}
    assert {"snowball", "glacier", "s3control", "dataexchange"} <= scheduled
    applied, (rows, files) = _both_ways(made, tmp_path, ids, [made[1] + 30 * DAY])
    assert applied > 200
    assert all(row[8] is None or row[8] > made[1] + 30 * DAY for row in rows)
    assert files


def test_a_walk_lands_the_same_in_batches(made, tmp_path, ids):
    steps = [made[1] + n * 3 * HOUR for n in range(1, 8 * 10)]
    applied, _ = _both_ways(made, tmp_path, ids, steps)
    assert applied > 200


@pytest.mark.parametrize("size", [2, 7])
def test_small_batches_land_the_same(made, tmp_path, ids, size):
    """Batch boundaries fall between transitions of one job family (S3 Control jobs pausing each other)."""
    single = _run(made, tmp_path, "single", 1, [made[1] + 30 * DAY], ids)
    small = _run(made, tmp_path, f"size{size}", size, [made[1] + 30 * DAY], ids)
    assert small == single


@pytest.mark.parametrize("reads, held", [(3, 20_000), (5, 4)])
def test_batches_across_short_due_reads_land_the_same(made, tmp_path, ids, monkeypatch, reads, held):
    """A few due rows per read: a batch spans many reads, the rows it holds back given by the reads that
    follow; or a batch ends early once a few rows are held back."""
    monkeypatch.setattr(lifecycle, "_BATCH", reads)
    monkeypatch.setattr(lifecycle, "HELD_ROWS", held)
    applied, _ = _both_ways(made, tmp_path, ids, [made[1] + 30 * DAY])
    assert applied > 200


def _failing(rows) -> frozenset:
    """Some jobs of every service, failing at their first step."""
    failing = set()
    for service in ("snowball", "glacier", "s3control", "dataexchange"):
        jobs = [row for row in rows if row[0] == f"{service}.job" and row[8] is not None]
        failing |= {(row[3], row[6]) for row in jobs[::3]}
    assert len(failing) >= 8
    return frozenset(failing)


def test_failures_across_short_due_reads_are_isolated_the_same_way(made, tmp_path, ids, monkeypatch, caplog):
    monkeypatch.setattr(lifecycle, "_BATCH", 4)
    rows, _ = _state(made[0])
    _both_ways(made, tmp_path, ids, [made[1] + 30 * DAY], _failing(rows))
    assert "injected failure" in caplog.text


def test_failing_transitions_are_isolated_the_same_way(made, tmp_path, ids, caplog):
    base, now = made
    rows, _ = _state(base)
    # Fail some jobs of every service at their first step, in batches and one at a time alike.
    failing = set()
    for service in ("snowball", "glacier", "s3control", "dataexchange"):
        jobs = [row for row in rows if row[0] == f"{service}.job" and row[8] is not None]
        failing |= {(row[3], row[6]) for row in jobs[::3]}
    assert len(failing) >= 8
    applied, (after, _) = _both_ways(made, tmp_path, ids, [now + 30 * DAY], frozenset(failing))
    assert "injected failure" in caplog.text
    by_id = {row[3]: row for row in after}
    for job_id, state in failing:
        if by_id[job_id][0] == "snowball.job":
            assert by_id[job_id][6] == state and by_id[job_id][8] is None   # undone and off the schedule
