"""Kept counts (vaults, unfinished S3 Batch jobs, Snowball devices out) stay equal to a fresh count through
creates, deletes, transitions, cancels and failed requests."""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from support import REGION, make_client

from jobyard.services.glacier.service import VAULTS
from jobyard.services.s3control import jobs as s3control_jobs
from jobyard.services.s3control import states as s3control_states
from jobyard.services.snowball import jobs as snowball_jobs
from jobyard.store.schema import counters

ROLE = "arn:aws:iam::123456789012:role/r"


def kept(server, account: str, name: str) -> int | None:
    with server.emulator.store.engine.connect() as conn:
        return conn.execute(counters.select().with_only_columns(counters.c.value).where(
            counters.c.account == account, counters.c.region == REGION, counters.c.name == name)).scalar()


def counted(server, account: str, kind: str, **filters) -> int:
    with server.emulator.store.transaction() as tx:
        return tx.count(kind, account, REGION, **filters)


def test_vault_count_follows_creates_deletes_and_failures(server, account):
    glacier = make_client("glacier", server.url, account)
    glacier.create_vault(vaultName="a")          # the first create counts the vaults, then keeps the count
    assert kept(server, account, VAULTS) == 1
    for name in ("b", "c", "a"):                 # creating an existing vault is no new vault
        glacier.create_vault(vaultName=name)
    glacier.delete_vault(vaultName="b")
    with pytest.raises(ClientError):
        glacier.delete_vault(vaultName="b")
    with pytest.raises(ClientError):
        glacier.create_vault(vaultName="bad name!")
    assert kept(server, account, VAULTS) == counted(server, account, "glacier.vault") == 2


def test_unfinished_job_count_follows_the_jobs_lifecycle(server, account):
    s3 = make_client("s3", server.url, account, config=BotoConfig(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="manifests")
    etag = s3.put_object(Bucket="manifests", Key="m.csv", Body=b"m,k\n")["ETag"].strip('"')
    s3control = make_client("s3control", server.url, account, config=BotoConfig(proxies={"http": server.url}))

    def create(confirm: bool) -> str:
        return s3control.create_job(
            AccountId=account, Priority=1, RoleArn=ROLE, ConfirmationRequired=confirm,
            ClientRequestToken=str(uuid.uuid4()), Operation={"S3PutObjectTagging": {"TagSet": []}},
            Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                      "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": etag}},
            Report={"Enabled": False})["JobId"]

    def check():
        fresh = counted(server, account, s3control_jobs.JOB, states=s3control_states.UNFINISHED)
        assert kept(server, account, s3control_jobs.UNFINISHED_JOBS) == fresh
        return fresh

    made = [create(n % 2 == 0) for n in range(4)]
    assert check() == 4
    s3control.update_job_status(AccountId=account, JobId=made[0], RequestedJobStatus="Cancelled")
    for _ in range(12):
        server.advance(4 * 3600)
        check()
    server.advance(100 * 86400)                  # past every job's retention: finished jobs are deleted
    create(False)
    assert check() >= 1


def test_devices_out_follow_snowball_transitions(server, account):
    snowball = make_client("snowball", server.url, account)
    address = snowball.create_address(Address={
        "Name": "N", "Street1": "1 Main St", "City": "Seattle", "StateOrProvince": "WA", "Country": "US",
        "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
    assert snowball.get_snowball_usage()["SnowballsInUse"] == 0
    for n, job_type in enumerate(("IMPORT", "EXPORT", "LOCAL_USE", "EXPORT")):
        buckets = [{"BucketArn": f"arn:aws:s3:::b{n}-{i}"} for i in range(2 if job_type == "EXPORT" else 1)]
        job = snowball.create_job(JobType=job_type, AddressId=address, RoleARN=ROLE, SnowballType="EDGE",
                                  ShippingOption="NEXT_DAY", Resources={"S3Resources": buckets})["JobId"]
    snowball.cancel_job(JobId=job)
    seen = set()
    for _ in range(40):
        server.advance(12 * 3600)
        in_use = snowball.get_snowball_usage()["SnowballsInUse"]
        assert in_use == counted(server, account, snowball_jobs.JOB, states=snowball_jobs.DEVICE_OUT)
        seen.add(in_use)
    assert kept(server, account, snowball_jobs.DEVICES_OUT) == 0 and len(seen) > 2
