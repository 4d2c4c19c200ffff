"""Every row of the performance table, each as a ratio against its reference measured in the same run.

    python bench/table.py [--large 1000000] [--seconds 5] [--rows list,create,glacier,catch-up,walk,start,memory]

Servers run as their own processes with `jobyard serve`'s uvicorn settings; load comes from wrk (1 thread,
16 keep-alive connections; `apt-get install wrk` if it is missing). References:

* a bare ASGI app on the same uvicorn settings (the ceiling for any request),
* moto's server (moto[server]) for Glacier ListJobs,
* a canned-pages server (the same pages, answered from memory) for a boto3 paginator walk,
* the floors, the least any Python server on this stack can spend: bench/floor.py answers Snowball ListJobs
  from the same store with a minimal app on the raw sqlite3 module and orjson and jobyard's own SQL (beside
  the ListJobs and walk rows); a process that only imports SQLAlchemy and uvicorn (beside start-up),
* the same measurement at a small size, or at page 1, or at the start of a run, where the row is about
  growth; the issue's target where a row has no reference.

Large stores are filled with `jobyard seed`. Timings on a shared machine are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT, REGION = "000000000000", "us-east-1"
SNOWBALL = "AWSIESnowballJobManagementService"
# What any server on this stack imports before it can answer: the floor of start to healthy.
IMPORT_FLOOR = "import sqlalchemy, uvicorn.main, uvicorn.protocols.http.httptools_impl, uvloop"
rows: list[tuple[str, str, str, str, str]] = []   # what, measured, reference, ratio, target


def row(what: str, measured: str, reference: str, ratio: str, target: str) -> None:
    rows.append((what, measured, reference, ratio, target))
    print(f"  {what}: {measured} | {reference} | {ratio} | target {target}", flush=True)


# -- processes ---------------------------------------------------------------------------------------------

def free_port() -> int:
    from jobyard.testing import free_port as free
    return free()


def healthy(url: str, path: str = "/_jobyard/health", timeout: float = 60) -> float:
    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url + path, timeout=2) as response:
                response.read()
                return time.perf_counter() - start
        except OSError as error:
            if getattr(error, "code", None) is not None:   # any HTTP answer means it is up
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise
            time.sleep(0.005)


@contextmanager
def process(args: list[str], url: str, path: str = "/_jobyard/health"):
    """A server process; yields (pid, seconds from start to its first answer)."""
    began = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy(url, path)
        yield proc.pid, time.perf_counter() - began
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def jobyard(data_dir: str):
    port = free_port()
    args = [sys.executable, "-m", "jobyard.cli", "serve", "--port", str(port), "--data-dir", data_dir,
            "--time-scale", "0"]
    with process(args, f"http://127.0.0.1:{port}") as (pid, started):
        yield f"http://127.0.0.1:{port}", pid, started


@contextmanager
def bare():
    port = free_port()
    with process([sys.executable, __file__, "--serve-bare", str(port)], f"http://127.0.0.1:{port}", "/") as (pid, _):
        yield f"http://127.0.0.1:{port}", pid


@contextmanager
def floor(data_dir: str):
    port = free_port()
    store_file = os.path.join(data_dir, "jobyard.db")
    with process([sys.executable, os.path.join(HERE, "floor.py"), str(port), store_file], f"http://127.0.0.1:{port}",
                 "/one") as (pid, _):
        yield f"http://127.0.0.1:{port}", pid


@contextmanager
def canned(pages_file: str):
    port = free_port()
    with process([sys.executable, __file__, "--serve-canned", str(port), pages_file], f"http://127.0.0.1:{port}",
                 "/") as (pid, _):
        yield f"http://127.0.0.1:{port}", pid


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- wrk ---------------------------------------------------------------------------------------------------

_warm: set = set()


def wrk(url: str, pid: int, seconds: float, method: str = "GET", path: str = "/", body: bytes = b"",
        headers: dict | None = None) -> tuple[float, float]:
    """Requests per second and server CPU microseconds per request."""
    headers = dict(headers or {})
    lua = [f'wrk.method = "{method}"', f"wrk.body = {json.dumps(body.decode())}"]
    lua += [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lua) + "\n")
    try:
        if pid not in _warm:   # a server's first requests load what it caches: not part of the figure
            subprocess.run(["wrk", "-t1", "-c16", "-d1s", "-s", script.name, url + path], capture_output=True)
            _warm.add(pid)
        before = cpu_seconds(pid)
        out = subprocess.run(["wrk", "-t1", "-c16", f"-d{max(1, round(seconds))}s", "-s", script.name, url + path],
                             capture_output=True, text=True, check=True).stdout
        used = cpu_seconds(pid) - before
    finally:
        os.unlink(script.name)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors and int(errors.group(1)) > total // 100:
        raise RuntimeError(f"{method} {path}: {errors.group(1)} error answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), used / max(1, total) * 1e6


def snowball_list(body: dict) -> dict:
    return {"method": "POST", "path": "/", "body": json.dumps(body).encode(),
            "headers": {"X-Amz-Target": f"{SNOWBALL}.ListJobs", "Content-Type": "application/x-amz-json-1.1"}}


def call(url: str, **request) -> dict:
    req = urllib.request.Request(url + request.get("path", "/"), data=request.get("body") or None,
                                 method=request.get("method", "GET"), headers=request.get("headers", {}))
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def seed(data_dir: str, service: str, jobs: int) -> None:
    subprocess.run([sys.executable, "-m", "jobyard.cli", "seed", "--service", service, "--jobs", str(jobs),
                    "--data-dir", data_dir, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    os.sync()   # the kernel's write-back of the new store, not the measurements after it, pays for its pages


def client(service: str, url: str, **config):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}, **config))


# -- the rows ----------------------------------------------------------------------------------------------

def list_rows(tmp: str, large: int, seconds: float) -> None:
    small = os.path.join(tmp, "small")
    for service in ("snowball", "s3control", "dataexchange"):
        seed(small, service, 1000)
    # The bare app, jobyard and the floor served at once and measured in turns (best of three each).
    with bare() as (bare_url, bare_pid), jobyard(small) as (url, pid, _), floor(small) as (floor_url, floor_pid):
        dx = client("dataexchange", url)
        data_set = dx.list_data_sets()["DataSets"][0]["Id"]
        page = snowball_list({"MaxResults": 10})
        requests = {
            "Snowball ListJobs MaxResults=10": page,
            "S3 Control ListJobs MaxResults=10": {"path": "/v20180820/jobs?maxResults=10",
                                                  "headers": {"x-amz-account-id": ACCOUNT, "Authorization": _sig("s3")}},
            "Data Exchange ListJobs MaxResults=10": {"path": f"/v1/jobs?maxResults=10&dataSetId={data_set}",
                                                     "headers": {"Authorization": _sig("dataexchange")}},
        }
        # Each floor, and the jobyard pages it is the floor of.
        floors = {"four US regions, as jobyard reads Snowball's page": ({**page, "path": "/"},
                                                                       ["Snowball ListJobs MaxResults=10"]),
                  "one region, as S3 Control's and Data Exchange's pages": ({**page, "path": "/one"},
                                                                            ["S3 Control ListJobs MaxResults=10",
                                                                             "Data Exchange ListJobs MaxResults=10"])}
        runs: dict[str, list] = {}
        for _ in range(3):
            runs.setdefault("bare", []).append(wrk(bare_url, bare_pid, seconds, **snowball_list({})))
            for name, request in requests.items():
                runs.setdefault(name, []).append(wrk(url, pid, seconds, **request))
            for name, (request, _) in floors.items():
                runs.setdefault(name, []).append(wrk(floor_url, floor_pid, seconds, **request))
    best = {name: max(measured) for name, measured in runs.items()}
    bare_rate, bare_cpu = best["bare"]
    row("bare ASGI app, fixed body", f"{bare_rate:,.0f} req/s, {bare_cpu:.0f} us CPU/req", "", "", "the ceiling")
    for name in requests:
        rate, cpu = best[name]
        row(f"{name}, 1,000 jobs", f"{rate:,.0f} req/s, {cpu:.0f} us CPU/req", f"bare {bare_rate:,.0f} req/s",
            f"{rate / bare_rate:.3f}", ">= 0.33")
    # The floor on the same store: how much of the ceiling a page can reach at all here.
    for name, (_, pages) in floors.items():
        rate, cpu = best[name]
        mine = max(best[page_name][0] for page_name in pages)
        which = "Snowball page" if len(pages) == 1 else "faster of the two"
        row(f"  floor: the page on raw sqlite3 + orjson, {name}", f"{rate:,.0f} req/s, {cpu:.0f} us CPU/req",
            f"bare {bare_rate:,.0f} req/s; jobyard's {which} {mine / rate:.2f} of this", f"{rate / bare_rate:.3f}",
            "none: what is reachable")
    big = os.path.join(tmp, "large")
    began = time.perf_counter()
    seed(big, "snowball", large)
    seeded = time.perf_counter() - began
    row(f"jobyard seed, {large:,} Snowball jobs", f"{seeded:.1f} s", "", "", "< 60 s for 1,000,000")
    # Both stores served at once and measured in turns (best of three each), so a burst of load elsewhere on
    # the machine does not decide the ratio.
    page = snowball_list({"MaxResults": 10})
    with jobyard(small) as (small_url, small_pid, _), jobyard(big) as (url, pid, started):
        small_runs, large_runs = [], []
        for _ in range(3):
            small_runs.append(wrk(small_url, small_pid, seconds, **page))
            large_runs.append(wrk(url, pid, seconds, **page))
        (small_rate, small_cpu), (rate, cpu) = max(small_runs), max(large_runs)
        row(f"Snowball ListJobs MaxResults=10, {large:,} jobs", f"{rate:,.0f} req/s, {cpu:.0f} us CPU/req",
            f"1,000 jobs {small_rate:,.0f} req/s, {small_cpu:.0f} us CPU/req",
            f"{rate / small_rate:.2f} (CPU {small_cpu / cpu:.2f})", ">= 0.90")
        token = _deep_token(url, int(large * 0.9))
        deep_page = snowball_list({"MaxResults": 10, "NextToken": token})
        first_runs, deep_runs = [], []
        for _ in range(3):
            first_runs.append(wrk(url, pid, seconds, **page)[0])
            deep_runs.append(wrk(url, pid, seconds, **deep_page)[0])
        first, deep = max(first_runs), max(deep_runs)
        row("deep page (90 % in) vs page 1", f"{1e6 / deep:,.0f} us/req", f"page 1 {1e6 / first:,.0f} us/req",
            f"{first / deep:.2f}", "<= 1.10")
        row(f"resident memory, {large:,} jobs, after serving", f"{rss_mib(pid):.0f} MB", "", "",
            "<= 100 MB at 1,000,000")
    # Start-up in turns too: the median of five starts of each, and of five runs of the import floor.
    starts: dict[str, list[float]] = {"large": [], "empty": [], "floor": []}
    for _ in range(5):
        for name, data_dir in (("large", big), ("empty", os.path.join(tmp, "empty"))):
            with jobyard(data_dir) as (_, _, started):
                starts[name].append(started)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True)
        starts["floor"].append(time.perf_counter() - began)
    started_large, started_empty, floor_start = (statistics.median(starts[name]) for name in ("large", "empty", "floor"))
    row("start to healthy (median of 5)", f"{started_large:.2f} s ({large:,} jobs)", f"empty store {started_empty:.2f} s",
        f"{started_large / started_empty:.2f}", "<= 0.3 s")
    row("  floor: a process that imports SQLAlchemy and uvicorn, then exits", f"{floor_start:.2f} s",
        f"jobyard's empty store {started_empty:.2f} s", f"{started_empty / floor_start:.2f}", "none: what is reachable")


def _sig(service: str) -> str:
    """An Authorization header that routes the request (jobyard checks no signature without --auth)."""
    return (f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/{REGION}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


def _deep_token(url: str, skip: int) -> str:
    """The token of the page ``skip`` jobs in (ListJobs pages of 100 until there)."""
    body, seen = {"MaxResults": 100}, 0
    while seen < skip:
        page = call(url, **snowball_list(body))
        seen += len(page["JobListEntries"])
        body["NextToken"] = page["NextToken"]
    return body["NextToken"]


def create_rows(tmp: str, seconds: float) -> None:
    with jobyard(os.path.join(tmp, "create")) as (url, pid, _):
        snowball = client("snowball", url)
        address = snowball.create_address(Address={
            "Name": "N", "Street1": "1 Main St", "City": "Seattle", "StateOrProvince": "WA", "Country": "US",
            "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
        body = json.dumps({"JobType": "IMPORT", "AddressId": address, "SnowballType": "EDGE",
                           "RoleARN": "arn:aws:iam::000000000000:role/r",
                           "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::b"}]}}).encode()
        rate, cpu = wrk(url, pid, seconds, method="POST", body=body,
                        headers={"X-Amz-Target": f"{SNOWBALL}.CreateJob", "Content-Type": "application/x-amz-json-1.1"})
        row("Snowball CreateJob, durable", f"{rate:,.0f} /s, {cpu:.0f} us CPU/req", "target 2,000 /s",
            f"{rate / 2000:.2f}", ">= 1.00")
    # InitiateJob on a store that keeps growing, in turns with one emptied before each measurement.
    with jobyard(os.path.join(tmp, "grown")) as grown, jobyard(os.path.join(tmp, "fresh")) as fresh:
        grown_request, in_flight = _initiate_request(grown[0]), 0
        for _ in range(2):   # jobs in flight before the measurements start
            in_flight += wrk(grown[0], grown[1], seconds, **grown_request)[0] * seconds
        grown_runs, fresh_runs, before = [], [], in_flight
        for _ in range(3):
            call(fresh[0], method="POST", path="/_jobyard/reset")
            fresh_runs.append(wrk(fresh[0], fresh[1], seconds, **_initiate_request(fresh[0]))[0])
            rate = wrk(grown[0], grown[1], seconds, **grown_request)[0]
            grown_runs.append(rate)
            in_flight += rate * seconds
        row("Glacier InitiateJob Standard, as in-flight jobs grow", f"{max(grown_runs):,.0f} /s with "
            f"{before:,.0f} to {in_flight:,.0f} in flight",
            f"{max(fresh_runs):,.0f} /s from none", f"{max(grown_runs) / max(fresh_runs):.2f}", "flat (~1.00)")


def _initiate_request(url: str) -> dict:
    """A Standard archive retrieval in a new vault of the server at ``url``."""
    glacier = client("glacier", url)
    glacier.create_vault(vaultName="v")
    archive = glacier.upload_archive(vaultName="v", body=b"x" * 1024)["archiveId"]
    return {"method": "POST", "path": "/-/vaults/v/jobs", "headers": {
        "Authorization": _sig("glacier"), "Content-Type": "application/json", "x-amz-glacier-version": "2012-06-01"},
        "body": json.dumps({"Type": "archive-retrieval", "ArchiveId": archive, "Tier": "Standard"}).encode()}


def glacier_rows(tmp: str, seconds: float) -> None:
    def fill(url: str, vault: str, count: int) -> None:
        glacier = client("glacier", url)
        glacier.create_vault(vaultName=vault)
        archive = glacier.upload_archive(vaultName=vault, body=b"x" * 1024)["archiveId"]
        for _ in range(count):
            glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": archive})

    request = {"path": "/-/vaults/big/jobs?limit=10", "headers": {"Authorization": _sig("glacier"),
                                                                  "x-amz-glacier-version": "2012-06-01"}}
    small = {**request, "path": "/-/vaults/small/jobs?limit=10"}
    with jobyard(os.path.join(tmp, "glacier")) as (url, pid, _):
        fill(url, "big", 2000)
        ours, _ = wrk(url, pid, seconds, **request)
    port = free_port()
    with process([sys.executable, "-m", "moto.server", "-p", str(port)], f"http://127.0.0.1:{port}",
                 "/moto-api/") as (moto_pid, _):
        moto = f"http://127.0.0.1:{port}"
        fill(moto, "big", 2000)
        fill(moto, "small", 10)
        theirs, _ = wrk(moto, moto_pid, seconds, **request)
        theirs_small, _ = wrk(moto, moto_pid, seconds, **small)
    row("Glacier ListJobs limit=10, 2,000 jobs", f"{ours:,.0f} req/s", f"moto {theirs:,.1f} req/s (all 2,000)",
        f"{ours / theirs:.0f}x", ">= 300x")
    row("  same against moto on a vault of 10 jobs", f"{ours:,.0f} req/s", f"moto {theirs_small:,.0f} req/s",
        f"{ours / theirs_small:.1f}x", ">= 10x")


def catch_up_rows() -> None:
    sys.path.insert(0, HERE)
    import catch_up
    applied, batched, cpu = catch_up.run(10_000, 30)
    one, single, _ = catch_up.run(2_000, 30, one_at_a_time=True)
    row("catch-up after a 30-day jump, 10,000 Snowball jobs", f"{applied:,} transitions in {batched:.1f} s "
        f"({applied / batched:,.0f}/s; {cpu:.1f} s CPU)", f"one per savepoint {one / single:,.0f}/s (2,000 jobs)",
        f"{(applied / batched) / (one / single):.1f}x", "100,000 in < 2 s")


def walk_rows(tmp: str) -> None:
    data_dir = os.path.join(tmp, "walk")
    seed(data_dir, "snowball", 10_000)
    with jobyard(data_dir) as (url, pid, _):
        snowball = client("snowball", url)
        pages, body = {}, {"MaxResults": 100}
        while True:   # the pages as jobyard gives them, for the canned server
            page = call(url, **snowball_list(body))
            pages[body.get("NextToken", "")] = page
            if "NextToken" not in page:
                break
            body = {"MaxResults": 100, "NextToken": page["NextToken"]}
        ours = _walk(snowball)
    pages_file = os.path.join(tmp, "pages.json")
    with open(pages_file, "w") as f:
        json.dump(pages, f)
    with canned(pages_file) as (url, pid):
        theirs = _walk(client("snowball", url))
    with floor(data_dir) as (url, pid):
        least = _walk(client("snowball", url))
    row("boto3 paginator walk, 10,000 Snowball jobs, PageSize 100", f"{ours:.3f} s", f"canned pages {theirs:.3f} s",
        f"{ours / theirs:.2f}x", "<= 1.25x")
    row("  same walk against the floor", f"{least:.3f} s", f"canned pages {theirs:.3f} s", f"{least / theirs:.2f}x",
        "none: what is reachable")


def _walk(snowball) -> float:
    best = None
    for _ in range(3):
        began = time.perf_counter()
        count = sum(len(p["JobListEntries"]) for p in
                    snowball.get_paginator("list_jobs").paginate(PaginationConfig={"PageSize": 100}))
        took = time.perf_counter() - began
        assert count == 10_000, count
        best = took if best is None else min(best, took)
    return best


# -- the reference servers (run as their own processes) ----------------------------------------------------

def serve_bare(port: int) -> None:
    import uvicorn
    sys.path.insert(0, HERE)
    from list_page import bare_app   # the same fixed answer list_page.py measures against

    uvicorn.run(bare_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on",
                ws="none")   # `jobyard serve`'s settings


def serve_canned(port: int, pages_file: str) -> None:
    import uvicorn
    sys.path.insert(0, HERE)
    from floor import answer, read_body

    with open(pages_file) as f:
        pages = {token: json.dumps(page).encode() for token, page in json.load(f).items()}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        asked = json.loads(await read_body(receive) or b"{}")
        await answer(send, pages.get(asked.get("NextToken", ""), b"{}"))

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", ws="none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1_000_000, help="jobs in the large store (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=5, help="wrk duration of each measurement")
    parser.add_argument("--rows", default="list,create,glacier,catch-up,walk",
                        help="which groups of rows (list includes start-up and memory)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-canned", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_canned:
        serve_canned(int(args.serve_canned[0]), args.serve_canned[1])
        return 0
    if shutil.which("wrk") is None:
        print("bench/table.py needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2
    wanted = set(args.rows.split(","))
    print(f"jobyard performance table ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}); "
          "measured | reference | ratio | target", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if "list" in wanted:
            list_rows(tmp, args.large, args.seconds)
        if "create" in wanted:
            create_rows(tmp, args.seconds)
        if "glacier" in wanted:
            glacier_rows(tmp, args.seconds)
        if "catch-up" in wanted:
            catch_up_rows()
        if "walk" in wanted:
            walk_rows(tmp)
    print("\n| what | jobyard | reference in the same run | ratio | target |\n|---|---|---|---|---|")
    for what, measured, reference, ratio, target in rows:
        print(f"| {what} | {measured} | {reference} | {ratio} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
