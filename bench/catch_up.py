"""Catch-up cost: N Snowball jobs created at one instant, then one clock jump applies all their transitions.

    python bench/catch_up.py [--jobs 10000] [--days 30] [--one-at-a-time]

Prints transitions applied, seconds (wall and this process's CPU: on a shared machine the CPU time is the
steadier figure), and transitions per second. ``--one-at-a-time`` runs the reference
engine (a savepoint and a re-read per transition), for the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from jobyard.config import Config
from jobyard.server import Emulator
from jobyard.services.snowball import jobs

ACCOUNT, REGION = "000000000000", "us-east-1"
DAY_US = 86400 * 1_000_000


def seed(emulator: Emulator, count: int, start_us: int) -> None:
    with emulator.store.transaction() as tx:
        batch = []
        for n in range(count):
            job_type = ("IMPORT", "EXPORT", "LOCAL_USE")[n % 3]
            doc = {"JobType": job_type, "SnowballType": "EDGE", "ShippingOption": "STANDARD",
                   "Description": f"bench job {n}",
                   "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::a"}]}}
            if job_type == "EXPORT":
                doc["IsMaster"] = True
            batch.append(jobs.new_job(ACCOUNT, REGION, start_us + n, doc))
            if len(batch) == 5000:
                tx.insert_many(batch)
                batch = []
        tx.insert_many(batch)


def run(count: int, days: int, one_at_a_time: bool = False) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        emulator = Emulator(Config(data_dir=data_dir, time_scale=0))
        try:
            start = emulator.clock.now_us()
            seed(emulator, count, start)
            if one_at_a_time:
                emulator.lifecycle.batch_size = 1
            began, cpu = time.perf_counter(), time.process_time()
            with emulator.store.transaction() as tx:
                applied = emulator.lifecycle.catch_up(tx, start + days * DAY_US)
            return applied, time.perf_counter() - began, time.process_time() - cpu
        finally:
            emulator.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--one-at-a-time", action="store_true")
    args = parser.parse_args()
    applied, seconds, cpu = run(args.jobs, args.days, args.one_at_a_time)
    print(f"catch-up: {applied} transitions over {args.jobs} Snowball jobs in {seconds:.2f} s "
          f"({applied / seconds:,.0f}/s), {cpu:.2f} s CPU ({applied / cpu:,.0f}/s)")


if __name__ == "__main__":
    main()
