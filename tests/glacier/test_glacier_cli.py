"""The AWS CLI against the emulator, as a user would run it."""

import json
import os
import subprocess
import sys

from glacier_helpers import MINUTE, REGION, create_vault, retrieve, upload


def aws(server, account, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([sys.executable, "-m", "awscli", "glacier", *args, "--endpoint-url", server.url,
                             "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
    return result


def test_cli_lists_jobs_and_vaults(server, glacier, account):
    vault = create_vault(glacier, "cli-vault")
    job_id = retrieve(glacier, vault, upload(glacier, vault, b"via the cli"), Tier="Expedited")
    listed = aws(server, account, "list-jobs", "--account-id", "-", "--vault-name", vault)
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)["JobList"]
    assert [j["JobId"] for j in jobs] == [job_id] and jobs[0]["StatusCode"] == "InProgress"
    server.advance(5 * MINUTE)
    done = aws(server, account, "list-jobs", "--account-id", account, "--vault-name", vault, "--completed", "true")
    assert json.loads(done.stdout)["JobList"][0]["StatusCode"] == "Succeeded"
    vaults = aws(server, account, "list-vaults", "--account-id", "-")
    assert [v["VaultName"] for v in json.loads(vaults.stdout)["VaultList"]] == [vault]


def test_cli_reports_glacier_errors(server, account):
    result = aws(server, account, "describe-vault", "--account-id", "-", "--vault-name", "absent")
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr and "Vault not found for ARN" in result.stderr
