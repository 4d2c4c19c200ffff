"""Vaults: create, describe, list (10 at a time, ARN markers), delete and its inventory quirk, accounts."""

import json
import re
import urllib.request
from datetime import datetime

import pytest

from jobyard.services.glacier import service
from jobyard.store import Resource

from glacier_helpers import (DAY, HOUR, MINUTE, REGION, create_vault, expect_error, glacier_client,
                             take_inventory, upload)

ISO_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_and_describe_vault(glacier, account):
    created = glacier.create_vault(vaultName="examplevault")
    assert created["location"] == f"/{account}/vaults/examplevault"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    described = glacier.describe_vault(vaultName="examplevault")
    assert described["VaultARN"] == f"arn:aws:glacier:{REGION}:{account}:vaults/examplevault"
    assert described["VaultName"] == "examplevault"
    assert ISO_MILLIS.fullmatch(described["CreationDate"])
    # No inventory yet: the counts are zero and there is no inventory date.
    assert described["NumberOfArchives"] == 0 and described["SizeInBytes"] == 0
    assert "LastInventoryDate" not in described


def test_create_vault_is_idempotent(glacier):
    first = glacier.describe_vault(vaultName=create_vault(glacier, "same"))
    again = glacier.create_vault(vaultName="same")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert glacier.describe_vault(vaultName="same")["CreationDate"] == first["CreationDate"]
    assert len(glacier.list_vaults()["VaultList"]) == 1


@pytest.mark.parametrize("name", ["has space", "x" * 256, "semi;colon", "ünïcode"])
def test_create_vault_rejects_bad_names(glacier, name):
    error = expect_error(glacier, "CreateVault", "InvalidParameterValueException", 400, vaultName=name)
    assert "vault name" in error.response["Error"]["Message"]


def test_missing_vault_is_404_with_its_arn(glacier, account):
    error = expect_error(glacier, "DescribeVault", "ResourceNotFoundException", 404, vaultName="nope")
    arn = f"arn:aws:glacier:{REGION}:{account}:vaults/nope"
    assert error.response["Error"]["Message"] == f"Vault not found for ARN: {arn}"
    for operation in ("DeleteVault", "ListJobs", "ListMultipartUploads", "ListTagsForVault", "GetVaultLock"):
        expect_error(glacier, operation, "ResourceNotFoundException", 404, vaultName="nope")


def test_list_vaults_pages_ten_at_a_time_in_ascii_order(glacier, account):
    names = [f"vault-{n:02d}" for n in range(23)] + ["A-upper", "_under"]
    for name in reversed(names):
        glacier.create_vault(vaultName=name)
    first = glacier.list_vaults()
    assert len(first["VaultList"]) == 10
    # The marker is the ARN of the last vault listed; the next page starts after it.
    assert first["Marker"] == first["VaultList"][-1]["VaultARN"]
    listed = [v["VaultName"] for v in first["VaultList"]]
    marker = first["Marker"]
    while marker:
        page = glacier.list_vaults(marker=marker, limit="1000")   # more than 10 still gives 10
        assert len(page["VaultList"]) <= 10
        listed += [v["VaultName"] for v in page["VaultList"]]
        marker = page.get("Marker")
    assert listed == sorted(names)
    assert glacier.list_vaults(limit="3")["VaultList"][2]["VaultName"] == sorted(names)[2]
    entry = first["VaultList"][0]
    assert set(entry) == {"VaultARN", "VaultName", "CreationDate", "NumberOfArchives", "SizeInBytes"}


def test_list_vaults_paginator_walks_every_vault_once(glacier):
    names = sorted(f"p{n}" for n in range(14))
    for name in names:
        glacier.create_vault(vaultName=name)
    pages = list(glacier.get_paginator("list_vaults").paginate(PaginationConfig={"PageSize": 4}))
    assert [v["VaultName"] for p in pages for v in p["VaultList"]] == names
    assert len(pages) == 4


@pytest.mark.parametrize("limit", ["0", "-1", "ten", ""])
def test_list_vaults_rejects_bad_limits(glacier, limit):
    expect_error(glacier, "ListVaults", "InvalidParameterValueException", 400, limit=limit)


@pytest.mark.parametrize("marker", ["garbage", "", "arn:aws:glacier:us-east-1:999999999999:vaults/x"])
def test_list_vaults_rejects_bad_markers(glacier, marker):
    expect_error(glacier, "ListVaults", "InvalidParameterValueException", 400, marker=marker)


def test_delete_empty_vault(glacier):
    create_vault(glacier, "empty")
    response = glacier.delete_vault(vaultName="empty")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(glacier, "DescribeVault", "ResourceNotFoundException", 404, vaultName="empty")
    glacier.get_waiter("vault_not_exists").wait(vaultName="empty", WaiterConfig={"Delay": 0, "MaxAttempts": 1})


def test_vault_counts_come_from_the_daily_inventory(server, glacier):
    vault = create_vault(glacier)
    upload(glacier, vault, b"a" * 1000)
    upload(glacier, vault, b"b" * 2000)
    server.advance(12 * HOUR - MINUTE)
    # Half a day to a day after the first upload the first inventory appears.
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 0
    server.advance(12 * HOUR + 2 * MINUTE)
    described = glacier.describe_vault(vaultName=vault)
    assert described["NumberOfArchives"] == 2 and described["SizeInBytes"] == 3000
    inventory_date = datetime.fromisoformat(described["LastInventoryDate"])
    assert inventory_date > datetime.fromisoformat(described["CreationDate"])
    # Without changes the inventory date stays where it is.
    server.advance(3 * DAY)
    assert glacier.describe_vault(vaultName=vault)["LastInventoryDate"] == described["LastInventoryDate"]


def test_delete_vault_waits_for_an_inventory_showing_it_empty(server, glacier, account):
    vault = create_vault(glacier)
    archive = upload(glacier, vault, b"data")
    error = expect_error(glacier, "DeleteVault", "InvalidParameterValueException", 400, vaultName=vault)
    arn = f"arn:aws:glacier:{REGION}:{account}:vaults/{vault}"
    assert error.response["Error"]["Message"] == f"Vault not empty or recently written to: {arn}"
    take_inventory(server, glacier, vault)
    glacier.delete_archive(vaultName=vault, archiveId=archive)
    # Empty now, but written to since the last inventory: AWS refuses until the next inventory.
    expect_error(glacier, "DeleteVault", "InvalidParameterValueException", 400, vaultName=vault)
    take_inventory(server, glacier, vault)
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 0
    glacier.delete_vault(vaultName=vault)
    assert glacier.list_vaults()["VaultList"] == []


def test_deleted_vault_can_be_created_again_empty(server, glacier):
    vault = create_vault(glacier)
    glacier.add_tags_to_vault(vaultName=vault, Tags={"k": "v"})
    glacier.delete_vault(vaultName=vault)
    create_vault(glacier, vault)
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {}


def test_account_id_dash_or_own_number(glacier, account):
    assert glacier.create_vault(accountId=account, vaultName="mine")["location"] == f"/{account}/vaults/mine"
    assert glacier.describe_vault(accountId="-", vaultName="mine")["VaultName"] == "mine"


def test_another_account_is_refused(glacier, account):
    create_vault(glacier, "mine")
    other = str(int(account) + 1)
    error = expect_error(glacier, "DescribeVault", "AccessDeniedException", 403, accountId=other, vaultName="mine")
    assert other in error.response["Error"]["Message"]
    expect_error(glacier, "CreateVault", "AccessDeniedException", 403, accountId=other, vaultName="theirs")
    assert [v["VaultName"] for v in glacier.list_vaults()["VaultList"]] == ["mine"]


def test_accounts_and_regions_do_not_share_vaults(server, glacier, account):
    create_vault(glacier, "private")
    assert glacier_client(server, str(int(account) + 7)).list_vaults()["VaultList"] == []
    west = glacier_client(server, account, region="us-west-2")
    assert west.list_vaults()["VaultList"] == []
    west.create_vault(vaultName="private")
    assert west.describe_vault(vaultName="private")["VaultARN"].startswith("arn:aws:glacier:us-west-2:")


def test_vault_limit_per_account(glacier, server, account):
    # Fill the account to its limit directly in the store (a thousand requests would prove nothing more).
    with server.emulator.store.transaction() as tx:
        tx.insert_many(Resource("glacier.vault", account, REGION, f"bulk-{n:04d}", created_us=1,
                                doc={"Live": {"Count": 0, "Size": 0}, "Changed": False, "Tags": {}})
                       for n in range(service.MAX_VAULTS))
    error = expect_error(glacier, "CreateVault", "LimitExceededException", 400, vaultName="one-too-many")
    assert "1000" in error.response["Error"]["Message"]
    glacier.create_vault(vaultName="bulk-0000")   # an existing one is still fine


def test_unknown_route_and_bad_json_get_glacier_errors(server, account):
    def call(method, path, body=None):
        headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20240101/{REGION}/glacier/aws4_request, "
                                    "SignedHeaders=host, Signature=0",
                   "x-amz-glacier-version": "2012-06-01"}
        request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    status, body = call("GET", "/-/no-such-thing")
    assert status == 400
    document = json.loads(body)
    assert document["code"] == "BadRequest" and document["type"] == "Client" and document["message"]
    call("PUT", "/-/vaults/v")
    status, body = call("PUT", "/-/vaults/v/access-policy", b"{not json")
    assert status == 400 and json.loads(body)["code"] == "SerializationException"
