"""``jobyard seed``: bulk-load realistic jobs straight into a store, for tests and benchmarks at scale.

    jobyard seed --service snowball --jobs 1000000 [--account A] [--region R] [--data-dir D | --store URL]

Each job is built by its service's own builder (the one its CreateJob / InitiateJob uses), with varied
types, states and creation dates, together with the resources it belongs to (Snowball addresses, Glacier
vaults, Data Exchange data sets and revisions). Rows go in with ``executemany`` in chunks, each chunk its
own short transaction, so a server running on the same store keeps answering while it loads. A job in a
state that moves on is due at a time in the future, so the seeded store has no backlog of transitions.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import TYPE_CHECKING, Callable, Iterator

import orjson

from ..clock import US
from ..routing import DEFAULT_ACCOUNT
from . import UsageError, account_id, arg, command

if TYPE_CHECKING:
    from ..store import Resource, Store

# The store, SQLAlchemy and the services are imported where they are used, not here: every ``jobyard``
# command line imports this module to register the command, and ``serve`` starts faster without them.

SERVICES = ("snowball", "glacier", "s3control", "dataexchange")
CHUNK = 5000          # rows per transaction
PER_PARENT = 1000     # jobs per address, vault or data set
DAY_US = 86400 * US
CACHE_KIB = 512 * 1024   # SQLite page cache of the loading connection


def _scope(account: str, region: str, now_us: int, created_us: int):
    """A scope for the services' builders: they only read its account, region and instant."""
    from ..context import Context
    return Context(None, None, account, region, created_us, None).scope


def _spread(n: int, count: int, now_us: int, days: float) -> int:
    """The ``n``-th of ``count`` creation times spread over the last ``days``, oldest first: rows then go
    in at the end of the creation-ordered indexes, which keeps a large load fast."""
    return now_us - int((count - n) / count * days * DAY_US)


def _ordered_uuid(run: int, n: int, rnd: random.Random) -> str:
    """A uuid-shaped id whose leading digits grow with ``n`` (and differ between runs), so that rows go in
    at the end of the id index; the rest is random."""
    lead, tail = f"{(run << 32) | n:012x}", f"{rnd.getrandbits(80):020x}"
    return f"{lead[:8]}-{lead[8:]}-{tail[:4]}-{tail[4:8]}-{tail[8:]}"


# -- one builder per service: yields rows, parents first -----------------------------------------------

def _snowball(account: str, region: str, now_us: int, count: int, rnd: random.Random) -> Iterator[Resource]:
    from ..services.snowball import jobs, states
    from ..services.snowball.errors import ADDRESS
    from ..store import Resource

    address_id, run = "", random.SystemRandom().getrandbits(16)
    for n in range(count):
        if n % PER_PARENT == 0:
            address_id = f"ADID{uuid.uuid4()}"
            yield Resource(ADDRESS, account, region, address_id, created_us=now_us - 400 * DAY_US, doc={
                "Name": f"Receiving dock {n // PER_PARENT}", "Company": "Example Corp", "Street1": "410 Terry Ave N",
                "City": "Seattle", "StateOrProvince": "WA", "Country": "US", "PostalCode": "98109",
                "PhoneNumber": "206-555-0100"})
        job_type = ("IMPORT", "IMPORT", "LOCAL_USE", "EXPORT")[n % 4]
        doc = {"JobType": job_type, "SnowballType": ("EDGE", "EDGE_C", "SNC1_SSD")[n % 3], "AddressId": address_id,
               "RoleARN": f"arn:aws:iam::{account}:role/snowball-import", "Description": f"seeded job {n}",
               "ShippingOption": ("SECOND_DAY", "NEXT_DAY", "EXPRESS", "STANDARD")[n % 4],
               "Resources": {"S3Resources": [{"BucketArn": f"arn:aws:s3:::seeded-bucket-{n % 97}"}]}}
        if job_type == "EXPORT":
            doc["IsMaster"] = True
        created = _spread(n, count, now_us, 365)
        job_id = f"JID{_ordered_uuid(run, n, rnd)}"
        if n < count * 0.8:
            # The older jobs are done.
            job = jobs.new_job(account, region, created, doc, job_id=job_id, schedule=False,
                               state=states.CANCELLED if rnd.random() < 0.08 else states.COMPLETE)
        else:
            # The newer ones are under way: in a state entered a little while ago, due to leave it later.
            path = [s for s in states.PATHS[job_type] if s not in states.TERMINAL]
            state = states.NEW if job_type == "EXPORT" else path[n % len(path)]
            job = jobs.new_job(account, region, created, doc, job_id=job_id, state=state, schedule=False)
            job.doc["Entered"][state] = now_us
            jobs._schedule_stay(job, now_us)
        yield job


def _glacier(account: str, region: str, now_us: int, count: int, rnd: random.Random) -> Iterator[Resource]:
    from ..services.glacier import jobs
    from ..services.glacier.errors import VAULT
    from ..services.glacier.common import random_id
    from ..store import Resource

    vault = ""
    for n in range(count):
        if n % PER_PARENT == 0:
            vault = f"seeded-vault-{n // PER_PARENT:05d}"
            yield Resource(VAULT, account, region, vault, created_us=now_us - 200 * DAY_US,
                           doc={"Live": {"Count": 0, "Size": 0}, "Changed": False, "Tags": {}})
        # Inventory retrievals started within the last three hours: they complete in about four.
        created = _spread(n, count, now_us, 3 / 24)
        doc = {"Action": jobs.INVENTORY_RETRIEVAL, "Inventory": {"Format": ("JSON", "CSV")[n % 2]}}
        if n % 3 == 0:
            doc["Description"] = f"seeded inventory {n}"
        yield jobs.new_job(_scope(account, region, now_us, created), vault, random_id(92), doc)


def _s3control(account: str, region: str, now_us: int, count: int, rnd: random.Random) -> Iterator[Resource]:
    from ..services.s3control import jobs, states

    operations = [{"S3PutObjectTagging": {"TagSet": [{"Key": "seeded", "Value": "yes"}]}},
                  {"LambdaInvoke": {"FunctionArn": f"arn:aws:lambda:{region}:{account}:function:process"}},
                  {"S3DeleteObjectTagging": {}},
                  {"S3InitiateRestoreObject": {"ExpirationInDays": 1, "GlacierJobTier": "BULK"}}]
    retention_us = max(int(states.retention_seconds() * US), 81 * DAY_US)
    waiting = min(count // 100, states.max_unfinished_jobs() // 2)   # unfinished jobs have an account limit
    run = random.SystemRandom().getrandbits(16)
    for n in range(count):
        doc = {"Operation": operations[n % len(operations)], "Priority": n % 100, "Tags": [],
               "RoleArn": f"arn:aws:iam::{account}:role/batch-operations", "ConfirmationRequired": True,
               "Report": {"Enabled": False}, "Description": f"seeded job {n}",
               "Manifest": {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                            "Location": {"ObjectArn": f"arn:aws:s3:::seeded-manifests/{n}.csv",
                                         "ETag": "0" * 32}}}
        job_id = _ordered_uuid(run, n, rnd)
        if n >= count - waiting:
            # The newest wait for their confirmation.
            created = _spread(n, count, now_us, 80)
            job = jobs.new_job(_scope(account, region, now_us, created), job_id, doc)
            job.state, job.next_due_us = states.SUSPENDED, now_us + int(states.SUSPENDED_LIMIT * US)
            job.doc.update(SuspendedUs=now_us, SuspendedCause=jobs.SUSPENDED_CAUSE)
            job.doc["Entered"][states.SUSPENDED] = now_us
        else:
            # The others were cancelled before they started, and are listed until their retention ends.
            created = _spread(n, count, now_us, 80)
            job = jobs.new_job(_scope(account, region, now_us, created), job_id, doc)
            ended = created + 3600 * US
            job.state, job.next_due_us = states.CANCELLED, ended + retention_us
            job.doc.update(TerminationUs=ended, StatusUpdateReason="Job cancelled by the customer")
            job.doc["Entered"][states.CANCELLED] = ended
        yield job


def _dataexchange(account: str, region: str, now_us: int, count: int, rnd: random.Random) -> Iterator[Resource]:
    from ..services.dataexchange import jobs, resources as dx
    from ..services.dataexchange.errors import DATA_SET, REVISION
    from ..store import Resource

    data_set = revision = ""
    for n in range(count):
        if n % PER_PARENT == 0:
            data_set, revision = dx.new_id(), dx.new_id()
            made = now_us - 100 * DAY_US
            yield Resource(DATA_SET, account, region, data_set, state=dx.OWNED, created_us=made, doc={
                "AssetType": "S3_SNAPSHOT", "Name": f"seeded-{n // PER_PARENT}", "Description": "Seeded data set",
                "Tags": {}, "UpdatedAt": made})
            yield Resource(REVISION, account, region, revision, parent=data_set, state=dx.DRAFT, created_us=made,
                           doc={"Comment": "seeded revision", "Tags": {}, "UpdatedAt": made})
        created = _spread(n, count, now_us, 80)   # jobs are deleted 90 days after they are created
        details = {"DataSetId": data_set, "RevisionId": revision, "AssetSources": [
            {"Bucket": f"seeded-bucket-{n % 13}", "Key": f"exports/{n}.csv"}]}
        job = jobs.new_job(_scope(account, region, now_us, created), jobs.IMPORT_FROM_S3, details, None,
                           data_set, revision)
        job.state = (jobs.COMPLETED, jobs.ERROR, jobs.CANCELLED, jobs.WAITING)[n % 4] if n % 10 else jobs.COMPLETED
        yield job


BUILDERS: dict[str, Callable] = {"snowball": _snowball, "glacier": _glacier, "s3control": _s3control,
                                 "dataexchange": _dataexchange}
# Kept counts a bulk load changes: dropped, so that their next reader counts them afresh.
COUNTERS = ("glacier.vaults", "s3control.unfinished-jobs", "snowball.devices-out")


def _inserter(store: Store) -> Callable:
    """``insert(conn, rows)``: SQLAlchemy Core's INSERT of ``resources``; on SQLite its compiled text is run
    straight through the driver's ``executemany`` with the documents already JSON (a bulk load spends its
    time in SQLite, not in binding parameters)."""
    from sqlalchemy import insert

    from ..store.schema import resources

    statement = insert(resources)
    if store.engine.dialect.name != "sqlite":
        return lambda conn, rows: conn.execute(statement, rows)
    compiled = statement.compile(dialect=store.engine.dialect,
                                 column_keys=["kind", "account", "region", "id", "parent", "ref", "state",
                                              "created_us", "next_due_us", "doc"])
    names = compiled.positiontup

    def insert_rows(conn, rows):
        tuples = [tuple(orjson.dumps(r[n]).decode() if n == "doc" else r[n] for n in names) for r in rows]
        conn.exec_driver_sql(compiled.string, tuples)
    return insert_rows


def _row(r: Resource) -> dict:
    return {"kind": r.kind, "account": r.account, "region": r.region, "id": r.id, "parent": r.parent, "ref": r.ref,
            "state": r.state, "created_us": r.created_us, "next_due_us": r.next_due_us, "doc": r.doc}


def seed(store: Store, service: str, count: int, account: str, region: str, now_us: int,
         progress: Callable[[int], None] = lambda n: None, seed_value: int = 0) -> int:
    """Load ``count`` jobs of ``service`` (and their parents) into ``store``; returns the rows written."""
    rnd = random.Random(seed_value)
    rows = BUILDERS[service](account, region, now_us, count, rnd)
    insert_rows = _inserter(store)
    written = jobs = 0
    kinds_of_jobs = f"{service}.job"
    while True:
        chunk = []
        for r in rows:
            chunk.append(_row(r))
            if len(chunk) == CHUNK:
                break
        if not chunk:
            return written
        with store.transaction() as tx:
            if store.engine.dialect.name == "sqlite":
                # This connection's own page cache: the indexes of a large store then stay in memory.
                tx.conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
            insert_rows(tx.conn, chunk)
            due = [r["next_due_us"] for r in chunk if r["next_due_us"] is not None]
            if due:
                tx.note_due(min(due))   # the store's bound on the next due time, which catch-up checks
            tx.forget_counters(account, region, COUNTERS)
        written += len(chunk)
        made = sum(1 for r in chunk if r["kind"] == kinds_of_jobs)
        jobs += made
        progress(made)


@command(
    "seed", "bulk-load realistic jobs straight into a store (a server may be running on it)",
    arg("--service", required=True, choices=SERVICES),
    arg("--jobs", type=int, required=True, help="how many jobs"),
    arg("--account", type=account_id, default=DEFAULT_ACCOUNT, help=f"their account (default {DEFAULT_ACCOUNT})"),
    arg("--region", default="us-east-1", help="their region (default us-east-1)"),
    arg("--data-dir", default="./.jobyard", help="the data dir of the store (default ./.jobyard)"),
    arg("--store", default=None, help="store URL or SQLite file path (default: jobyard.db in the data dir)"),
    arg("--quiet", action="store_true", help="no progress bar"),
)
def seed_command(args) -> int:
    from ..clock import SharedClock
    from ..config import Config
    from ..store import Store

    if args.jobs < 0:
        raise UsageError("--jobs must be >= 0")
    config = Config(data_dir=args.data_dir, store_url=args.store)
    if not args.store:
        os.makedirs(args.data_dir, exist_ok=True)
    store = Store(config.resolved_store_url())
    try:
        now_us = SharedClock(store).now_us()
        began = time.perf_counter()
        if args.quiet:
            rows = seed(store, args.service, args.jobs, args.account, args.region, now_us)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn()) as bar:
                task = bar.add_task(f"seeding {args.service} jobs", total=args.jobs)
                rows = seed(store, args.service, args.jobs, args.account, args.region, now_us,
                            lambda n: bar.advance(task, n))
        seconds = time.perf_counter() - began
        print(f"seeded {args.jobs} {args.service} jobs ({rows} rows) for {args.account} in {args.region} "
              f"in {seconds:.1f} s", flush=True)
    finally:
        store.close()
    return 0
