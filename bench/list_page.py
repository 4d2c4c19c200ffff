"""Snowball ListJobs page cost: small vs large table, first vs deep page, against a bare ASGI baseline.

    python bench/list_page.py [--small 1000] [--large 100000] [--requests 2000]

It also times the same page in process (``Emulator.handle``, no HTTP): the store's and the handler's share.

Seeds jobs straight into the store, serves them with `jobyard` on uvicorn, and times 10-item ListJobs
pages over one keep-alive connection. Prints per-request latency and the ratios that matter: a page must
cost the same at any table size and any depth (keyset pagination), and jobyard's overhead is shown
against a bare ASGI app returning a fixed body on the same server stack, measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time

import uvicorn

from jobyard.config import Config
from jobyard.services.snowball import jobs
from jobyard.testing import free_port, running_server
from jobyard.wire import Request

ACCOUNT, REGION = "000000000000", "us-east-1"
TARGET = "AWSIESnowballJobManagementService.ListJobs"
STATES = ["New", "PreparingAppliance", "WithCustomer", "InTransitToAWS", "Complete", "Cancelled"]


def seed(emulator, count: int) -> None:
    base_us = emulator.clock.now_us() - count * 1_000_000
    batch = []
    with emulator.store.transaction() as tx:
        for n in range(count):
            doc = {"JobType": ("IMPORT", "EXPORT", "LOCAL_USE")[n % 3], "SnowballType": "EDGE",
                   "Description": f"seeded job {n}", "AddressId": "ADID00000000-0000-0000-0000-000000000000"}
            job = jobs.new_job(ACCOUNT, REGION, base_us + n * 1_000_000, doc, schedule=False)
            job.state = STATES[n % len(STATES)]
            batch.append(job)
            if len(batch) == 5000:
                tx.insert_many(batch)
                batch = []
        tx.insert_many(batch)


def list_request(conn, body: bytes) -> dict:
    conn.request("POST", "/", body=body, headers={"X-Amz-Target": TARGET,
                                                  "Content-Type": "application/x-amz-json-1.1"})
    response = conn.getresponse()
    payload = response.read()
    assert response.status == 200, payload
    return json.loads(payload)


def time_requests(port: int, body: bytes, count: int) -> float:
    """Median seconds per request over ``count`` requests on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("POST", "/", body=body, headers={"X-Amz-Target": TARGET,
                                                      "Content-Type": "application/x-amz-json-1.1"})
        conn.getresponse().read()
        samples.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(samples)


def in_process(emulator, body: bytes, count: int) -> float:
    """Median seconds per ``Emulator.handle`` of one ListJobs request, in process."""
    headers = {"x-amz-target": TARGET, "content-type": "application/x-amz-json-1.1", "host": "localhost"}
    samples = []
    for _ in range(count):
        request = Request("POST", "/", "/", "", dict(headers), body, host="localhost")
        start = time.perf_counter()
        response = emulator.handle(request)
        samples.append(time.perf_counter() - start)
        assert response.status == 200, response.body
    return statistics.median(samples)


def deep_token(port: int, pages: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = {"MaxResults": 100}
    for _ in range(pages):
        token = list_request(conn, json.dumps(body).encode())["NextToken"]
        body["NextToken"] = token
    return token


async def bare_app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = b'{"JobListEntries":[]}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/x-amz-json-1.1"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def bare_baseline(count: int) -> float:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(bare_app, port=port, log_level="warning", access_log=False,
                                          lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        return time_requests(port, b"{}", count)
    finally:
        server.should_exit = True
        thread.join()


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.02)


def measure(count: int, requests: int, deep_pages: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        with running_server(Config(data_dir=data_dir, time_scale=0)) as server:
            started = time.perf_counter()
            seed(server.emulator, count)
            print(f"  seeded {count:>9,} jobs in {time.perf_counter() - started:6.1f} s", flush=True)
            port = int(server.url.rsplit(":", 1)[1])
            first = time_requests(port, b'{"MaxResults": 10}', requests)
            token = deep_token(port, deep_pages)
            deep = time_requests(port, json.dumps({"MaxResults": 10, "NextToken": token}).encode(), requests)
            handled = in_process(server.emulator, b'{"MaxResults": 10}', requests)
            return first, deep, handled


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args(argv)
    deep_pages = max(1, min(args.small, args.large) // 100 - 1)

    baseline = bare_baseline(args.requests)
    print("Snowball ListJobs, MaxResults=10, one keep-alive connection, median per request")
    small_first, small_deep, small_handled = measure(args.small, args.requests, deep_pages)
    large_first, large_deep, large_handled = measure(args.large, args.requests, args.large // 100 - 1)
    print(f"  bare ASGI app (fixed body)       {baseline * 1e6:8.0f} us")
    print(f"  {args.small:>9,} jobs, first page      {small_first * 1e6:8.0f} us")
    print(f"  {args.small:>9,} jobs, last page       {small_deep * 1e6:8.0f} us")
    print(f"  {args.large:>9,} jobs, first page      {large_first * 1e6:8.0f} us")
    print(f"  {args.large:>9,} jobs, page {args.large // 100 * 10:>7,}     {large_deep * 1e6:8.0f} us")
    print(f"  in process (Emulator.handle), {args.small:>9,} jobs, first page {small_handled * 1e6:8.0f} us")
    print(f"  in process (Emulator.handle), {args.large:>9,} jobs, first page {large_handled * 1e6:8.0f} us")
    print("ratios (1.00 = same cost)")
    print(f"  large/small table, first page     {large_first / small_first:5.2f}")
    print(f"  deep/first page, large table      {large_deep / large_first:5.2f}")
    print(f"  bare ASGI throughput / jobyard    {large_first / baseline:5.2f}  (jobyard = 1/{large_first / baseline:.1f} of bare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
