"""Fuzz a real server with many malformed and random requests and print the figures.

    python bench/fuzz.py [--cases 100000] [--seed 20] [--state-every 25]

Starts a server (in this process, on a free port, clock frozen) with a few seeded resources, sends
``--cases`` requests from ``tests/fuzzing.py`` (every served operation of S3, S3 Control, Glacier, Snowball in
JSON and CBOR, Data Exchange and STS, valid and mutated), and prints the cases sent, the count of each status,
the 5xx count, the failures found, the ERROR records with a traceback in the server's log, the requests that
failed yet changed the stored state (checked on every ``--state-every``-th request), whether the server is
healthy afterwards, and the time taken. Exits 1 when any of those is wrong.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from fuzzing import Fuzzer, Judge, Sender, seed_pool, snapshot  # noqa: E402

from jobyard.config import Config  # noqa: E402
from jobyard.testing import admin_call, running_server  # noqa: E402

ACCOUNT = "424242424242"


class Failures(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--state-every", type=int, default=25)
    args = parser.parse_args()
    failures = Failures()
    for name in ("jobyard", "uvicorn.error"):
        logging.getLogger(name).addHandler(failures)
    statuses, mutations, found, changed = collections.Counter(), collections.Counter(), [], []
    with tempfile.TemporaryDirectory() as data_dir, \
            running_server(Config(data_dir=data_dir, time_scale=0)) as server:
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)   # its warnings of malformed HTTP, each time
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        fuzzer = Fuzzer(args.seed, ACCOUNT, f"{host}:{port}", seed_pool(server.url, ACCOUNT))
        judge, sender = Judge(), Sender(host, int(port), timeout=60)
        started = time.perf_counter()
        for case in fuzzer.cases(args.cases):
            check = args.state_every and case.index % args.state_every == 0
            before = snapshot(server.emulator, data_dir) if check else None
            answer = sender.send(case)
            statuses[answer.status or "no answer"] += 1
            mutations[case.mutation] += 1
            verdict = judge.verdict(case, answer)
            if verdict:
                found.append(f"{case.describe()}: {verdict}")
            if check and (answer.status >= 400 or answer.error) and snapshot(server.emulator, data_dir) != before:
                changed.append(case.describe())
            if (case.index + 1) % 10_000 == 0:
                print(f"  {case.index + 1} cases, {time.perf_counter() - started:.0f} s", flush=True)
        elapsed = time.perf_counter() - started
        sender.close()
        healthy = admin_call(server.url, "GET", "health")["status"] == "ok"
    fivexx = sum(n for status, n in statuses.items() if isinstance(status, int) and status >= 500)
    print(f"cases: {args.cases} (seed {args.seed}) in {elapsed:.1f} s, {args.cases / elapsed:.0f} requests/s")
    print("statuses: " + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items(), key=str)))
    print("mutations: " + ", ".join(f"{m}: {n}" for m, n in sorted(mutations.items())))
    print(f"5xx: {fivexx} ({statuses[501]} of them 501 for operations jobyard does not serve)")
    print(f"failures: {len(found)}")
    for line in found[:20]:
        print("  " + line)
    print(f"tracebacks in the server's log: {len(failures.records)}")
    for record in failures.records[:5]:
        print("  " + record.getMessage())
    print(f"failed requests that changed state: {len(changed)} (of those checked: every {args.state_every}th)")
    for line in changed[:10]:
        print("  " + line)
    print(f"healthy afterwards: {'yes' if healthy else 'NO'}")
    return 0 if not found and not failures.records and not changed and healthy else 1


if __name__ == "__main__":
    sys.exit(main())
