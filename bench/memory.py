"""The server's memory while it takes and gives back large uploads: it must not grow with their size.

    python bench/memory.py [--size-mib 2048]

Starts ``jobyard serve`` as its own process and, with boto3, uploads an S3 object of ``--size-mib`` MiB as a
multipart upload (``upload_fileobj``) and again in one ``put_object``, and a Glacier archive of the same size
as a multipart upload; downloads each one and checks its bytes (MD5), its ETag and the archive's tree hash.
Prints the server's peak resident memory over its resident memory before the uploads (from
``/proc/PID/status``: VmHWM after resetting it through ``/proc/PID/clear_refs``, and VmRSS sampled every
20 ms), and each phase's throughput. ``tests/test_memory.py`` runs the same with 256 MiB.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.utils import calculate_tree_hash

from jobyard.testing import admin_call, free_port, wait_healthy

MiB = 1024 * 1024
ACCOUNT, REGION = "123456789012", "us-east-1"


# -- the server process and its memory -------------------------------------------------------------------

def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class Server:
    """``jobyard serve`` in its own process, with a sampler of its resident memory."""

    def __init__(self, data_dir: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(data_dir, "server.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "serve", "--port", str(self.port), "--data-dir", data_dir,
             "--time-scale", "0"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_healthy(self.url)
        self.pid = self.process.pid
        self.peak_sampled_kib = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_sampled_kib = max(self.peak_sampled_kib, status_kib(self.pid, "VmRSS"))
            except (OSError, KeyError):
                return
            time.sleep(0.02)

    def start_measuring(self) -> int:
        """Reset the peak and start sampling; returns the resident memory now (KiB)."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")   # resets VmHWM to the current VmRSS
        except OSError:
            pass
        baseline = status_kib(self.pid, "VmRSS")
        self.peak_sampled_kib = baseline
        self._sampler.start()
        return baseline

    def peak_kib(self) -> int:
        return max(self.peak_sampled_kib, status_kib(self.pid, "VmHWM"))

    def stop(self) -> None:
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# -- the workload -----------------------------------------------------------------------------------------

def make_source(path: str, size: int) -> str:
    """A file of ``size`` bytes that no chunk of repeats (so a mix-up of parts shows); returns its MD5 hex."""
    md5 = hashlib.md5()
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for n in range(0, size, MiB):
            chunk = (n.to_bytes(8, "big") + block[8:])[:min(MiB, size - n)]
            md5.update(chunk)
            f.write(chunk)
    return md5.hexdigest()


def md5_of_stream(stream, size_hint: int = MiB) -> tuple[str, int]:
    md5, total = hashlib.md5(), 0
    while chunk := stream.read(size_hint):
        md5.update(chunk)
        total += len(chunk)
    return md5.hexdigest(), total


def multipart_etag(path: str, part_size: int) -> str:
    digests = []
    with open(path, "rb") as f:
        while chunk := f.read(part_size):
            digests.append(hashlib.md5(chunk).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def glacier_part_size(size: int) -> int:
    """1 MiB times a power of two, giving at most 16 parts and at least 1 MiB."""
    part = MiB
    while part * 16 < size:
        part *= 2
    return part


@contextmanager
def timed(figures: dict, name: str, size: int) -> Iterator[None]:
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    figures[name] = {"seconds": round(seconds, 2), "MB/s": round(size / 1e6 / seconds, 1)}


def clients(url: str):
    kwargs = dict(endpoint_url=url, region_name=REGION, aws_access_key_id=ACCOUNT, aws_secret_access_key="x",
                  config=BotoConfig(retries={"max_attempts": 1}, read_timeout=600))
    return boto3.client("s3", **kwargs), boto3.client("glacier", **kwargs)


def warm_up(s3, glacier) -> None:
    """Every code path once with small bodies, so the baseline includes what the first request loads."""
    s3.create_bucket(Bucket="warm-up")
    s3.put_object(Bucket="warm-up", Key="k", Body=os.urandom(3 * MiB))
    s3.get_object(Bucket="warm-up", Key="k")["Body"].read()
    upload = s3.create_multipart_upload(Bucket="warm-up", Key="m")["UploadId"]
    s3.abort_multipart_upload(Bucket="warm-up", Key="m", UploadId=upload)
    glacier.create_vault(vaultName="warm-up")
    glacier.upload_archive(vaultName="warm-up", body=os.urandom(2 * MiB))


def run(size: int, workdir: str) -> dict:
    """Upload and download ``size`` bytes three ways; returns the figures (raises AssertionError on a
    wrong byte, ETag or tree hash)."""
    source = os.path.join(workdir, "source.bin")
    source_md5 = make_source(source, size)
    with open(source, "rb") as f:
        source_tree_hash = calculate_tree_hash(f)
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir)
    server = Server(data_dir)
    figures: dict = {"size_MiB": size // MiB}
    try:
        s3, glacier = clients(server.url)
        warm_up(s3, glacier)
        baseline = server.start_measuring()
        s3.create_bucket(Bucket="big")

        part_size = 16 * MiB
        transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=4)
        with timed(figures, "s3 multipart upload", size), open(source, "rb") as f:
            s3.upload_fileobj(f, "big", "multipart", Config=transfer)
        head = s3.head_object(Bucket="big", Key="multipart")
        assert head["ContentLength"] == size, head
        assert head["ETag"] == multipart_etag(source, part_size), (head["ETag"], "multipart ETag")

        with timed(figures, "s3 single put", size), open(source, "rb") as f:
            put = s3.put_object(Bucket="big", Key="single", Body=f)
        assert put["ETag"] == f'"{source_md5}"', (put["ETag"], source_md5)

        for key in ("multipart", "single"):
            with timed(figures, f"s3 get ({key})", size):
                got = md5_of_stream(s3.get_object(Bucket="big", Key=key)["Body"])
            assert got == (source_md5, size), (key, got)
        # A range from the middle, across the parts' boundary.
        first, last = part_size - 10, part_size + 9
        ranged = s3.get_object(Bucket="big", Key="multipart", Range=f"bytes={first}-{last}")["Body"].read()
        with open(source, "rb") as f:
            f.seek(first)
            assert ranged == f.read(last - first + 1)

        glacier.create_vault(vaultName="big")
        glacier_part = glacier_part_size(size)
        upload = glacier.initiate_multipart_upload(vaultName="big", partSize=str(glacier_part))["uploadId"]
        with timed(figures, "glacier multipart upload", size), open(source, "rb") as f:
            start = 0
            while chunk := f.read(glacier_part):
                glacier.upload_multipart_part(vaultName="big", uploadId=upload, body=chunk,
                                              range=f"bytes {start}-{start + len(chunk) - 1}/*")
                start += len(chunk)
            done = glacier.complete_multipart_upload(vaultName="big", uploadId=upload, archiveSize=str(size),
                                                     checksum=source_tree_hash)
        assert done["checksum"] == source_tree_hash, (done["checksum"], source_tree_hash)
        job = glacier.initiate_job(vaultName="big", jobParameters={"Type": "archive-retrieval",
                                                                   "ArchiveId": done["archiveId"]})["jobId"]
        admin_call(server.url, "POST", "clock", {"advance": 12 * 3600})   # standard retrievals take 3 to 5 hours
        with timed(figures, "glacier get job output", size):
            output = glacier.get_job_output(vaultName="big", jobId=job)
            got = md5_of_stream(output["body"])
        assert got == (source_md5, size), ("glacier", got)
        assert output["checksum"] == source_tree_hash, (output["checksum"], source_tree_hash)

        peak = server.peak_kib()
        figures["baseline_rss_MiB"] = round(baseline / 1024, 1)
        figures["peak_rss_MiB"] = round(peak / 1024, 1)
        figures["peak_growth_MiB"] = round((peak - baseline) / 1024, 1)
    finally:
        server.stop()
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--workdir", default=None, help="where the source file and the data dir go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        figures = run(args.size_mib * MiB, workdir)
    print(f"object size: {figures.pop('size_MiB')} MiB")
    for name in [k for k, v in figures.items() if isinstance(v, dict)]:
        phase = figures.pop(name)
        print(f"  {name:28s} {phase['seconds']:8.2f} s  {phase['MB/s']:8.1f} MB/s")
    print(f"server RSS before: {figures['baseline_rss_MiB']} MiB, peak: {figures['peak_rss_MiB']} MiB, "
          f"peak growth: {figures['peak_growth_MiB']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
