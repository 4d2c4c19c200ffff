"""``jobyard seed`` loads jobs into the store of a running server, and they behave like any other."""

from __future__ import annotations

import pytest
from botocore.config import Config as BotoConfig

from support import REGION, make_client

from jobyard.cli import main
from jobyard.config import Config
from jobyard.testing import running_server

ACCOUNT = "135791357913"
JOBS = 240


@pytest.fixture
def seeded(tmp_path, request):
    """A running server (frozen clock) whose store got the test's service's jobs while it was serving."""
    service = request.node.name.split("_")[1]
    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as server:
        assert main(["seed", "--service", service, "--jobs", str(JOBS), "--account", ACCOUNT,
                     "--region", REGION, "--data-dir", str(tmp_path), "--quiet"]) == 0
        yield server


def test_snowball_jobs_list_describe_and_move(seeded):
    snowball = make_client("snowball", seeded.url, ACCOUNT)
    listed = [j for page in snowball.get_paginator("list_jobs").paginate(PaginationConfig={"PageSize": 50})
              for j in page["JobListEntries"]]
    assert len(listed) == JOBS
    assert {j["JobType"] for j in listed} == {"IMPORT", "EXPORT", "LOCAL_USE"}
    assert len({j["JobState"] for j in listed}) > 4
    moving = [j for j in listed if j["JobState"] not in ("Complete", "Cancelled")]
    assert moving
    before = {j["JobId"]: snowball.describe_job(JobId=j["JobId"])["JobMetadata"]["JobState"] for j in moving}
    address = snowball.describe_job(JobId=moving[0]["JobId"])["JobMetadata"]["AddressId"]
    assert snowball.describe_address(AddressId=address)["Address"]["City"] == "Seattle"
    usage = snowball.get_snowball_usage()["SnowballsInUse"]
    assert usage == sum(1 for s in before.values()
                        if s in ("PreparingShipment", "InTransitToCustomer", "WithCustomer", "InTransitToAWS"))
    seeded.advance(5 * 86400)
    after = {job_id: snowball.describe_job(JobId=job_id)["JobMetadata"]["JobState"] for job_id in before}
    assert all(after[job_id] != state for job_id, state in before.items() if state != "Pending")


def test_glacier_jobs_list_and_complete(seeded):
    glacier = make_client("glacier", seeded.url, ACCOUNT)
    vaults = glacier.list_vaults()["VaultList"]
    assert [v["VaultName"] for v in vaults] == ["seeded-vault-00000"]
    listed = [j for page in glacier.get_paginator("list_jobs").paginate(vaultName="seeded-vault-00000")
              for j in page["JobList"]]
    assert len(listed) == JOBS and all(j["StatusCode"] == "InProgress" for j in listed)
    seeded.advance(5 * 3600)
    done = glacier.describe_job(vaultName="seeded-vault-00000", jobId=listed[0]["JobId"])
    assert done["StatusCode"] in ("Succeeded", "Failed") and done["Completed"]


def test_s3control_jobs_list_describe_and_confirm(seeded):
    s3control = make_client("s3control", seeded.url, ACCOUNT, config=BotoConfig(proxies={"http": seeded.url}))
    listed, params = [], {"AccountId": ACCOUNT, "MaxResults": 100}
    while True:
        page = s3control.list_jobs(**params)
        listed += page["Jobs"]
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    assert len(listed) == JOBS
    suspended = [j for j in listed if j["Status"] == "Suspended"]
    assert suspended and any(j["Status"] == "Cancelled" for j in listed)
    job = s3control.describe_job(AccountId=ACCOUNT, JobId=suspended[0]["JobId"])["Job"]
    assert job["ConfirmationRequired"] and job["Manifest"]["Spec"]["Format"] == "S3BatchOperations_CSV_20180820"
    s3control.update_job_status(AccountId=ACCOUNT, JobId=job["JobId"], RequestedJobStatus="Ready")
    assert s3control.describe_job(AccountId=ACCOUNT, JobId=job["JobId"])["Job"]["Status"] == "Ready"


def test_dataexchange_jobs_list_and_get(seeded):
    dx = make_client("dataexchange", seeded.url, ACCOUNT, config=BotoConfig(inject_host_prefix=False))
    data_sets = dx.list_data_sets()["DataSets"]
    assert len(data_sets) == 1 and data_sets[0]["Origin"] == "OWNED"
    revisions = dx.list_data_set_revisions(DataSetId=data_sets[0]["Id"])["Revisions"]
    assert len(revisions) == 1
    listed = [j for page in dx.get_paginator("list_jobs").paginate(DataSetId=data_sets[0]["Id"])
              for j in page["Jobs"]]
    assert len(listed) == JOBS and len({j["State"] for j in listed}) == 4
    job = dx.get_job(JobId=listed[0]["Id"])
    assert job["Type"] == "IMPORT_ASSETS_FROM_S3"
    assert job["Details"]["ImportAssetsFromS3"]["RevisionId"] == revisions[0]["Id"]


def test_wrong_arguments_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["seed", "--service", "nope", "--jobs", "1"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["seed", "--service", "glacier", "--jobs", "-1"])
    assert caught.value.code == 2
