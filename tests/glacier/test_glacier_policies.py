"""Vault access policies, notifications, tags, vault lock, data retrieval policy, provisioned capacity."""

import json
from datetime import datetime, timedelta

import pytest

from glacier_helpers import DAY, HOUR, MiB, MINUTE, REGION, create_vault, expect_error, retrieve, upload


def _policy(account, vault, action, effect="Deny", principal="*", condition=None):
    statement = {"Sid": "s1", "Effect": effect, "Principal": principal, "Action": action,
                 "Resource": f"arn:aws:glacier:{REGION}:{account}:vaults/{vault}"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# -- access policy --------------------------------------------------------------------------------------


def test_access_policy_set_get_delete(glacier, account):
    vault = create_vault(glacier)
    expect_error(glacier, "GetVaultAccessPolicy", "ResourceNotFoundException", 404, vaultName=vault)
    text = _policy(account, vault, "glacier:ListJobs", effect="Allow",
                   principal={"AWS": "arn:aws:iam::999999999999:root"})
    response = glacier.set_vault_access_policy(vaultName=vault, policy={"Policy": text})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert glacier.get_vault_access_policy(vaultName=vault)["policy"] == {"Policy": text}
    glacier.delete_vault_access_policy(vaultName=vault)
    glacier.delete_vault_access_policy(vaultName=vault)   # idempotent
    expect_error(glacier, "GetVaultAccessPolicy", "ResourceNotFoundException", 404, vaultName=vault)


@pytest.mark.parametrize("text", ["not json", "[]", '{"Version": "2012-10-17"}', '{"Statement": [{"Effect": "Maybe",'
                                  ' "Action": "glacier:*"}]}', json.dumps({"Statement": [{"Effect": "Deny",
                                  "Action": "glacier:*", "Sid": "x" * 21000}]})])
def test_access_policy_must_be_a_policy_document(glacier, text):
    vault = create_vault(glacier)
    expect_error(glacier, "SetVaultAccessPolicy", "InvalidParameterValueException", 400, vaultName=vault,
                 policy={"Policy": text})


def test_access_policy_without_policy_is_missing(glacier):
    vault = create_vault(glacier)
    expect_error(glacier, "SetVaultAccessPolicy", "MissingParameterValueException", 400, vaultName=vault,
                 policy={})


def test_access_policy_denies_what_it_denies(glacier, account):
    vault = create_vault(glacier)
    glacier.set_vault_access_policy(vaultName=vault, policy={"Policy": _policy(account, vault, "glacier:Upload*")})
    error = expect_error(glacier, "UploadArchive", "AccessDeniedException", 403, vaultName=vault, body=b"x")
    assert "explicit deny" in error.response["Error"]["Message"]
    glacier.list_jobs(vaultName=vault)   # not denied
    # A deny naming another account's principal does not apply to this one.
    glacier.set_vault_access_policy(vaultName=vault, policy={"Policy": _policy(
        account, vault, "glacier:UploadArchive", principal={"AWS": "arn:aws:iam::999999999999:root"})})
    upload(glacier, vault, b"x")


# -- notifications --------------------------------------------------------------------------------------


def test_vault_notifications(glacier, account):
    vault = create_vault(glacier)
    expect_error(glacier, "GetVaultNotifications", "ResourceNotFoundException", 404, vaultName=vault)
    config = {"SNSTopic": f"arn:aws:sns:{REGION}:{account}:mytopic",
              "Events": ["ArchiveRetrievalCompleted", "InventoryRetrievalCompleted"]}
    response = glacier.set_vault_notifications(vaultName=vault, vaultNotificationConfig=config)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert glacier.get_vault_notifications(vaultName=vault)["vaultNotificationConfig"] == config
    glacier.delete_vault_notifications(vaultName=vault)
    expect_error(glacier, "GetVaultNotifications", "ResourceNotFoundException", 404, vaultName=vault)


@pytest.mark.parametrize("config, code", [
    ({"SNSTopic": "arn:aws:sns:us-east-1:123456789012:t", "Events": ["ArchiveDeleted"]},
     "InvalidParameterValueException"),
    ({"SNSTopic": "not-an-arn", "Events": ["ArchiveRetrievalCompleted"]}, "InvalidParameterValueException"),
    ({"Events": ["ArchiveRetrievalCompleted"]}, "MissingParameterValueException"),
    ({"SNSTopic": "arn:aws:sns:us-east-1:123456789012:t", "Events": []}, "MissingParameterValueException"),
])
def test_vault_notifications_are_checked(glacier, config, code):
    vault = create_vault(glacier)
    expect_error(glacier, "SetVaultNotifications", code, 400, vaultName=vault, vaultNotificationConfig=config)


# -- tags ------------------------------------------------------------------------------------------------


def test_tags_add_list_remove(glacier):
    vault = create_vault(glacier)
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {}
    glacier.add_tags_to_vault(vaultName=vault, Tags={"examplekey1": "examplevalue1", "empty": ""})
    glacier.add_tags_to_vault(vaultName=vault, Tags={"examplekey1": "changed", "examplekey2": "v2"})
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {"examplekey1": "changed", "empty": "",
                                                                    "examplekey2": "v2"}
    glacier.remove_tags_from_vault(vaultName=vault, TagKeys=["examplekey1", "not-there"])
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {"empty": "", "examplekey2": "v2"}


def test_at_most_50_tags(glacier):
    vault = create_vault(glacier)
    glacier.add_tags_to_vault(vaultName=vault, Tags={f"k{n}": "v" for n in range(49)})
    glacier.add_tags_to_vault(vaultName=vault, Tags={"k0": "replaced", "k49": "v"})
    error = expect_error(glacier, "AddTagsToVault", "LimitExceededException", 400, vaultName=vault,
                         Tags={"one-more": "v"})
    assert "50" in error.response["Error"]["Message"]
    assert len(glacier.list_tags_for_vault(vaultName=vault)["Tags"]) == 50


@pytest.mark.parametrize("tags", [{"aws:reserved": "v"}, {"k" * 129: "v"}, {"": "v"}, {"k": "v" * 257}])
def test_tag_keys_and_values_are_checked(glacier, tags):
    vault = create_vault(glacier)
    expect_error(glacier, "AddTagsToVault", "InvalidParameterValueException", 400, vaultName=vault, Tags=tags)


# -- vault lock ------------------------------------------------------------------------------------------


def _lock_policy(account, vault, days=365):
    return _policy(account, vault, "glacier:DeleteArchive",
                   condition={"NumericLessThanEquals": {"glacier:ArchiveAgeInDays": str(days)}})


def test_vault_lock_lifecycle(glacier, account):
    vault = create_vault(glacier)
    expect_error(glacier, "GetVaultLock", "ResourceNotFoundException", 404, vaultName=vault)
    text = _lock_policy(account, vault)
    initiated = glacier.initiate_vault_lock(vaultName=vault, policy={"Policy": text})
    lock_id = initiated["lockId"]
    assert initiated["ResponseMetadata"]["HTTPStatusCode"] == 201 and len(lock_id) == 24
    lock = glacier.get_vault_lock(vaultName=vault)
    assert lock["State"] == "InProgress" and lock["Policy"] == text
    created, expires = (datetime.fromisoformat(lock[k]) for k in ("CreationDate", "ExpirationDate"))
    assert expires - created == timedelta(hours=24)
    expect_error(glacier, "InitiateVaultLock", "AccessDeniedException", 403, vaultName=vault, policy={"Policy": text})
    expect_error(glacier, "CompleteVaultLock", "InvalidParameterValueException", 400, vaultName=vault,
                 lockId="WrongLockId0000000000000")
    completed = glacier.complete_vault_lock(vaultName=vault, lockId=lock_id)
    assert completed["ResponseMetadata"]["HTTPStatusCode"] == 204
    locked = glacier.get_vault_lock(vaultName=vault)
    assert locked["State"] == "Locked" and "ExpirationDate" not in locked
    glacier.complete_vault_lock(vaultName=vault, lockId=lock_id)   # idempotent with the same lock id
    expect_error(glacier, "CompleteVaultLock", "AccessDeniedException", 403, vaultName=vault,
                 lockId="WrongLockId0000000000000")
    expect_error(glacier, "AbortVaultLock", "AccessDeniedException", 403, vaultName=vault)
    expect_error(glacier, "InitiateVaultLock", "AccessDeniedException", 403, vaultName=vault, policy={"Policy": text})


def test_vault_lock_abort_and_expiry(server, glacier, account):
    vault = create_vault(glacier)
    text = _lock_policy(account, vault)
    glacier.initiate_vault_lock(vaultName=vault, policy={"Policy": text})
    glacier.abort_vault_lock(vaultName=vault)
    glacier.abort_vault_lock(vaultName=vault)   # idempotent
    expect_error(glacier, "GetVaultLock", "ResourceNotFoundException", 404, vaultName=vault)
    lock_id = glacier.initiate_vault_lock(vaultName=vault, policy={"Policy": text})["lockId"]
    server.advance(DAY)
    # Past its 24-hour window the lock id lapses and the policy is gone.
    expect_error(glacier, "GetVaultLock", "ResourceNotFoundException", 404, vaultName=vault)
    expect_error(glacier, "CompleteVaultLock", "InvalidParameterValueException", 400, vaultName=vault, lockId=lock_id)
    assert glacier.initiate_vault_lock(vaultName=vault, policy={"Policy": text})["lockId"] != lock_id


def test_locked_vault_keeps_young_archives(server, glacier, account):
    vault = create_vault(glacier)
    young = upload(glacier, vault, b"young")
    policy = {"Policy": _lock_policy(account, vault, days=30)}
    lock_id = glacier.initiate_vault_lock(vaultName=vault, policy=policy)["lockId"]
    glacier.complete_vault_lock(vaultName=vault, lockId=lock_id)
    error = expect_error(glacier, "DeleteArchive", "AccessDeniedException", 403, vaultName=vault, archiveId=young)
    assert "glacier:DeleteArchive" in error.response["Error"]["Message"]
    server.advance(31 * DAY)
    glacier.delete_archive(vaultName=vault, archiveId=young)


def test_vault_lock_policy_is_checked(glacier):
    vault = create_vault(glacier)
    expect_error(glacier, "InitiateVaultLock", "InvalidParameterValueException", 400, vaultName=vault,
                 policy={"Policy": "{"})
    expect_error(glacier, "InitiateVaultLock", "MissingParameterValueException", 400, vaultName=vault, policy={})


# -- data retrieval policy ---------------------------------------------------------------------------------


def test_data_retrieval_policy_default_and_set(glacier):
    assert glacier.get_data_retrieval_policy()["Policy"] == {"Rules": [{"Strategy": "None"}]}
    response = glacier.set_data_retrieval_policy(Policy={"Rules": [{"Strategy": "BytesPerHour",
                                                                    "BytesPerHour": 10737418240}]})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert glacier.get_data_retrieval_policy()["Policy"]["Rules"] == [{"Strategy": "BytesPerHour",
                                                                       "BytesPerHour": 10737418240}]
    glacier.set_data_retrieval_policy(Policy={"Rules": [{"Strategy": "FreeTier"}]})
    assert glacier.get_data_retrieval_policy()["Policy"]["Rules"] == [{"Strategy": "FreeTier"}]


@pytest.mark.parametrize("policy, code", [
    ({"Rules": [{"Strategy": "Unlimited"}]}, "InvalidParameterValueException"),
    ({"Rules": [{"Strategy": "BytesPerHour"}]}, "MissingParameterValueException"),
    ({"Rules": [{"Strategy": "BytesPerHour", "BytesPerHour": 0}]}, "InvalidParameterValueException"),
    ({"Rules": [{"Strategy": "FreeTier", "BytesPerHour": 5}]}, "InvalidParameterValueException"),
    ({"Rules": []}, "InvalidParameterValueException"),
    ({"Rules": [{"Strategy": "None"}, {"Strategy": "FreeTier"}]}, "InvalidParameterValueException"),
])
def test_data_retrieval_policy_is_checked(glacier, policy, code):
    expect_error(glacier, "SetDataRetrievalPolicy", code, 400, Policy=policy)
    assert glacier.get_data_retrieval_policy()["Policy"] == {"Rules": [{"Strategy": "None"}]}


def test_bytes_per_hour_limits_standard_retrievals(server, glacier):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"r" * (3 * MiB))
    glacier.set_data_retrieval_policy(Policy={"Rules": [{"Strategy": "BytesPerHour", "BytesPerHour": MiB}]})
    retrieve(glacier, vault, archive_id)   # 3 MiB over 4 hours: 0.75 MiB an hour
    error = expect_error(glacier, "InitiateJob", "PolicyEnforcedException", 400, vaultName=vault,
                         jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})
    assert error.response["Error"]["Message"] == "InitiateJob request denied by current data retrieval policy."
    # The policy applies to Standard retrievals only.
    retrieve(glacier, vault, archive_id, Tier="Bulk")
    retrieve(glacier, vault, archive_id, Tier="Expedited")
    server.advance(5 * HOUR)   # the first one is done: its bytes no longer count
    retrieve(glacier, vault, archive_id)


def test_free_tier_policy_limits_the_daily_standard_retrievals(server, glacier):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"f" * (16 * MiB))
    glacier.set_data_retrieval_policy(Policy={"Rules": [{"Strategy": "FreeTier"}]})
    # The daily share of 10 GB a month: about 341 MiB.
    for _ in range(341 // 16):
        retrieve(glacier, vault, archive_id)
    expect_error(glacier, "InitiateJob", "PolicyEnforcedException", 400, vaultName=vault,
                 jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})
    server.advance(DAY)
    retrieve(glacier, vault, archive_id)


# -- provisioned capacity -----------------------------------------------------------------------------------


def test_provisioned_capacity(server, glacier):
    assert glacier.list_provisioned_capacity()["ProvisionedCapacityList"] == []
    bought = glacier.purchase_provisioned_capacity()
    assert bought["ResponseMetadata"]["HTTPStatusCode"] == 201 and len(bought["capacityId"]) == 24
    second = glacier.purchase_provisioned_capacity()["capacityId"]
    error = expect_error(glacier, "PurchaseProvisionedCapacity", "LimitExceededException", 400)
    assert "2" in error.response["Error"]["Message"]
    units = glacier.list_provisioned_capacity()["ProvisionedCapacityList"]
    assert [u["CapacityId"] for u in units] == [bought["capacityId"], second]
    start, end = (datetime.fromisoformat(units[0][k]) for k in ("StartDate", "ExpirationDate"))
    assert 28 <= (end - start).days <= 31 and end.day in (start.day, 28, 29, 30)
    server.advance(32 * DAY)
    # Expired units no longer count against the limit; they stay listed with their dates.
    glacier.purchase_provisioned_capacity()
    assert len(glacier.list_provisioned_capacity()["ProvisionedCapacityList"]) == 3


def test_expedited_retrieval_with_provisioned_capacity(server, glacier):
    glacier.purchase_provisioned_capacity()
    vault = create_vault(glacier)
    job_id = retrieve(glacier, vault, upload(glacier, vault, b"urgent"), Tier="Expedited")
    server.advance(5 * MINUTE)
    assert glacier.describe_job(vaultName=vault, jobId=job_id)["StatusCode"] == "Succeeded"
