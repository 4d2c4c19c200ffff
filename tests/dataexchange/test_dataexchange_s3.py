"""S3 jobs: imports read real objects into assets, exports write the assets' bytes back out as objects."""

import os
import re
import urllib.request
from datetime import datetime, timedelta

from dataexchange_helpers import assets_of, create_data_set, create_revision, import_file
from dataexchange_helpers import dx, s3  # noqa: F401  (fixtures)

from jobyard.objects import ObjectInfo
from jobyard.objects.builtin import BuiltinObjectStore

CSV = b"ticker,price\nAMZN,181.05\nMSFT,415.50\n"
BLOB = bytes((i * 31 + i // 251) % 256 for i in range(300_000))
SOURCES = {"prices/2024/daily.csv": CSV, "blob.bin": BLOB, "empty.txt": b""}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def run(server, dx, job, state="COMPLETED"):
    assert job["State"] == "WAITING"
    dx.start_job(JobId=job["Id"])
    server.advance(120)
    done = dx.get_job(JobId=job["Id"])
    assert done["State"] == state, done
    return done


def import_job(dx, data_set_id, revision_id, sources):
    return dx.create_job(Type="IMPORT_ASSETS_FROM_S3", Details={"ImportAssetsFromS3": {
        "AssetSources": [{"Bucket": bucket, "Key": key} for bucket, key in sources], "DataSetId": data_set_id,
        "RevisionId": revision_id}})


def export_assets_job(dx, data_set_id, revision_id, destinations, **extra):
    return dx.create_job(Type="EXPORT_ASSETS_TO_S3", Details={"ExportAssetsToS3": {
        "AssetDestinations": destinations, "DataSetId": data_set_id, "RevisionId": revision_id, **extra}})


def export_revision_job(dx, data_set_id, revision_id, bucket, key_pattern=None):
    destination = {"Bucket": bucket, "RevisionId": revision_id}
    if key_pattern is not None:
        destination["KeyPattern"] = key_pattern
    return dx.create_job(Type="EXPORT_REVISIONS_TO_S3", Details={"ExportRevisionsToS3": {
        "DataSetId": data_set_id, "RevisionDestinations": [destination]}})


def objects_in(s3, bucket) -> dict:
    """Every object of ``bucket`` with its bytes, read back through the S3 API."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for page in pages for o in page.get("Contents", [])}


def imported_revision(server, dx, s3, sources=SOURCES):
    """A data set and a revision holding one asset per object of ``sources``, imported from S3."""
    s3.create_bucket(Bucket="dx-source")
    for key, data in sources.items():
        s3.put_object(Bucket="dx-source", Key=key, Body=data)
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    run(server, dx, import_job(dx, data_set["Id"], revision["Id"], [("dx-source", key) for key in sources]))
    assets = {a["Name"]: a for a in assets_of(dx, data_set["Id"], revision["Id"])}
    return data_set, revision, assets


def download(server, dx, data_set_id, revision_id, asset_id) -> bytes:
    job = dx.create_job(Type="EXPORT_ASSET_TO_SIGNED_URL", Details={"ExportAssetToSignedUrl": {
        "AssetId": asset_id, "DataSetId": data_set_id, "RevisionId": revision_id}})
    url = run(server, dx, job)["Details"]["ExportAssetToSignedUrl"]["SignedUrl"]
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_import_from_s3_makes_one_asset_of_each_object(server, dx, s3):
    data_set, revision, assets = imported_revision(server, dx, s3)
    [job] = dx.list_jobs(RevisionId=revision["Id"])["Jobs"]
    assert job["Type"] == "IMPORT_ASSETS_FROM_S3" and job["Errors"] == []
    assert job["Details"]["ImportAssetsFromS3"]["AssetSources"] == [
        {"Bucket": "dx-source", "Key": key} for key in SOURCES]
    # Each asset is named after its object's key and has the object's size.
    assert set(assets) == set(SOURCES)
    for name, data in SOURCES.items():
        got = dx.get_asset(DataSetId=data_set["Id"], RevisionId=revision["Id"], AssetId=assets[name]["Id"])
        assert got["AssetType"] == "S3_SNAPSHOT" and got["AssetDetails"] == {
            "S3SnapshotAsset": {"Size": float(len(data))}}
    # The bytes were copied: the asset keeps them after the source object is gone.
    s3.delete_object(Bucket="dx-source", Key="blob.bin")
    assert download(server, dx, data_set["Id"], revision["Id"], assets["blob.bin"]["Id"]) == BLOB


def test_export_assets_writes_byte_identical_objects(server, dx, s3):
    data_set, revision, assets = imported_revision(server, dx, s3)
    s3.create_bucket(Bucket="dx-target")
    # An object already at a destination key is replaced, as AWS documents.
    s3.put_object(Bucket="dx-target", Key="renamed.csv", Body=b"older contents")
    destinations = [{"AssetId": assets["prices/2024/daily.csv"]["Id"], "Bucket": "dx-target", "Key": "renamed.csv"},
                    {"AssetId": assets["blob.bin"]["Id"], "Bucket": "dx-target"}]
    encryption = {"Type": "aws:kms", "KmsKeyArn": KMS_KEY}
    done = run(server, dx, export_assets_job(dx, data_set["Id"], revision["Id"], destinations,
                                             Encryption=encryption))
    assert done["Errors"] == []
    assert done["Details"]["ExportAssetsToS3"]["Encryption"] == encryption
    assert done["Details"]["ExportAssetsToS3"]["AssetDestinations"] == destinations
    # Without a Key, the object is named after the asset.
    assert objects_in(s3, "dx-target") == {"renamed.csv": CSV, "blob.bin": BLOB}
    assert s3.head_object(Bucket="dx-target", Key="blob.bin")["ContentLength"] == len(BLOB)

    s3.create_bucket(Bucket="dx-second")
    run(server, dx, export_assets_job(dx, data_set["Id"], revision["Id"], [
        {"AssetId": assets["empty.txt"]["Id"], "Bucket": "dx-second", "Key": "copies/empty.txt"}],
        Encryption={"Type": "AES256"}))
    assert objects_in(s3, "dx-second") == {"copies/empty.txt": b""}


def test_export_revision_writes_every_asset_under_its_key_pattern(server, dx, s3):
    data_set, revision, assets = imported_revision(server, dx, s3)
    created = revision["CreatedAt"]

    s3.create_bucket(Bucket="dx-revisions")
    pattern = ("${DataSet.Name}/${Revision.CreatedAt.Year}/${Revision.CreatedAt.Month}/${Revision.CreatedAt.Day}/"
               "${Revision.Id}/${Asset.Id}-${Asset.Name}")
    done = run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-revisions", pattern))
    assert done["Details"]["ExportRevisionsToS3"]["RevisionDestinations"][0]["KeyPattern"] == pattern
    prefix = f"Prices/{created.year}/{created.month:02d}/{created.day:02d}/{revision['Id']}"
    assert objects_in(s3, "dx-revisions") == {f"{prefix}/{assets[name]['Id']}-{name}": data
                                              for name, data in SOURCES.items()}

    # ${Revision.CreatedAt} is the UTC time with milliseconds: 2021-10-08T16:33:19.787Z.
    s3.create_bucket(Bucket="dx-stamped")
    run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-stamped",
                                        "${Revision.CreatedAt}/${Asset.Name}"))
    stamped = objects_in(s3, "dx-stamped")
    [stamp] = {key.split("/", 1)[0] for key in stamped}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert abs(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z") - created) < timedelta(milliseconds=1)
    assert {key.split("/", 1)[1]: data for key, data in stamped.items()} == SOURCES

    # The default pattern is ${Asset.Name}.
    s3.create_bucket(Bucket="dx-plain")
    run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-plain"))
    assert objects_in(s3, "dx-plain") == SOURCES


def test_import_of_missing_objects_fails_and_creates_no_asset(server, dx, s3):
    s3.create_bucket(Bucket="dx-source")
    s3.put_object(Bucket="dx-source", Key="present.csv", Body=CSV)
    s3.put_object(Bucket="dx-source", Key="cold.csv", Body=CSV, StorageClass="GLACIER")
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    sources = [("dx-source", "present.csv"), ("dx-source", "missing.csv"), ("dx-nowhere", "any.csv"),
               ("dx-source", "cold.csv")]
    failed = run(server, dx, import_job(dx, data_set["Id"], revision["Id"], sources), state="ERROR")
    # One entry per object that could not be read, naming it in Details.ImportAssetsFromS3JobErrorDetails.
    errors = failed["Errors"]
    assert [(e["Code"], e["ResourceType"], e["ResourceId"]) for e in errors] == [
        ("RESOURCE_NOT_FOUND_EXCEPTION", "REVISION", revision["Id"]),
        ("RESOURCE_NOT_FOUND_EXCEPTION", "REVISION", revision["Id"]),
        ("VALIDATION_EXCEPTION", "REVISION", revision["Id"])]
    assert [e["Details"] for e in errors] == [{"ImportAssetsFromS3JobErrorDetails": [{"Bucket": b, "Key": k}]}
                                              for b, k in sources[1:]]
    assert "s3://dx-source/missing.csv" in errors[0]["Message"] and "NoSuchKey" in errors[0]["Message"]
    assert "s3://dx-nowhere/any.csv" in errors[1]["Message"] and "NoSuchBucket" in errors[1]["Message"]
    assert "GLACIER" in errors[2]["Message"]
    # All or nothing: the object that was there did not become an asset either.
    assert assets_of(dx, data_set["Id"], revision["Id"]) == []

    # Once the object exists, the same import goes through.
    s3.put_object(Bucket="dx-source", Key="missing.csv", Body=b"late")
    run(server, dx, import_job(dx, data_set["Id"], revision["Id"], sources[:2]))
    assert sorted((a["Name"], a["AssetDetails"]["S3SnapshotAsset"]["Size"])
                  for a in assets_of(dx, data_set["Id"], revision["Id"])) == [
        ("missing.csv", 4.0), ("present.csv", float(len(CSV)))]


def stored_files(server) -> int:
    """How many files the server's byte store holds (the processes' uncommitted ``.pending`` folder aside)."""
    root = server.emulator.files.root
    count = 0
    for folder, folders, names in os.walk(root):
        if folder == root:
            folders[:] = [f for f in folders if f != ".pending"]
        count += len(names)
    return count


def test_import_failing_after_its_first_copy_leaves_no_asset_and_no_file(server, dx, s3, monkeypatch):
    # The second object is missing, but the check of the sources still sees it (as when it is deleted from
    # an external --s3-endpoint server between the check and the copy): the read fails after the first
    # object's bytes were written, and the job's ERROR must not publish them.
    real_head = BuiltinObjectStore.head

    def head(store, bucket, key, **kwargs):
        return ObjectInfo(bucket, key) if key == "second.csv" else real_head(store, bucket, key, **kwargs)

    monkeypatch.setattr(BuiltinObjectStore, "head", head)
    s3.create_bucket(Bucket="dx-source")
    s3.put_object(Bucket="dx-source", Key="first.csv", Body=CSV)
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    job = import_job(dx, data_set["Id"], revision["Id"], [("dx-source", "first.csv"), ("dx-source", "second.csv")])
    before = stored_files(server)
    failed = run(server, dx, job, state="ERROR")
    [error] = failed["Errors"]
    assert error["Code"] == "RESOURCE_NOT_FOUND_EXCEPTION" and "s3://dx-source/second.csv" in error["Message"]
    assert error["Details"] == {"ImportAssetsFromS3JobErrorDetails": [{"Bucket": "dx-source", "Key": "second.csv"}]}
    assert assets_of(dx, data_set["Id"], revision["Id"]) == []
    assert stored_files(server) == before


def test_exports_to_a_missing_bucket_fail_and_write_nothing(server, dx, s3):
    data_set, revision, assets = imported_revision(server, dx, s3)
    s3.create_bucket(Bucket="dx-target")
    failed = run(server, dx, export_assets_job(dx, data_set["Id"], revision["Id"], [
        {"AssetId": assets["blob.bin"]["Id"], "Bucket": "dx-target"},
        {"AssetId": assets["empty.txt"]["Id"], "Bucket": "dx-missing"}]), state="ERROR")
    [error] = failed["Errors"]
    assert error["Code"] == "RESOURCE_NOT_FOUND_EXCEPTION" and "dx-missing" in error["Message"]
    assert error["ResourceType"] == "REVISION" and error["ResourceId"] == revision["Id"]
    # The destination that exists got nothing either.
    assert objects_in(s3, "dx-target") == {}

    failed = run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-missing"), state="ERROR")
    [error] = failed["Errors"]
    assert error["Code"] == "RESOURCE_NOT_FOUND_EXCEPTION" and "dx-missing" in error["Message"]
    assert error["ResourceType"] == "REVISION" and error["ResourceId"] == revision["Id"]


def test_export_revision_fails_when_two_assets_get_the_same_key(server, dx, s3):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    for data in (b"first", b"second"):
        import_file(server, dx, data_set["Id"], revision["Id"], data, name="report.csv")
    by_size = {a["AssetDetails"]["S3SnapshotAsset"]["Size"]: a["Id"]
               for a in assets_of(dx, data_set["Id"], revision["Id"])}
    s3.create_bucket(Bucket="dx-reports")
    for pattern in ("reports/${Asset.Name}", None):
        failed = run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-reports", pattern),
                     state="ERROR")
        [error] = failed["Errors"]
        assert error["Code"] == "VALIDATION_EXCEPTION" and "report.csv" in error["Message"]
        assert error["ResourceType"] == "ASSET" and error["ResourceId"] in by_size.values()
    assert objects_in(s3, "dx-reports") == {}

    # Keys made unique with the asset id: both are written.
    run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-reports", "${Asset.Id}/${Asset.Name}"))
    assert objects_in(s3, "dx-reports") == {f"{by_size[5.0]}/report.csv": b"first",
                                            f"{by_size[6.0]}/report.csv": b"second"}


def test_export_revision_refuses_keys_longer_than_s3_allows(server, dx, s3):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], b"x", name="n" * 1000)
    [asset] = assets_of(dx, data_set["Id"], revision["Id"])
    s3.create_bucket(Bucket="dx-long")
    failed = run(server, dx, export_revision_job(dx, data_set["Id"], revision["Id"], "dx-long",
                                                 "${Revision.Id}/${Asset.Name}"), state="ERROR")
    [error] = failed["Errors"]
    assert error["Code"] == "VALIDATION_EXCEPTION" and "1033 bytes" in error["Message"]
    assert error["ResourceType"] == "ASSET" and error["ResourceId"] == asset["Id"]
    assert objects_in(s3, "dx-long") == {}
