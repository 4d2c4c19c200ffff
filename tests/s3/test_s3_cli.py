"""The AWS CLI's ``s3`` and ``s3api`` commands against the emulator, as a user would run them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from s3_helpers import bucket_name
from support import REGION

BIG = 20 * 1024 * 1024   # above the CLI's 8 MiB multipart threshold: uploaded in parts, downloaded in ranges


def aws(server, account, *args, check=True):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run([sys.executable, "-m", "awscli", *args, "--endpoint-url", server.url],
                            env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def api(server, account, *args):
    return json.loads(aws(server, account, "s3api", *args, "--output", "json").stdout or "{}")


@pytest.fixture
def tree(tmp_path):
    """A local folder: nested files, a space in a name, an empty file."""
    root = tmp_path / "tree"
    files = {"a.txt": b"alpha", "sub/b.txt": b"beta", "sub/deeper/c.bin": os.urandom(3000),
             "with space.txt": b"spaced", "empty": b""}
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # Older than anything the (frozen, simulated) clock dates: sync compares local times with LastModified.
        os.utime(path, (946684800, 946684800))
    return root, files


def test_ls_cp_sync_and_rm(server, s3, account, tree, tmp_path):
    root, files = tree
    name = bucket_name(account, "cli")
    aws(server, account, "s3", "mb", f"s3://{name}")
    assert name in aws(server, account, "s3", "ls").stdout
    # sync up, then ls at the top and recursively
    aws(server, account, "s3", "sync", str(root), f"s3://{name}/data")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"])
    assert keys == sorted(f"data/{k}" for k in files)
    top = aws(server, account, "s3", "ls", f"s3://{name}/data/").stdout
    assert "PRE sub/" in top and "a.txt" in top and "with space.txt" in top and "c.bin" not in top
    everything = aws(server, account, "s3", "ls", f"s3://{name}", "--recursive").stdout.splitlines()
    assert sorted(line.split(maxsplit=3)[3] for line in everything) == keys
    sizes = {line.split(maxsplit=3)[3]: int(line.split()[2]) for line in everything}
    assert sizes == {f"data/{k}": len(v) for k, v in files.items()}
    # A second sync has nothing to do; a changed file goes up again.
    assert aws(server, account, "s3", "sync", str(root), f"s3://{name}/data").stdout == ""
    (root / "a.txt").write_bytes(b"alpha, longer now")
    os.utime(root / "a.txt", (946684800, 946684800))   # a new size is reason enough
    again = aws(server, account, "s3", "sync", str(root), f"s3://{name}/data").stdout
    assert "a.txt" in again and "b.txt" not in again
    # sync down into an empty folder
    down = tmp_path / "down"
    aws(server, account, "s3", "sync", f"s3://{name}/data", str(down))
    got = {str(p.relative_to(down)): p.read_bytes() for p in down.rglob("*") if p.is_file()}
    assert got == {**files, "a.txt": b"alpha, longer now"}
    # rm --recursive under a prefix, then everything
    removed = aws(server, account, "s3", "rm", f"s3://{name}/data/sub", "--recursive").stdout
    assert removed.count("delete:") == 2
    assert sorted(o["Key"] for o in s3.list_objects(Bucket=name)["Contents"]) == sorted(
        f"data/{k}" for k in files if not k.startswith("sub/"))
    aws(server, account, "s3", "rm", f"s3://{name}", "--recursive")
    assert "Contents" not in s3.list_objects(Bucket=name)
    aws(server, account, "s3", "rb", f"s3://{name}")
    assert name not in aws(server, account, "s3", "ls").stdout


def test_cp_of_a_multipart_sized_file(server, s3, account, tmp_path):
    name = bucket_name(account, "big")
    s3.create_bucket(Bucket=name)
    data = os.urandom(BIG)
    source, target = tmp_path / "big.bin", tmp_path / "back.bin"
    source.write_bytes(data)
    aws(server, account, "s3", "cp", str(source), f"s3://{name}/big.bin")
    head = s3.head_object(Bucket=name, Key="big.bin")
    assert head["ContentLength"] == BIG and head["ETag"].endswith('-3"')   # 8 MiB parts
    attributes = api(server, account, "get-object-attributes", "--bucket", name, "--key", "big.bin",
                     "--object-attributes", "ObjectParts", "ObjectSize", "ETag")
    assert attributes["ObjectSize"] == BIG and attributes["ObjectParts"]["TotalPartsCount"] == 3
    assert attributes["ETag"] == head["ETag"].strip('"')
    aws(server, account, "s3", "cp", f"s3://{name}/big.bin", str(target))
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    # A copy within S3 of the same object, and cp --recursive down.
    aws(server, account, "s3", "cp", f"s3://{name}/big.bin", f"s3://{name}/copies/big.bin")
    aws(server, account, "s3", "cp", f"s3://{name}/copies", str(tmp_path / "copies"), "--recursive")
    assert (tmp_path / "copies" / "big.bin").stat().st_size == BIG


def test_s3api_listings(server, s3, account):
    name = bucket_name(account, "api")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for key in ("a", "b/c", "b/d", "e f"):
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    second = s3.put_object(Bucket=name, Key="a", Body=b"again")["VersionId"]
    marker = s3.delete_object(Bucket=name, Key="e f")["VersionId"]
    listed = api(server, account, "list-objects", "--bucket", name, "--delimiter", "/")
    assert [o["Key"] for o in listed["Contents"]] == ["a"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["b/"]
    # The CLI pages by itself (--page-size) and joins the pages.
    paged = api(server, account, "list-objects", "--bucket", name, "--page-size", "1")
    assert [o["Key"] for o in paged["Contents"]] == ["a", "b/c", "b/d"]
    versions = api(server, account, "list-object-versions", "--bucket", name, "--page-size", "2")
    assert [(v["Key"], v["IsLatest"]) for v in versions["Versions"]] == [
        ("a", True), ("a", False), ("b/c", True), ("b/d", True), ("e f", False)]
    assert versions["Versions"][0]["VersionId"] == second
    assert [(d["Key"], d["VersionId"], d["IsLatest"]) for d in versions["DeleteMarkers"]] == [("e f", marker, True)]
    attributes = api(server, account, "get-object-attributes", "--bucket", name, "--key", "a",
                     "--object-attributes", "ETag", "StorageClass", "ObjectSize")
    assert attributes == {"LastModified": attributes["LastModified"], "VersionId": second, "StorageClass": "STANDARD",
                          "ObjectSize": 5, "ETag": hashlib.md5(b"again").hexdigest()}
    failed = aws(server, account, "s3api", "get-object-attributes", "--bucket", name, "--key", "e f",
                 "--object-attributes", "ETag", check=False)
    assert failed.returncode != 0 and "NoSuchKey" in failed.stderr
