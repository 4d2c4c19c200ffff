"""How long a test waits for its emulator: from the fixture's start to the first answer, jobyard vs moto.

    python bench/fixture_start.py [--runs 5] [--warm 20]

Needs the ``bench`` extra (``moto[server]==5.2.6``). For each contender the clock runs from entering the
fixture (``jobyard.testing.serve()``, which the ``jobyard`` pytest fixture wraps; moto's ``mock_aws``; moto's
``ThreadedMotoServer`` started) to the first answer of a boto3 client it made (Glacier ListVaults: a job service
both serve). Measured:

- cold, imports included: a fresh interpreter, from before ``import`` to the first answer;
- cold: a fresh interpreter whose imports are done (as a test module's are at collection); for jobyard also
  after ``jobyard.testing.warm()``, which the pytest plugin calls once it has collected a test using a fixture;
- warm: the next fixtures in the same process (median of ``--warm``), and the stop that ends each.

One run here (2 CPUs shared with another workload): jobyard cold with imports 439 ms (1.37x mock_aws), cold
with imports done 220 ms (0.94x), after warm() 49 ms, warm 71 ms (0.76x), stop 21 ms; before the server
started without botocore and Alembic, 755 ms, 658 ms (2.23x), 75 ms and 72 ms.

Cold figures are the median of ``--runs`` fresh interpreters. Every figure is printed with its ratio to moto's
``mock_aws`` measured in the same run (below 1: jobyard is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

REGION, ACCOUNT = "us-east-1", "123456789012"


# -- one measurement, in this process ---------------------------------------------------------------------

def jobyard_fixture():
    from jobyard.testing import serve

    return _timed(lambda: serve(), lambda server: server.client("glacier"))


def mock_aws_fixture():
    import boto3
    from moto import mock_aws

    return _timed(lambda: mock_aws(), lambda _: boto3.client(
        "glacier", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"))


def moto_server_fixture():
    import contextlib

    import boto3
    from moto.server import ThreadedMotoServer

    from jobyard.testing import free_port

    @contextlib.contextmanager
    def started():
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()

    return _timed(started, lambda url: boto3.client(
        "glacier", endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing"))


def _timed(fixture, make_client) -> tuple[float, float]:
    """(start to first answer, stop) in seconds."""
    start = time.perf_counter()
    context = fixture()
    handle = context.__enter__()
    try:
        assert make_client(handle).list_vaults()["VaultList"] == []
        answered = time.perf_counter()
    finally:
        context.__exit__(None, None, None)
    return answered - start, time.perf_counter() - answered


CONTENDERS = {"jobyard": jobyard_fixture, "mock_aws": mock_aws_fixture, "ThreadedMotoServer": moto_server_fixture}


def _imports(name: str, warm: bool) -> None:
    import boto3  # noqa: F401

    if name == "jobyard":
        import jobyard.testing
        if warm:
            jobyard.testing.warm()
    elif name == "mock_aws":
        import moto  # noqa: F401
    else:
        import moto.server  # noqa: F401


def child(mode: str, name: str, warm_runs: int) -> dict:
    """Runs in a fresh interpreter: one cold measurement (and the warm ones after it)."""
    begin = time.perf_counter()
    if mode != "imports":
        _imports(name, warm=mode == "warmed")
    ready = time.perf_counter()
    first, _stop = CONTENDERS[name]()
    result = {"cold": first + (ready - begin if mode == "imports" else 0.0)}
    if warm_runs:
        runs = [CONTENDERS[name]() for _ in range(warm_runs)]
        result["warm"] = statistics.median(r[0] for r in runs)
        result["stop"] = statistics.median(r[1] for r in runs)
    return result


def in_child(mode: str, name: str, warm_runs: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, name, str(warm_runs)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per cold figure")
    parser.add_argument("--warm", type=int, default=20, help="warm fixtures per contender")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, name, warm_runs = args.child
        print(json.dumps(child(mode, name, int(warm_runs))))
        return

    rows: dict[str, dict[str, float]] = {}
    for name in CONTENDERS:
        cold = {mode: statistics.median(in_child(mode, name)["cold"] for _ in range(args.runs))
                for mode in ("imports", "imported")}
        if name == "jobyard":
            cold["warmed"] = statistics.median(in_child("warmed", name)["cold"] for _ in range(args.runs))
        warm = in_child("imported", name, args.warm)
        rows[name] = {**cold, "warm": warm["warm"], "stop": warm["stop"]}

    labels = {"imports": "cold, imports included", "imported": "cold, imports done",
              "warmed": "cold, after warm() (the plugin)", "warm": "warm (next fixtures)", "stop": "stop"}
    base = rows["mock_aws"]
    print(f"fixture start to first answer (Glacier ListVaults), median; ratio = x / mock_aws "
          f"({args.runs} fresh interpreters per cold figure, {args.warm} warm fixtures)")
    print(f"{'':34}" + "".join(f"{name:>26}" for name in CONTENDERS))
    for key, label in labels.items():
        cells = []
        for name in CONTENDERS:
            value = rows[name].get(key)
            if value is None:
                cells.append(f"{'-':>26}")
                continue
            reference = base.get(key) or base["imported"]
            cells.append(f"{value * 1000:>12.1f} ms  x{value / reference:>6.2f}  ")
        print(f"{label:34}" + "".join(cells))
    target = rows["jobyard"]
    print(f"jobyard within 0.3 s: cold after warm() {target['warmed'] <= 0.3}, warm {target['warm'] <= 0.3}, "
          f"cold with imports {target['imports'] <= 0.3}")


if __name__ == "__main__":
    main()
