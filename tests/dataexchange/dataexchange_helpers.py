"""Small builders shared by the Data Exchange tests."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request

import pytest
from botocore.config import Config

from conformance import checked
from support import make_client

HOUR, DAY = 3600, 86400
ROLE = "arn:aws:iam::123456789012:role/dx-lake-formation"
DATASHARE = "arn:aws:redshift:us-east-1:123456789012:datashare:3b1e0c9a-7f6d-4f2e-9d1c-5a6b7c8d9e0f/sales_share"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def create_data_set(client, asset_type: str = "S3_SNAPSHOT", name: str = "Prices", **extra) -> dict:
    return client.create_data_set(AssetType=asset_type, Name=name, Description=f"{name} data", **extra)


def create_revision(client, data_set_id: str, **extra) -> dict:
    return client.create_revision(DataSetId=data_set_id, **extra)


def put(url: str, data: bytes, md5: str | None = None) -> int:
    headers = {"Content-MD5": md5} if md5 is not None else {}
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def http_error(call) -> urllib.error.HTTPError:
    with pytest.raises(urllib.error.HTTPError) as caught:
        call()
    return caught.value


def import_file(server, client, data_set_id: str, revision_id: str, data: bytes, name: str = "data.csv") -> dict:
    """Import ``data`` as an asset through a signed URL and return the completed job."""
    job = client.create_job(Type="IMPORT_ASSET_FROM_SIGNED_URL", Details={"ImportAssetFromSignedUrl": {
        "AssetName": name, "DataSetId": data_set_id, "RevisionId": revision_id, "Md5Hash": md5_b64(data)}})
    put(job["Details"]["ImportAssetFromSignedUrl"]["SignedUrl"], data, md5_b64(data))
    client.start_job(JobId=job["Id"])
    server.advance(60)
    done = client.get_job(JobId=job["Id"])
    assert done["State"] == "COMPLETED", done
    return done


def assets_of(client, data_set_id: str, revision_id: str) -> list[dict]:
    pages = client.get_paginator("list_revision_assets").paginate(DataSetId=data_set_id, RevisionId=revision_id)
    return [a for page in pages for a in page["Assets"]]


# -- fixtures: test modules import them (a conftest.py here would clash with the other services') --

def dataexchange_client(server, account: str):
    # SendApiAsset carries the host prefix "api-fulfill.", which an IP-address endpoint cannot take.
    return make_client("dataexchange", server.url, account, config=Config(inject_host_prefix=False))


@pytest.fixture
def dx(server, account):
    client = dataexchange_client(server, account)
    with checked(client):
        yield client


@pytest.fixture
def other_account(account) -> str:
    """A second account for data grants; the shared numbering never hands out ids starting with 9."""
    return "9" + account[1:]


@pytest.fixture
def dx_other(server, other_account):
    client = dataexchange_client(server, other_account)
    with checked(client):
        yield client


@pytest.fixture
def s3(server, account):
    """The test account's S3 client: the endpoint is an IP address, so botocore addresses path-style."""
    client = make_client("s3", server.url, account, config=Config(retries={"total_max_attempts": 1}))
    with checked(client):
        yield client
