"""``kill -9`` at the worst moments of a byte-writing request: after the restart and its background sweep,
no archive is listed without its bytes and no bytes are left that nothing lists.

The server kills itself (SIGKILL) at a named point when ``JOBYARD_CRASH_POINT`` says so:
``files.staged`` right after a request staged new bytes (before its commit), ``files.committed`` right
after a commit (before its byte work was carried out).
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.utils import calculate_tree_hash

from jobyard.services.glacier.common import archive_key, part_key
from jobyard.store import FileStore, Store, sqlite_url
from jobyard.testing import admin_call, free_port, wait_healthy

ACCOUNT, REGION, VAULT = "123456789012", "us-east-1", "crash-vault"
MiB = 1024 * 1024
CRASHED = (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError)


class Server:
    def __init__(self, data_dir: Path, crash_point: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JOBYARD_CRASH_POINT": crash_point or ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             "--time-scale", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.url)
        self.glacier = boto3.client("glacier", endpoint_url=self.url, region_name=REGION,
                                    aws_access_key_id=ACCOUNT, aws_secret_access_key="x",
                                    config=BotoConfig(retries={"max_attempts": 0}, read_timeout=20))

    def crashes(self, call, **params) -> None:
        """``call`` kills the server: the client sees the connection drop and the process dies of SIGKILL."""
        with pytest.raises(CRASHED):
            call(**params)
        assert self.process.wait(timeout=15) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def servers():
    started = []

    def start(data_dir, crash_point=None):
        started.append(Server(data_dir, crash_point))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def settled(server: Server, timeout: float = 15.0) -> None:
    """Wait for the restarted server's background sweep of what the killed one left."""
    deadline = time.monotonic() + timeout
    while admin_call(server.url, "GET", "health")["files"] != "settled":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def assert_bytes_match_rows(data_dir: Path) -> dict[str, bytes]:
    """Every live archive and every part of an upload in progress has its bytes, and no other bytes exist.
    Returns the live archives' bytes by archive id."""
    store = Store(sqlite_url(str(data_dir / "jobyard.db")))
    files = FileStore(str(data_dir / "files"))   # only for its paths: it stages nothing
    try:
        with store.transaction() as tx:
            archives = [r for r in tx.page("glacier.archive", ACCOUNT, REGION, limit=1000)[0] if r.state != "Deleted"]
            uploads = [r for r in tx.page("glacier.upload", ACCOUNT, REGION, limit=1000)[0]
                       if r.state == "InProgress"]
            parts = [(u.id, p) for u in uploads for p in tx.children("glacier.part", ACCOUNT, REGION, u.id)]
        expected = {files.path(archive_key(ACCOUNT, REGION, a.id)) for a in archives}
        expected |= {files.path(part_key(ACCOUNT, REGION, upload_id, p.doc["Start"])) for upload_id, p in parts}
        on_disk = {str(p) for p in Path(files.root).rglob("*") if p.is_file() and ".pending" not in p.parts}
        assert on_disk == expected
        assert os.listdir(Path(files.root, ".pending")) == []   # nothing staged is left by anyone
        return {a.id: Path(files.path(archive_key(ACCOUNT, REGION, a.id))).read_bytes() for a in archives}
    finally:
        files.close()
        store.close()


def test_a_crash_after_staging_an_archive_leaves_neither_row_nor_bytes(data_dir, servers):
    first = servers(data_dir, "files.staged")
    first.glacier.create_vault(vaultName=VAULT)   # writes no bytes: no crash
    first.crashes(first.glacier.upload_archive, vaultName=VAULT, body=b"x" * 1000)
    second = servers(data_dir)
    settled(second)
    second.stop()
    assert assert_bytes_match_rows(data_dir) == {}


def test_a_crash_after_deleting_an_archive_commits_removes_its_bytes_at_restart(data_dir, servers):
    first = servers(data_dir)
    first.glacier.create_vault(vaultName=VAULT)
    kept = first.glacier.upload_archive(vaultName=VAULT, body=b"kept")["archiveId"]
    doomed = first.glacier.upload_archive(vaultName=VAULT, body=b"doomed")["archiveId"]
    first.stop()
    second = servers(data_dir, "files.committed")
    second.crashes(second.glacier.delete_archive, vaultName=VAULT, archiveId=doomed)
    third = servers(data_dir)
    settled(third)
    third.stop()
    assert assert_bytes_match_rows(data_dir) == {kept: b"kept"}


@pytest.mark.parametrize("crash_point", ["files.staged", "files.committed"])
def test_a_crash_while_completing_a_multipart_upload_leaves_it_whole_on_one_side(data_dir, servers, crash_point):
    data = bytes(range(256)) * (3 * MiB // 256)
    first = servers(data_dir)
    glacier = first.glacier
    glacier.create_vault(vaultName=VAULT)
    upload = glacier.initiate_multipart_upload(vaultName=VAULT, partSize=str(MiB))["uploadId"]
    for start in range(0, len(data), MiB):
        glacier.upload_multipart_part(vaultName=VAULT, uploadId=upload, body=data[start:start + MiB],
                                      range=f"bytes {start}-{start + MiB - 1}/*")
    first.stop()
    checksum = calculate_tree_hash(io.BytesIO(data))
    second = servers(data_dir, crash_point)
    second.crashes(second.glacier.complete_multipart_upload, vaultName=VAULT, uploadId=upload,
                   archiveSize=str(len(data)), checksum=checksum)
    third = servers(data_dir)
    settled(third)
    archives = assert_bytes_match_rows(data_dir) if crash_point == "files.committed" else None
    if crash_point == "files.staged":
        # Never committed: the upload is still there, whole, and completes now.
        parts = third.glacier.list_parts(vaultName=VAULT, uploadId=upload)["Parts"]
        assert len(parts) == 3
        third.glacier.complete_multipart_upload(vaultName=VAULT, uploadId=upload, archiveSize=str(len(data)),
                                                checksum=checksum)
        third.stop()
        archives = assert_bytes_match_rows(data_dir)
    third.stop()
    assert [hashlib.sha256(b).hexdigest() for b in archives.values()] == [hashlib.sha256(data).hexdigest()]


def test_a_crash_after_staging_a_spooled_archive_leaves_neither_row_nor_bytes(data_dir, servers):
    # Past the server's memory limit: the body was spooled to a file and the staged file is that same file.
    first = servers(data_dir, "files.staged")
    first.glacier.create_vault(vaultName=VAULT)
    first.crashes(first.glacier.upload_archive, vaultName=VAULT, body=os.urandom(3 * MiB))
    second = servers(data_dir)
    settled(second)
    second.stop()
    assert assert_bytes_match_rows(data_dir) == {}


def test_a_crash_while_a_body_arrives_leaves_no_spooled_bytes(data_dir, servers):
    first = servers(data_dir)
    first.glacier.create_vault(vaultName=VAULT)
    size = 8 * MiB
    with socket.create_connection(("127.0.0.1", first.port)) as sock:
        sock.sendall((f"POST /-/vaults/{VAULT}/archives HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: AWS4-HMAC-SHA256 Credential={ACCOUNT}/20250101/{REGION}/glacier/aws4_request, "
                      f"SignedHeaders=host, Signature=0\r\nx-amz-glacier-version: 2012-06-01\r\n"
                      f"Content-Length: {size}\r\n\r\n").encode() + os.urandom(size // 2))
        pending = Path(data_dir, "files", ".pending")
        deadline = time.monotonic() + 15
        while not any(p.name.startswith("body-") for p in pending.rglob("*")):   # half the body is spooled
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(timeout=15) == -signal.SIGKILL
    second = servers(data_dir)
    settled(second)
    second.stop()
    assert assert_bytes_match_rows(data_dir) == {}
