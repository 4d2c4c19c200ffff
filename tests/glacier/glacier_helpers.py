"""Small builders shared by the Glacier tests."""

from __future__ import annotations

import io
import json
import os

from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.utils import calculate_tree_hash

import support
from support import REGION, make_client

MiB = 1024 * 1024
MINUTE, HOUR, DAY = 60, 3600, 86400


def glacier_client(server, account: str, region: str = REGION, **config):
    return make_client("glacier", server.url, account, region=region, config=Config(**config) if config else None)


def tree_hash(data: bytes) -> str:
    return calculate_tree_hash(io.BytesIO(data))


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def expect_error(client, operation: str, code: str, status: int, **params) -> ClientError:
    """support.expect_error, and Glacier's error layout in the raw body, modelled code or not: code, message
    and fault type."""
    bodies = []
    client.meta.events.register("before-parse.glacier.*", lambda response_dict, **_: bodies.append(
        response_dict["body"]), unique_id=f"raw-body-{id(bodies)}")
    try:
        error = support.expect_error(client, operation, code, status, **params)
    finally:
        client.meta.events.unregister("before-parse.glacier.*", unique_id=f"raw-body-{id(bodies)}")
    assert json.loads(bodies[-1]) == {"code": code, "message": error.response["Error"]["Message"],
                                      "type": "Client" if status < 500 else "Server"}
    return error


def create_vault(client, name: str = "photos") -> str:
    client.create_vault(vaultName=name)
    return name


def upload(client, vault: str, data: bytes, description: str | None = None) -> str:
    params = {"vaultName": vault, "body": data}
    if description is not None:
        params["archiveDescription"] = description
    return client.upload_archive(**params)["archiveId"]


def job_state(client, vault: str, job_id: str) -> str:
    return client.describe_job(vaultName=vault, jobId=job_id)["StatusCode"]


def retrieve(client, vault: str, archive_id: str, **extra) -> str:
    parameters = {"Type": "archive-retrieval", "ArchiveId": archive_id, **extra}
    return client.initiate_job(vaultName=vault, jobParameters=parameters)["jobId"]


def take_inventory(server, client, vault: str) -> None:
    """Let the vault's daily inventory run (12-24 hours after a change, a day after the previous one)."""
    server.advance(DAY + MINUTE)
    assert "LastInventoryDate" in client.describe_vault(vaultName=vault)


def read_output(client, vault: str, job_id: str, **params):
    """GetJobOutput: the body bytes and the other members."""
    response = client.get_job_output(vaultName=vault, jobId=job_id, **params)
    body = response.pop("body").read()
    response.pop("ResponseMetadata")
    return body, response
