import hashlib
import re
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from snowball_helpers import BUCKET, DAY, HOUR, KMS, ROLE, create_address, create_job, state
from support import expect_error

IMPORT_PATH = ["New", "PreparingAppliance", "PreparingShipment", "InTransitToCustomer", "WithCustomer",
               "InTransitToAWS", "WithAWSSortingFacility", "WithAWS", "InProgress", "Complete"]


def advance_until(server, client, job_id, wanted, step=HOUR, limit=60 * DAY):
    """Advance the clock in steps until the job reaches ``wanted``; returns the states seen on the way."""
    seen = [state(client, job_id)]
    waited = 0
    while seen[-1] != wanted:
        assert waited < limit, f"{job_id} stuck in {seen[-1]}"
        server.advance(step)
        waited += step
        current = state(client, job_id)
        if current != seen[-1]:
            seen.append(current)
    return seen


def test_create_job_ids_and_metadata(snowball):
    address = create_address(snowball)
    job_id = create_job(snowball, address, Description="Important Photos", KmsKeyARN=KMS,
                        Notification={"SnsTopicARN": "arn:aws:sns:us-east-1:123456789012:topic",
                                      "JobStatesToNotify": ["Complete"], "NotifyAll": False})
    assert re.fullmatch(r"JID[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", job_id)
    described = snowball.describe_job(JobId=job_id)
    meta = described["JobMetadata"]
    assert meta["JobId"] == job_id and meta["JobState"] == "New" and meta["JobType"] == "IMPORT"
    assert meta["AddressId"] == address and meta["RoleARN"] == ROLE and meta["KmsKeyARN"] == KMS
    assert meta["Description"] == "Important Photos"
    assert meta["ShippingDetails"] == {"ShippingOption": "SECOND_DAY"}
    assert meta["Resources"] == {"S3Resources": [{"BucketArn": BUCKET}]}
    assert meta["Notification"]["JobStatesToNotify"] == ["Complete"]
    assert isinstance(meta["CreationDate"], datetime)
    assert "SubJobMetadata" not in described or described["SubJobMetadata"] == []


def test_import_job_walks_its_whole_path_within_30_days(server, snowball):
    job_id = create_job(snowball, create_address(snowball), ShippingOption="STANDARD")
    seen = advance_until(server, snowball, job_id, "Complete", step=2 * HOUR, limit=30 * DAY)
    assert seen == IMPORT_PATH
    meta = snowball.describe_job(JobId=job_id)["JobMetadata"]
    progress = meta["DataTransferProgress"]
    assert progress["BytesTransferred"] == progress["TotalBytes"] > 0
    assert meta["ShippingDetails"]["OutboundShipment"]["TrackingNumber"]
    assert meta["ShippingDetails"]["InboundShipment"]["Status"] == "Delivered"
    report = urllib.request.urlopen(meta["JobLogInfo"]["JobCompletionReportURI"]).read().decode()
    assert job_id in report


def test_one_clock_jump_of_60_days_completes_every_job(server, snowball):
    address = create_address(snowball)
    job_ids = [create_job(snowball, address, job_type=t) for t in ("IMPORT", "LOCAL_USE", "EXPORT")]
    server.advance(60 * DAY)
    assert [state(snowball, j) for j in job_ids] == ["Complete"] * 3


def test_local_use_job_has_no_import_step(server, snowball):
    job_id = create_job(snowball, create_address(snowball), job_type="LOCAL_USE")
    seen = advance_until(server, snowball, job_id, "Complete", step=2 * HOUR)
    assert "InProgress" not in seen and seen[-2] == "WithAWS"


def test_export_job_has_parts_that_ship_one_after_another(server, snowball):
    address = create_address(snowball)
    buckets = [{"BucketArn": f"arn:aws:s3:::bucket-{i}"} for i in range(2)]
    main_id = create_job(snowball, address, job_type="EXPORT", Resources={"S3Resources": buckets})
    described = snowball.describe_job(JobId=main_id)
    assert described["JobMetadata"]["JobState"] == "New"
    server.advance(2 * HOUR)
    described = snowball.describe_job(JobId=main_id)
    parts = described["SubJobMetadata"]
    assert len(parts) == 2
    assert [p["JobState"] for p in parts] == ["PreparingAppliance", "Pending"]
    entries = {e["JobId"]: e for e in snowball.list_jobs()["JobListEntries"]}
    assert entries[main_id]["IsMaster"] is True
    assert all(entries[p["JobId"]]["IsMaster"] is False for p in parts)
    first, second = parts[0]["JobId"], parts[1]["JobId"]
    seen = advance_until(server, snowball, first, "InTransitToAWS")
    assert seen[:3] == ["PreparingAppliance", "InProgress", "PreparingShipment"]
    assert state(snowball, second) == "PreparingAppliance"
    server.advance(60 * DAY)
    assert state(snowball, main_id) == "Complete"
    assert state(snowball, first) == state(snowball, second) == "Complete"


def test_cancel_only_while_new(server, snowball):
    address = create_address(snowball)
    job_id = create_job(snowball, address)
    response = snowball.cancel_job(JobId=job_id)
    assert {k: v for k, v in response.items() if k != "ResponseMetadata"} == {}
    assert state(snowball, job_id) == "Cancelled"
    later = create_job(snowball, address)
    server.advance(2 * HOUR)
    assert state(snowball, later) != "New"
    expect_error(snowball, "CancelJob", "InvalidJobStateException", 400, JobId=later)
    expect_error(snowball, "UpdateJob", "InvalidJobStateException", 400, JobId=later, Description="too late")


def test_update_job_while_new(snowball):
    address = create_address(snowball)
    job_id = create_job(snowball, address)
    other = create_address(snowball, Name="Other")
    snowball.update_job(JobId=job_id, Description="changed", AddressId=other, ShippingOption="NEXT_DAY")
    meta = snowball.describe_job(JobId=job_id)["JobMetadata"]
    assert meta["Description"] == "changed" and meta["AddressId"] == other
    assert meta["ShippingDetails"]["ShippingOption"] == "NEXT_DAY"
    expect_error(snowball, "UpdateJob", "InvalidResourceException", 400, JobId=job_id,
                 AddressId="ADID00000000-0000-0000-0000-000000000000")


def test_manifest_and_unlock_code_only_with_customer(server, snowball):
    job_id = create_job(snowball, create_address(snowball))
    expect_error(snowball, "GetJobManifest", "InvalidJobStateException", 400, JobId=job_id)
    expect_error(snowball, "GetJobUnlockCode", "InvalidJobStateException", 400, JobId=job_id)
    advance_until(server, snowball, job_id, "WithCustomer")
    url = snowball.get_job_manifest(JobId=job_id)["ManifestURI"]
    manifest = urllib.request.urlopen(url).read()
    assert manifest.startswith(b"SNOWBALL-MANIFEST") and job_id.encode() in manifest
    code = snowball.get_job_unlock_code(JobId=job_id)["UnlockCode"]
    assert re.fullmatch(r"[a-z0-9]{5}(-[a-z0-9]{5}){4}", code) and len(code) == 29
    assert snowball.get_job_unlock_code(JobId=job_id)["UnlockCode"] == code
    assert snowball.get_software_updates(JobId=job_id)["UpdatesURI"].startswith("http")


def test_manifest_url_expires_after_an_hour(server, snowball):
    job_id = create_job(snowball, create_address(snowball), job_type="LOCAL_USE")
    advance_until(server, snowball, job_id, "WithCustomer")
    url = snowball.get_job_manifest(JobId=job_id)["ManifestURI"]
    server.advance(61 * 60)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url)
    assert caught.value.code == 403
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(forged)


def test_device_urls_answer_head_with_size_and_etag(server, snowball):
    job_id = create_job(snowball, create_address(snowball), job_type="LOCAL_USE")
    advance_until(server, snowball, job_id, "WithCustomer")
    for url in (snowball.get_job_manifest(JobId=job_id)["ManifestURI"],
                snowball.get_software_updates(JobId=job_id)["UpdatesURI"]):
        with urllib.request.urlopen(url) as response:
            data = response.read()
            assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as response:
            assert response.read() == b"" and response.headers["Content-Length"] == str(len(data))
            assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
            assert response.headers["Content-Type"] == "application/octet-stream"
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="PUT"))
        assert caught.value.code == 405 and caught.value.headers["Allow"] == "GET, HEAD"
        assert b"<Code>MethodNotAllowed</Code>" in caught.value.read()


def test_shipment_state_updates(server, snowball):
    job_id = create_job(snowball, create_address(snowball))
    expect_error(snowball, "UpdateJobShipmentState", "InvalidJobStateException", 400, JobId=job_id,
                 ShipmentState="RETURNED")
    advance_until(server, snowball, job_id, "InTransitToCustomer")
    snowball.update_job_shipment_state(JobId=job_id, ShipmentState="RECEIVED")
    assert state(snowball, job_id) == "WithCustomer"
    snowball.update_job_shipment_state(JobId=job_id, ShipmentState="RETURNED")
    assert state(snowball, job_id) == "InTransitToAWS"


def test_return_shipping_label(server, snowball):
    job_id = create_job(snowball, create_address(snowball))
    expect_error(snowball, "CreateReturnShippingLabel", "InvalidJobStateException", 400, JobId=job_id)
    expect_error(snowball, "DescribeReturnShippingLabel", "InvalidJobStateException", 400, JobId=job_id)
    advance_until(server, snowball, job_id, "WithCustomer")
    assert snowball.create_return_shipping_label(JobId=job_id)["Status"] == "InProgress"
    assert snowball.describe_return_shipping_label(JobId=job_id)["Status"] == "InProgress"
    expect_error(snowball, "CreateReturnShippingLabel", "ConflictException", 400, JobId=job_id)
    server.advance(15 * 60)
    label = snowball.describe_return_shipping_label(JobId=job_id)
    assert label["Status"] == "Succeeded" and isinstance(label["ExpirationDate"], datetime)
    assert urllib.request.urlopen(label["ReturnShippingLabelURI"]).read().startswith(b"%PDF")
    expect_error(snowball, "CreateReturnShippingLabel", "ReturnShippingLabelAlreadyExistsException", 400, JobId=job_id)


def test_create_job_rules(snowball):
    address = create_address(snowball)
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="IMPORT", RoleARN=ROLE)
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, AddressId=address)
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="IMPORT", AddressId=address)
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="EXPORT", AddressId=address,
                 RoleARN=ROLE)
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="IMPORT", AddressId=address,
                 RoleARN=ROLE, SnowballType="SNC1_SSD", SnowballCapacityPreference="T98")
    error = expect_error(snowball, "CreateJob", "InvalidResourceException", 400, JobType="IMPORT", RoleARN=ROLE,
                         AddressId="ADID00000000-0000-0000-0000-000000000000")
    assert error.response["ResourceType"] == "ADDRESS"


def test_unknown_job(snowball):
    missing = "JID00000000-0000-0000-0000-000000000000"
    for operation in ("DescribeJob", "CancelJob", "GetJobManifest", "GetJobUnlockCode", "UpdateJob"):
        error = expect_error(snowball, operation, "InvalidResourceException", 400, JobId=missing)
        assert error.response["ResourceType"] == "JOB"


def test_usage_counts_devices_out(server, snowball):
    usage = snowball.get_snowball_usage()
    assert usage == {**usage, "SnowballLimit": 1, "SnowballsInUse": 0}
    job_id = create_job(snowball, create_address(snowball))
    advance_until(server, snowball, job_id, "WithCustomer")
    assert snowball.get_snowball_usage()["SnowballsInUse"] == 1


def test_a_failed_request_writes_nothing(snowball):
    address = create_address(snowball)
    cluster_id = snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                         ShippingOption="SECOND_DAY")["ClusterId"]
    jobs_before = snowball.list_jobs()["JobListEntries"]
    # Fails on its last check, after the address and capacity checks have passed.
    expect_error(snowball, "CreateJob", "InvalidResourceException", 400, JobType="IMPORT", AddressId=address,
                 RoleARN=ROLE, LongTermPricingId="LTPID00000000-0000-0000-0000-000000000000")
    expect_error(snowball, "CreateCluster", "InvalidResourceException", 400, JobType="LOCAL_USE", AddressId=address,
                 SnowballType="EDGE", ShippingOption="SECOND_DAY", InitialClusterSize=5,
                 LongTermPricingIds=["LTPID00000000-0000-0000-0000-000000000000"])
    assert snowball.list_jobs()["JobListEntries"] == jobs_before
    assert [c["ClusterId"] for c in snowball.list_clusters()["ClusterListEntries"]] == [cluster_id]
