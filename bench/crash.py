"""``kill -9`` during thousands of concurrent writes, then restart: is everything acknowledged still there, with
its bytes, and nothing else?

    python bench/crash.py [--ops 10000] [--threads 32] [--kill-after 0.5] [--time-scale 10]

Starts ``jobyard serve`` as its own process and fires ``--ops`` writes from ``--threads`` threads across the four
services and S3: Snowball addresses and jobs, Glacier vaults, archive uploads, multipart archive uploads and
archive deletes, S3 Control jobs, Data Exchange data sets, S3 objects and S3 multipart uploads. Once
``--kill-after`` of them are acknowledged it sends the server SIGKILL, restarts it on the same data dir, waits
for its start-up sweep, and prints:

* acknowledged-but-lost: writes the server answered with success that the restarted server does not have (a
  resource it cannot find, an object or archive whose bytes differ, a deleted archive that is back);
* listed-without-bytes: stored rows (S3 objects and parts, Glacier archives and parts) whose bytes are missing;
* orphan bytes: files in the byte store that no row names, and staged files left in pending folders;
* the simulated clock: read just before the kill and just after the restart, against what the stored anchor
  implies for the real time between the two reads (none lost, none repeated).

Exits 1 when any figure is not 0 or the clock did not continue.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from botocore.utils import calculate_tree_hash
from sqlalchemy import select

from jobyard.clock import SharedClock
from jobyard.services.glacier.common import archive_key, part_key
from jobyard.store import FileStore, Store, sqlite_url
from jobyard.store.schema import resources
from jobyard.testing import admin_call, free_port, wait_healthy

ACCOUNT, REGION = "123456789012", "us-east-1"
KiB, MiB = 1024, 1024 * 1024
BUCKET, VAULT = "crash-bucket", "crash-vault"
ADDRESS = {"Name": "My Name", "Street1": "123 Main Street", "City": "Seattle", "StateOrProvince": "WA",
           "Country": "US", "PostalCode": "98101", "PhoneNumber": "425-555-5555"}
MANIFEST = {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": f"arn:aws:s3:::{BUCKET}/manifest.csv", "ETag": "60e460c9d1046e73f7dde5043ac3ae85"}}
REPORT = {"Bucket": f"arn:aws:s3:::{BUCKET}", "Prefix": "reports", "Format": "Report_CSV_20180820",
          "Enabled": True, "ReportScope": "AllTasks"}
FILE_KEY = re.compile(r"^(s3|glacier|dataexchange)/")


class Server:
    def __init__(self, data_dir: str, scale: float):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "serve", "--port", str(self.port), "--data-dir", data_dir,
             "--time-scale", str(scale)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.url, timeout=60)

    def client(self, service: str):
        options = dict(retries={"max_attempts": 0}, read_timeout=60, connect_timeout=5, max_pool_connections=64)
        if service == "s3control":
            options["proxies"] = {"http": self.url}   # botocore's {AccountId}. host prefix: the server is the proxy
        return boto3.session.Session().client(service, endpoint_url=self.url, region_name=REGION,
                                              aws_access_key_id=ACCOUNT, aws_secret_access_key="x",
                                              config=BotoConfig(**options))

    def clock(self) -> tuple[float, float, float]:
        """(real time the read was sent, real time its answer came, simulated time it answered)."""
        sent = time.time()
        now = admin_call(self.url, "GET", "clock")["now"]
        return sent, time.time(), datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()

    def settled(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while admin_call(self.url, "GET", "health")["files"] != "settled":
            if time.monotonic() > deadline:
                raise TimeoutError("the start-up sweep did not finish")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


# -- the writes: each returns what the restarted server must still show -------------------------------------

class Writes:
    def __init__(self, server: Server, seed: int, deletable: list[tuple[str, str]]):
        self.clients = {name: server.client(name) for name in
                        ("s3", "s3control", "glacier", "snowball", "dataexchange")}
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.deletable = deletable   # archives uploaded before the load, each deleted at most once

    def data(self, size: int) -> bytes:
        return os.urandom(size)

    def snowball_address(self, i):
        return ("snowball.address", self.clients["snowball"].create_address(Address=ADDRESS)["AddressId"])

    def snowball_job(self, i):
        snowball = self.clients["snowball"]
        address = snowball.create_address(Address=ADDRESS)["AddressId"]
        job = snowball.create_job(JobType="IMPORT", AddressId=address, ShippingOption="SECOND_DAY",
                                  RoleARN="arn:aws:iam::123456789012:role/snowball", SnowballType="EDGE",
                                  Resources={"S3Resources": [{"BucketArn": f"arn:aws:s3:::{BUCKET}"}]})["JobId"]
        return ("snowball.job", job)

    def glacier_vault(self, i):
        name = f"vault-{i}"
        self.clients["glacier"].create_vault(vaultName=name)
        return ("glacier.vault", name)

    def glacier_archive(self, i):
        body = self.data(self.rng.randint(1, 256) * KiB)
        archive = self.clients["glacier"].upload_archive(vaultName=VAULT, body=body)["archiveId"]
        return ("glacier.archive", archive, hashlib.sha256(body).hexdigest())

    def glacier_multipart(self, i):
        glacier, body = self.clients["glacier"], self.data(2 * MiB + self.rng.randint(1, 512) * KiB)
        upload = glacier.initiate_multipart_upload(vaultName=VAULT, partSize=str(MiB))["uploadId"]
        for start in range(0, len(body), MiB):
            part = body[start:start + MiB]
            glacier.upload_multipart_part(vaultName=VAULT, uploadId=upload, body=part,
                                          range=f"bytes {start}-{start + len(part) - 1}/*")
        archive = glacier.complete_multipart_upload(vaultName=VAULT, uploadId=upload, archiveSize=str(len(body)),
                                                    checksum=calculate_tree_hash(_Reader(body)))["archiveId"]
        return ("glacier.multipart", archive, hashlib.sha256(body).hexdigest())

    def glacier_delete(self, i):
        with self.lock:
            if not self.deletable:
                return self.glacier_archive(i)
            archive = self.deletable.pop()
        self.clients["glacier"].delete_archive(vaultName=VAULT, archiveId=archive)
        return ("glacier.deleted", archive)

    def s3control_job(self, i):
        job = self.clients["s3control"].create_job(
            AccountId=ACCOUNT, Operation={"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
            Manifest=MANIFEST, Report=REPORT, Priority=10, RoleArn="arn:aws:iam::123456789012:role/batch",
            ConfirmationRequired=True, ClientRequestToken=str(uuid.uuid4()))["JobId"]
        return ("s3control.job", job)

    def data_set(self, i):
        data_set = self.clients["dataexchange"].create_data_set(AssetType="S3_SNAPSHOT", Description="crash",
                                                                Name=f"set-{i}")["Id"]
        return ("dataexchange.data_set", data_set)

    def s3_object(self, i):
        key, body = f"objects/{i}", self.data(self.rng.randint(0, 256) * KiB)
        self.clients["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)
        return ("s3.object", key, hashlib.sha256(body).hexdigest())

    def s3_multipart(self, i):
        s3, key = self.clients["s3"], f"multipart/{i}"
        parts = [self.data(5 * MiB), self.data(self.rng.randint(1, 512) * KiB)]
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        etags = [s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=part)["ETag"]
                 for n, part in enumerate(parts, 1)]
        s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]})
        return ("s3.multipart", key, hashlib.sha256(b"".join(parts)).hexdigest())

    MIX = (("snowball_address", 12), ("snowball_job", 10), ("glacier_vault", 8), ("glacier_archive", 17),
           ("glacier_multipart", 4), ("glacier_delete", 8), ("s3control_job", 10), ("data_set", 12),
           ("s3_object", 16), ("s3_multipart", 3))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, n=-1):
        chunk = self.data[self.at:] if n < 0 else self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


# -- after the restart ------------------------------------------------------------------------------------

def lost(server: Server, acknowledged: list[tuple]) -> list[str]:
    """The acknowledged writes the restarted server does not show as acknowledged."""
    clients = {name: server.client(name) for name in ("s3", "s3control", "glacier", "snowball", "dataexchange")}
    store = Store(sqlite_url(os.path.join(DATA_DIR, "jobyard.db")))
    files = FileStore(os.path.join(DATA_DIR, "files"))   # only for its paths
    missing = []

    def archive(archive_id):
        with store.transaction() as tx:
            row = tx.get("glacier.archive", ACCOUNT, REGION, archive_id)
        return row

    def check(item):
        kind, name = item[0], item[1]
        try:
            if kind == "snowball.address":
                clients["snowball"].describe_address(AddressId=name)
            elif kind == "snowball.job":
                clients["snowball"].describe_job(JobId=name)
            elif kind == "glacier.vault":
                clients["glacier"].describe_vault(vaultName=name)
            elif kind == "s3control.job":
                clients["s3control"].describe_job(AccountId=ACCOUNT, JobId=name)
            elif kind == "dataexchange.data_set":
                clients["dataexchange"].get_data_set(DataSetId=name)
            elif kind in ("s3.object", "s3.multipart"):
                body = clients["s3"].get_object(Bucket=BUCKET, Key=name)["Body"].read()
                if hashlib.sha256(body).hexdigest() != item[2]:
                    return f"{item}: other bytes"
            elif kind in ("glacier.archive", "glacier.multipart"):
                row = archive(name)
                if row is None or row.state == "Deleted":
                    return f"{item}: no archive"
                path = Path(files.path(archive_key(ACCOUNT, REGION, name)))
                if hashlib.sha256(path.read_bytes()).hexdigest() != item[2]:
                    return f"{item}: other bytes"
            elif kind == "glacier.deleted":
                row = archive(name)
                if row is not None and row.state != "Deleted":
                    return f"{item}: deleted archive is back"
        except (ClientError, OSError) as error:
            return f"{item}: {error}"
        return None

    try:
        with ThreadPoolExecutor(16) as pool:
            missing = [m for m in pool.map(check, acknowledged) if m]
    finally:
        files.close()
        store.close()
    return missing


def bytes_check(data_dir: str) -> tuple[list[str], list[str]]:
    """(rows listed without their bytes, bytes no row names), read from a stopped server's data dir."""
    store = Store(sqlite_url(os.path.join(data_dir, "jobyard.db")))
    root = Path(data_dir, "files")
    try:
        named: set[str] = set()
        with store.engine.connect() as conn:
            rows = conn.execute(select(resources.c.kind, resources.c.account, resources.c.region, resources.c.id,
                                       resources.c.parent, resources.c.state, resources.c.doc)).all()
        for kind, account, region, rid, parent, state, doc in rows:
            for value in _strings(doc):
                if FILE_KEY.match(value):
                    named.add(value)
            if kind == "glacier.archive" and state != "Deleted":
                named.add(archive_key(account, region, rid))
            if kind == "glacier.part":
                named.add(part_key(account, region, parent, doc["Start"]))
    finally:
        store.close()
    files = FileStore(str(root))   # only for its paths (keys are hashed into folders): it stages nothing
    try:
        on_disk = {p for p in map(str, root.rglob("*")) if os.path.isfile(p) and "/.pending/" not in p}
        pending = [str(p) for p in Path(root, ".pending").rglob("*") if p.is_file()]
        # A string in a document that merely looks like a key (an S3 key starting with "s3/") names no bytes:
        # only keys of the byte store's own shapes must have their files.
        listed = {key for key in named if _is_file_key(key)}
        missing = sorted(key for key in listed if files.path(key) not in on_disk)
        orphans = sorted(on_disk - {files.path(key) for key in named}) + pending
    finally:
        files.close()
    return missing, orphans


def stored_clock(data_dir: str) -> dict:
    """The clock's anchor as the store keeps it (read from outside the server: SQLite in WAL mode)."""
    store = Store(sqlite_url(os.path.join(data_dir, "jobyard.db")))
    try:
        clock = SharedClock(store).read()
        return {"anchor_us": clock.anchor_us, "wall_anchor": clock.wall_anchor, "scale": clock.scale}
    finally:
        store.close()


def _is_file_key(key: str) -> bool:
    return bool(re.match(r"^s3/\d{12}/[0-9a-f]{32}$|^glacier/\d{12}/[^/]+/(archive|upload|output|inventory)/", key))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


DATA_DIR = ""


def main() -> int:
    global DATA_DIR
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--kill-after", type=float, default=0.5, help="share of --ops acknowledged before the kill")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        DATA_DIR = data_dir
        first = Server(data_dir, args.time_scale)
        s3, glacier = first.client("s3"), first.client("glacier")
        s3.create_bucket(Bucket=BUCKET)
        glacier.create_vault(vaultName=VAULT)
        deletable = [glacier.upload_archive(vaultName=VAULT, body=os.urandom(4 * KiB))["archiveId"]
                     for _ in range(args.ops * 8 // 100)]
        admin_call(first.url, "POST", "clock", {"advance": 86400})   # the anchor moves: it must stay moved
        writes = Writes(first, args.seed, list(deletable))
        names = [name for name, weight in Writes.MIX for _ in range(weight)]
        plan = [random.Random(args.seed + i).choice(names) for i in range(args.ops)]
        acknowledged, failed, lock = [], [0], threading.Lock()
        kill_at = int(args.ops * args.kill_after)
        killed = threading.Event()
        clock_before: list[tuple[float, float, float]] = []
        anchors: list[dict] = []

        def run(i):
            try:
                result = getattr(writes, plan[i])(i)
            except Exception:
                with lock:
                    failed[0] += 1
                return
            with lock:
                acknowledged.append(result)
                if len(acknowledged) >= kill_at and not killed.is_set():
                    killed.set()
                    clock_before.append(first.clock())
                    anchors.append(stored_clock(data_dir))
                    first.process.send_signal(signal.SIGKILL)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(run, range(args.ops)))
        load_time = time.perf_counter() - started
        first.process.wait(timeout=60)
        killed_by = first.process.returncode
        restart_started = time.perf_counter()
        second = Server(data_dir, args.time_scale)
        clock_after = second.clock()
        anchors.append(stored_clock(data_dir))
        second.settled()
        restart_time = time.perf_counter() - restart_started
        missing = lost(second, acknowledged)
        second.stop()
        without_bytes, orphans = bytes_check(data_dir)

    (sent_before, got_before, sim_before), (sent_after, got_after, sim_after) = clock_before[0], clock_after
    scale = args.time_scale
    # The reads are HTTP requests: each answered at some instant between its sending and its answer. Simulated
    # time that went on at ``scale`` throughout (the downtime included, none repeated) lies between these.
    low = sim_before + (sent_after - got_before) * scale - 0.01
    high = sim_before + (got_after - sent_before) * scale + 0.01
    # And the stored anchor after the restart describes the same timeline as the one before the kill.
    at = got_after
    timeline = [(a["anchor_us"] / 1e6 + (at - a["wall_anchor"]) * a["scale"]) for a in anchors]
    anchor_gap = abs(timeline[1] - timeline[0])
    clock_ok = low <= sim_after <= high and anchor_gap < 0.01
    kinds: dict[str, int] = {}
    for item in acknowledged:
        kinds[item[0]] = kinds.get(item[0], 0) + 1
    print(f"writes: {args.ops} from {args.threads} threads; acknowledged before the kill: {len(acknowledged)}, "
          f"failed (the kill): {failed[0]}, killed by signal {-killed_by} after {load_time:.1f} s")
    print("acknowledged by kind: " + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    print(f"restart to settled: {restart_time:.1f} s")
    print(f"acknowledged-but-lost: {len(missing)}")
    for line in missing[:10]:
        print("  " + line)
    print(f"listed-without-bytes: {len(without_bytes)}")
    for line in without_bytes[:10]:
        print("  " + line)
    print(f"orphan bytes: {len(orphans)}")
    for line in orphans[:10]:
        print("  " + line)
    print(f"simulated clock: {sim_after - sim_before:.1f} s on between reads {got_before - sent_before:.2f} s and "
          f"{got_after - sent_after:.2f} s long, {sent_after - got_before:.1f} s apart, at scale {scale:g} (so "
          f"{low - sim_before:.1f} to {high - sim_before:.1f} s); the stored anchor's timeline moved by "
          f"{anchor_gap * 1000:.1f} ms: {'continued from its anchor' if clock_ok else 'DID NOT CONTINUE'}")
    ok = not missing and not without_bytes and not orphans and clock_ok and killed_by == -signal.SIGKILL
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
