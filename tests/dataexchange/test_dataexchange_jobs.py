"""Jobs: every type's validation and lifecycle, real signed URLs, ListJobs, retention."""

import hashlib
import urllib.request
from datetime import timedelta

import pytest

from dataexchange_helpers import (DATASHARE, DAY, HOUR, ROLE, assets_of, create_data_set, create_revision,
                                  http_error, import_file, md5_b64, put)
from dataexchange_helpers import dx  # noqa: F401  (fixture)
from support import expect_error

CSV = b"ticker,price\nAMZN,181.05\nMSFT,415.50\n"


@pytest.fixture
def target(dx):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    return data_set["Id"], revision["Id"]


def signed_import(dx, target, data=CSV, name="prices.csv"):
    data_set_id, revision_id = target
    return dx.create_job(Type="IMPORT_ASSET_FROM_SIGNED_URL", Details={"ImportAssetFromSignedUrl": {
        "AssetName": name, "DataSetId": data_set_id, "RevisionId": revision_id, "Md5Hash": md5_b64(data)}})


def test_signed_url_round_trip(server, dx, target, account):
    data_set_id, revision_id = target
    job = signed_import(dx, target)
    assert job["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert job["State"] == "WAITING" and job["Type"] == "IMPORT_ASSET_FROM_SIGNED_URL" and job["Errors"] == []
    assert job["Arn"] == f"arn:aws:dataexchange:us-east-1:{account}:jobs/{job['Id']}"
    details = job["Details"]["ImportAssetFromSignedUrl"]
    assert details["SignedUrlExpiresAt"] - job["CreatedAt"] == timedelta(hours=1)
    url = details["SignedUrl"]

    # The URL takes a plain HTTP PUT of the file; a body that does not match the MD5 is refused.
    bad = http_error(lambda: put(url, b"something else", md5_b64(b"something else")))
    assert bad.code == 400 and b"<Code>BadDigest</Code>" in bad.read()
    bad = http_error(lambda: put(url, CSV, md5_b64(b"x")))
    assert bad.code == 400
    assert put(url, CSV, md5_b64(CSV)) == 200

    started = dx.start_job(JobId=job["Id"])
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert dx.get_job(JobId=job["Id"])["State"] == "IN_PROGRESS"
    server.advance(60)
    done = dx.get_job(JobId=job["Id"])
    assert done["State"] == "COMPLETED" and done["UpdatedAt"] > done["CreatedAt"]
    [asset] = assets_of(dx, data_set_id, revision_id)
    assert asset["Name"] == "prices.csv" and asset["AssetDetails"] == {"S3SnapshotAsset": {"Size": float(len(CSV))}}

    export = dx.create_job(Type="EXPORT_ASSET_TO_SIGNED_URL", Details={"ExportAssetToSignedUrl": {
        "AssetId": asset["Id"], "DataSetId": data_set_id, "RevisionId": revision_id}})
    assert "SignedUrl" not in export["Details"]["ExportAssetToSignedUrl"]
    dx.start_job(JobId=export["Id"])
    server.advance(30)
    exported = dx.get_job(JobId=export["Id"])
    assert exported["State"] == "COMPLETED"
    download = exported["Details"]["ExportAssetToSignedUrl"]
    assert download["SignedUrlExpiresAt"] - exported["UpdatedAt"] == timedelta(hours=1)
    with urllib.request.urlopen(download["SignedUrl"], timeout=30) as response:
        assert response.read() == CSV
        assert response.headers["ETag"].strip('"') == hashlib.md5(CSV).hexdigest()

    # Upload URLs of finished jobs take nothing more; signed URLs expire after an hour.
    assert http_error(lambda: put(url, CSV, md5_b64(CSV))).code == 403
    server.advance(HOUR + 1)
    assert http_error(lambda: urllib.request.urlopen(download["SignedUrl"], timeout=30)).code == 403


def test_upload_url_refuses_other_methods_and_forged_tokens(dx, target):
    url = signed_import(dx, target)["Details"]["ImportAssetFromSignedUrl"]["SignedUrl"]
    assert http_error(lambda: urllib.request.urlopen(url, timeout=30)).code == 405
    assert http_error(lambda: put(url[:-3] + "AAA", CSV)).code == 403
    assert put(url, CSV) == 200   # Content-MD5 is optional; the job's Md5Hash is still checked


def test_import_started_before_upload_ends_in_error(server, dx, target):
    job = signed_import(dx, target)
    dx.start_job(JobId=job["Id"])
    server.advance(60)
    failed = dx.get_job(JobId=job["Id"])
    assert failed["State"] == "ERROR"
    [error] = failed["Errors"]
    assert error["Code"] == "VALIDATION_EXCEPTION" and "uploaded" in error["Message"]
    assert error["ResourceType"] == "REVISION" and error["ResourceId"] == target[1]
    assert error["Details"] == {"ImportAssetFromSignedUrlJobErrorDetails": {"AssetName": "prices.csv"}}
    assert assets_of(dx, *target) == []


def test_cancel_only_while_waiting(dx, target):
    job = signed_import(dx, target)
    cancelled = dx.cancel_job(JobId=job["Id"])
    assert cancelled["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert dx.get_job(JobId=job["Id"])["State"] == "CANCELLED"
    error = expect_error(dx, "CancelJob", "ConflictException", 409, JobId=job["Id"])
    assert error.response["ResourceType"] == "JOB" and error.response["ResourceId"] == job["Id"]
    expect_error(dx, "StartJob", "ConflictException", 409, JobId=job["Id"])
    running = signed_import(dx, target)
    dx.start_job(JobId=running["Id"])
    expect_error(dx, "CancelJob", "ConflictException", 409, JobId=running["Id"])
    expect_error(dx, "StartJob", "ConflictException", 409, JobId=running["Id"])


def test_jobs_disappear_90_days_after_creation(server, dx, target):
    waiting = signed_import(dx, target)
    finished = import_file(server, dx, *target, CSV)
    server.advance(89 * DAY)
    assert dx.get_job(JobId=waiting["Id"])["State"] == "WAITING"
    server.advance(DAY)
    for job in (waiting, finished):
        error = expect_error(dx, "GetJob", "ResourceNotFoundException", 404, JobId=job["Id"])
        assert error.response["ResourceType"] == "JOB"
    assert assets_of(dx, *target)   # the assets a job made outlive it


def test_job_lookups(dx):
    expect_error(dx, "GetJob", "ValidationException", 400, JobId="short")
    expect_error(dx, "GetJob", "ResourceNotFoundException", 404, JobId="0" * 32)
    expect_error(dx, "StartJob", "ResourceNotFoundException", 404, JobId="0" * 32)


def test_create_job_validation(server, dx, target):
    data_set_id, revision_id = target
    signed = {"AssetName": "a", "DataSetId": data_set_id, "RevisionId": revision_id, "Md5Hash": md5_b64(b"a")}
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSETS_FROM_S3",
                 Details={"ImportAssetFromSignedUrl": signed})
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSET_FROM_SIGNED_URL",
                 Details={"ImportAssetFromSignedUrl": signed, "ExportAssetToSignedUrl": {
                     "AssetId": "a" * 32, "DataSetId": data_set_id, "RevisionId": revision_id}})
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSET_FROM_SIGNED_URL",
                 Details={"ImportAssetFromSignedUrl": {**signed, "Md5Hash": "not-base64-at-all-but-24"}})
    missing = expect_error(dx, "CreateJob", "ResourceNotFoundException", 404, Type="IMPORT_ASSET_FROM_SIGNED_URL",
                           Details={"ImportAssetFromSignedUrl": {**signed, "DataSetId": "d" * 32}})
    assert missing.response["ResourceType"] == "DATA_SET"
    missing = expect_error(dx, "CreateJob", "ResourceNotFoundException", 404, Type="EXPORT_ASSET_TO_SIGNED_URL",
                           Details={"ExportAssetToSignedUrl": {"AssetId": "a" * 32, "DataSetId": data_set_id,
                                                               "RevisionId": revision_id}})
    assert missing.response["ResourceType"] == "ASSET"
    sources = [{"Bucket": "my-bucket", "Key": f"k{i}"} for i in range(101)]
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSETS_FROM_S3", Details={
        "ImportAssetsFromS3": {"AssetSources": sources, "DataSetId": data_set_id, "RevisionId": revision_id}})
    revisions = [{"Bucket": "my-bucket", "RevisionId": revision_id}] * 2
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="EXPORT_REVISIONS_TO_S3", Details={
        "ExportRevisionsToS3": {"DataSetId": data_set_id, "RevisionDestinations": revisions}})
    for pattern in ("${Revision.Id}/data", "${Asset.Name}/${Asset.Colour}"):
        expect_error(dx, "CreateJob", "ValidationException", 400, Type="EXPORT_REVISIONS_TO_S3", Details={
            "ExportRevisionsToS3": {"DataSetId": data_set_id, "RevisionDestinations": [
                {"Bucket": "my-bucket", "RevisionId": revision_id, "KeyPattern": pattern}]}})
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="EXPORT_REVISIONS_TO_S3", Details={
        "ExportRevisionsToS3": {"DataSetId": data_set_id, "Encryption": {"Type": "aws:kms"}, "RevisionDestinations": [
            {"Bucket": "my-bucket", "RevisionId": revision_id}]}})
    # The job's asset type must be the data set's.
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSETS_FROM_REDSHIFT_DATA_SHARES",
                 Details={"ImportAssetsFromRedshiftDataShares": {
                     "AssetSources": [{"DataShareArn": DATASHARE}], "DataSetId": data_set_id,
                     "RevisionId": revision_id}})
    # Finalized revisions take no imports.
    import_file(server, dx, data_set_id, revision_id, b"x")
    dx.update_revision(DataSetId=data_set_id, RevisionId=revision_id, Finalized=True)
    conflict = expect_error(dx, "CreateJob", "ConflictException", 409, Type="IMPORT_ASSET_FROM_SIGNED_URL",
                            Details={"ImportAssetFromSignedUrl": signed})
    assert conflict.response["ResourceType"] == "REVISION"


def test_finalizing_a_revision_with_a_waiting_import_blocks_its_start(server, dx, target):
    import_file(server, dx, *target, b"first")
    waiting = signed_import(dx, target)
    dx.update_revision(DataSetId=target[0], RevisionId=target[1], Finalized=True)
    expect_error(dx, "StartJob", "ConflictException", 409, JobId=waiting["Id"])


def run(server, dx, job):
    dx.start_job(JobId=job["Id"])
    server.advance(120)
    done = dx.get_job(JobId=job["Id"])
    assert done["State"] == "COMPLETED", done
    return done


def test_redshift_import_creates_datashare_assets(server, dx):
    data_set = create_data_set(dx, asset_type="REDSHIFT_DATA_SHARE")
    revision = create_revision(dx, data_set["Id"])
    run(server, dx, dx.create_job(
        Type="IMPORT_ASSETS_FROM_REDSHIFT_DATA_SHARES",
        AssetConfiguration={"Tags": [{"Key": "source", "Value": "redshift"}]},
        Details={"ImportAssetsFromRedshiftDataShares": {"AssetSources": [{"DataShareArn": DATASHARE}],
                                                        "DataSetId": data_set["Id"], "RevisionId": revision["Id"]}}))
    [asset] = assets_of(dx, data_set["Id"], revision["Id"])
    assert asset["Name"] == "sales_share" and asset["AssetType"] == "REDSHIFT_DATA_SHARE"
    assert asset["AssetDetails"] == {"RedshiftDataShareAsset": {"Arn": DATASHARE}}
    got = dx.get_asset(DataSetId=data_set["Id"], RevisionId=revision["Id"], AssetId=asset["Id"])
    assert got["Tags"] == {"source": "redshift"}
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSETS_FROM_REDSHIFT_DATA_SHARES",
                 Details={"ImportAssetsFromRedshiftDataShares": {"AssetSources": [{"DataShareArn": "arn:aws:nope"}],
                                                                 "DataSetId": data_set["Id"],
                                                                 "RevisionId": revision["Id"]}})


def test_api_gateway_import_uploads_its_specification(server, dx):
    spec = b'{"openapi": "3.0.0", "info": {"title": "Prices", "version": "1"}, "paths": {}}'
    data_set = create_data_set(dx, asset_type="API_GATEWAY_API")
    revision = create_revision(dx, data_set["Id"])
    job = dx.create_job(Type="IMPORT_ASSET_FROM_API_GATEWAY_API", Details={"ImportAssetFromApiGatewayApi": {
        "ApiId": "a1b2c3d4e5", "ApiName": "Prices API", "ApiSpecificationMd5Hash": md5_b64(spec),
        "DataSetId": data_set["Id"], "ProtocolType": "REST", "RevisionId": revision["Id"], "Stage": "prod"}})
    details = job["Details"]["ImportAssetFromApiGatewayApi"]
    assert put(details["ApiSpecificationUploadUrl"], spec, md5_b64(spec)) == 200
    run(server, dx, job)
    [entry] = assets_of(dx, data_set["Id"], revision["Id"])
    api = dx.get_asset(DataSetId=data_set["Id"], RevisionId=revision["Id"],
                       AssetId=entry["Id"])["AssetDetails"]["ApiGatewayApiAsset"]
    assert entry["Name"] == "Prices API" and api["ApiId"] == "a1b2c3d4e5" and api["Stage"] == "prod"
    assert api["ApiEndpoint"] == "https://api-fulfill.dataexchange.us-east-1.amazonaws.com/v1"
    with urllib.request.urlopen(api["ApiSpecificationDownloadUrl"], timeout=30) as response:
        assert response.read() == spec


def test_s3_data_access_and_lake_formation_jobs_create_their_assets(server, dx, account):
    access_set = create_data_set(dx, asset_type="S3_DATA_ACCESS")
    access_revision = create_revision(dx, access_set["Id"])
    run(server, dx, dx.create_job(Type="CREATE_S3_DATA_ACCESS_FROM_S3_BUCKET", Details={
        "CreateS3DataAccessFromS3Bucket": {"AssetSource": {"Bucket": "shared-bucket", "KeyPrefixes": ["daily/"]},
                                           "DataSetId": access_set["Id"], "RevisionId": access_revision["Id"]}}))
    [access] = assets_of(dx, access_set["Id"], access_revision["Id"])
    details = access["AssetDetails"]["S3DataAccessAsset"]
    assert details["Bucket"] == "shared-bucket" and details["KeyPrefixes"] == ["daily/"]
    assert details["S3AccessPointArn"].startswith(f"arn:aws:s3:us-east-1:{account}:accesspoint/")
    assert details["S3AccessPointAlias"].endswith("-s3alias")

    lf_set = create_data_set(dx, asset_type="LAKE_FORMATION_DATA_PERMISSION")
    lf_revision = create_revision(dx, lf_set["Id"])
    expression = [{"TagKey": "domain", "TagValues": ["sales"]}]
    run(server, dx, dx.create_job(Type="IMPORT_ASSETS_FROM_LAKE_FORMATION_TAG_POLICY", Details={
        "ImportAssetsFromLakeFormationTagPolicy": {
            "CatalogId": "123456789012", "RoleArn": ROLE, "DataSetId": lf_set["Id"], "RevisionId": lf_revision["Id"],
            "Database": {"Expression": expression, "Permissions": ["DESCRIBE"]},
            "Table": {"Expression": expression, "Permissions": ["DESCRIBE", "SELECT"]}}}))
    assets = assets_of(dx, lf_set["Id"], lf_revision["Id"])
    by_name = {a["Name"]: a["AssetDetails"]["LakeFormationDataPermissionAsset"] for a in assets}
    table = by_name["Table(s) included in the LF-tag policy"]
    assert table["Permissions"] == ["DESCRIBE", "SELECT"] and table["RoleArn"] == ROLE
    assert table["LakeFormationDataPermissionDetails"]["LFTagPolicy"]["ResourceType"] == "TABLE"
    assert by_name["Database(s) included in the LF-tag policy"]["Permissions"] == ["DESCRIBE"]
    expect_error(dx, "CreateJob", "ValidationException", 400, Type="IMPORT_ASSETS_FROM_LAKE_FORMATION_TAG_POLICY",
                 Details={"ImportAssetsFromLakeFormationTagPolicy": {
                     "CatalogId": "123456789012", "RoleArn": ROLE, "DataSetId": lf_set["Id"],
                     "RevisionId": lf_revision["Id"]}})


def test_list_jobs_filters_order_and_pages(dx):
    first, second = create_data_set(dx), create_data_set(dx)
    rev_a, rev_b = create_revision(dx, first["Id"]), create_revision(dx, first["Id"])
    rev_c = create_revision(dx, second["Id"])
    made = [signed_import(dx, (first["Id"], rev_a["Id"]))["Id"] for _ in range(3)]
    made += [signed_import(dx, (first["Id"], rev_b["Id"]))["Id"] for _ in range(2)]
    made += [signed_import(dx, (second["Id"], rev_c["Id"]))["Id"]]

    listed = dx.list_jobs()
    assert [j["Id"] for j in listed["Jobs"]] == made[::-1] and "NextToken" not in listed
    assert [j["Id"] for j in dx.list_jobs(DataSetId=first["Id"])["Jobs"]] == made[:5][::-1]
    assert [j["Id"] for j in dx.list_jobs(RevisionId=rev_b["Id"])["Jobs"]] == made[3:5][::-1]
    assert [j["Id"] for j in dx.list_jobs(DataSetId=first["Id"], RevisionId=rev_a["Id"])["Jobs"]] == made[:3][::-1]
    assert dx.list_jobs(DataSetId=second["Id"], RevisionId=rev_a["Id"])["Jobs"] == []

    paginator = dx.get_paginator("list_jobs")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Jobs"]) for p in pages] == [2, 2, 2] and "NextToken" not in pages[-1]
    assert [j["Id"] for p in pages for j in p["Jobs"]] == made[::-1]
    capped = paginator.paginate(DataSetId=first["Id"], PaginationConfig={"PageSize": 2, "MaxItems": 3})
    assert [j["Id"] for j in capped.build_full_result()["Jobs"]] == made[:5][::-1][:3]

    token = dx.list_jobs(MaxResults=1)["NextToken"]
    expect_error(dx, "ListJobs", "ValidationException", 400, MaxResults=1, NextToken=token, DataSetId=first["Id"])
    expect_error(dx, "ListJobs", "ValidationException", 400, MaxResults=500)
    expect_error(dx, "ListJobs", "ValidationException", 400, DataSetId="not an id")


def test_in_progress_jobs_are_limited_per_type(server, dx, target):
    jobs = [signed_import(dx, target)["Id"] for _ in range(11)]
    for job_id in jobs[:10]:
        dx.start_job(JobId=job_id)
    expect_error(dx, "StartJob", "ThrottlingException", 429, JobId=jobs[10])
    server.advance(60)
    dx.start_job(JobId=jobs[10])
