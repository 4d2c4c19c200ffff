"""The AWS SDK for JavaScript v3 (its own serializers and endpoint rules) against a real jobyard server.

The SDK packages are pinned in tests/js/package-lock.json and installed with `npm ci` on first use.
"""

import json
import os
import re
import shutil
import subprocess
from io import BytesIO

from botocore.utils import calculate_tree_hash

JS_DIR = os.path.join(os.path.dirname(__file__), "js")


def install_sdk() -> None:
    assert shutil.which("node") and shutil.which("npm"), "Node.js and npm are needed for the JavaScript SDK tests"
    with open(os.path.join(JS_DIR, "package.json")) as manifest:
        packages = json.load(manifest)["dependencies"]
    # Installed again when package.json names a package node_modules lacks (one added since the last install).
    if not all(os.path.isdir(os.path.join(JS_DIR, "node_modules", name)) for name in packages):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR, check=True,
                       timeout=600)


def test_javascript_sdk_clients(server, account):
    install_sdk()
    out = subprocess.run(["node", "clients.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "JOBYARD_URL": server.url, "JOBYARD_ACCOUNT": account})
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])

    snowball = seen["snowball"]
    assert snowball["listed"] == snowball["jobIds"]  # the JS paginator walked every job once, in order
    assert snowball["state"] == "New" and snowball["creationIsDate"]
    assert snowball["error"] == {"name": "InvalidResourceException", "status": 400, "resourceType": "JOB"}

    glacier = seen["glacier"]
    assert glacier["archiveIdLength"] == 138
    assert glacier["checksum"] == calculate_tree_hash(BytesIO(b"hello glacier"))
    assert glacier["listed"] == [[glacier["jobId"], "InProgress"]]
    assert glacier["error"]["name"] == "ResourceNotFoundException" and glacier["error"]["status"] == 404

    dataexchange = seen["dataexchange"]
    assert dataexchange["name"] == "js" and dataexchange["createdIsDate"]
    assert dataexchange["listed"] == [dataexchange["id"]]
    assert dataexchange["error"] == {"name": "ResourceNotFoundException", "status": 404, "resourceType": "DATA_SET"}

    s3 = seen["s3"]
    assert s3["body"] == "hello s3" and s3["prefixes"] == ["dir/"]
    assert s3["error"]["name"] == "NoSuchKey" and s3["error"]["status"] == 404

    sts = seen["sts"]
    assert sts["account"] == account and sts["arn"] == f"arn:aws:iam::{account}:user/jobyard"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", sts["userId"])
    assert sts["error"] == {"name": "InvalidAction", "status": 400, "resourceType": None}

def test_javascript_sdk_signatures_pass_jobyard_auth(tmp_path):
    """The JS SDK's own SigV4 signer (each service's rules: S3's unencoded path, Glacier's payload hash...)
    against a server that checks signatures, and the same clients refused when the secret differs."""
    from jobyard.auth import Key
    from jobyard.config import Config
    from jobyard.testing import running_server

    install_sdk()
    key = "210000000042"
    for secret, passes in (("x", True), ("not-x", False)):   # clients.mjs signs with the secret "x"
        config = Config(data_dir=str(tmp_path / secret), time_scale=0, credentials={key: Key(key, secret, key)})
        with running_server(config) as server:
            out = subprocess.run(["node", "clients.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "JOBYARD_URL": server.url, "JOBYARD_ACCOUNT": key})
        if passes:
            assert out.returncode == 0, out.stderr
            seen = json.loads(out.stdout.strip().splitlines()[-1])
            assert seen["s3"]["body"] == "hello s3" and seen["glacier"]["archiveIdLength"] == 138
        else:
            assert out.returncode != 0 and "InvalidSignatureException" in out.stderr, out.stderr
