"""``--s3-endpoint``: objects kept on an external S3-compatible server through boto3. The session's
server plays the external S3; a second jobyard server is pointed at it."""

from __future__ import annotations

import hashlib
import os

import pytest

from conformance import attach, checked
from s3_helpers import NO_RETRIES, expect_error, expect_head_error, s3_client

from jobyard.cli import build_parser
from jobyard.config import Config
from jobyard.objects import ObjectError
from jobyard.objects.remote import RemoteObjectLayer
from jobyard.testing import running_server

# The identity the proxying server uses on the external one (credentials come from the environment).
EXTERNAL_ACCOUNT = str(700000000000 + os.getpid() % 100000)
PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def proxying(server, tmp_path_factory):
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                       "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID=EXTERNAL_ACCOUNT, AWS_SECRET_ACCESS_KEY="secret",
                      AWS_DEFAULT_REGION="us-east-1")
    config = Config(data_dir=str(tmp_path_factory.mktemp("proxying")), time_scale=0, s3_endpoint=server.url)
    try:
        with running_server(config) as running:
            assert isinstance(running.emulator.objects, RemoteObjectLayer)
            yield running
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def external(server):
    """A client of the external server itself, as the identity the proxying server uses."""
    client = s3_client(server.url, EXTERNAL_ACCOUNT, retries=NO_RETRIES)
    attach(client)
    return client


@pytest.fixture
def through(proxying, account):
    """A client of the proxying server (any account: all of them share the external identity)."""
    client = s3_client(proxying.url, account, retries=NO_RETRIES)
    with checked(client):
        yield client


def test_the_flag_reaches_the_config():
    args = build_parser().parse_args(["serve", "--s3-endpoint", "http://minio.internal:9000"])
    assert args.s3_endpoint == "http://minio.internal:9000"
    assert build_parser().parse_args(["serve"]).s3_endpoint is None


def test_objects_written_through_jobyard_land_on_the_external_server(through, external, account):
    bucket = f"ext-{account}"
    through.create_bucket(Bucket=bucket)
    put = through.put_object(Bucket=bucket, Key="a/report.csv", Body=b"id,status\n1,ok\n", ContentType="text/csv",
                             Metadata={"job": "1"}, Tagging="kind=report")
    stored = external.get_object(Bucket=bucket, Key="a/report.csv")
    assert stored["Body"].read() == b"id,status\n1,ok\n" and stored["ETag"] == put["ETag"]
    assert (stored["ContentType"], stored["Metadata"]) == ("text/csv", {"job": "1"})
    external.put_object(Bucket=bucket, Key="b/from-outside", Body=b"0123456789")
    got = through.get_object(Bucket=bucket, Key="b/from-outside", Range="bytes=2-4")
    assert got["Body"].read() == b"234" and got["ContentRange"] == "bytes 2-4/10"
    listed = through.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "b/"]
    assert through.get_object_tagging(Bucket=bucket, Key="a/report.csv")["TagSet"] == [
        {"Key": "kind", "Value": "report"}]
    through.copy_object(Bucket=bucket, Key="c/copy", CopySource={"Bucket": bucket, "Key": "a/report.csv"})
    assert external.head_object(Bucket=bucket, Key="c/copy")["ETag"] == put["ETag"]
    through.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c/copy"}]})
    expect_head_error(external, "HeadObject", 404, Bucket=bucket, Key="c/copy")


def test_errors_of_the_external_server_come_through(through, account):
    bucket = f"ext-err-{account}"
    expect_error(through, "GetObject", "NoSuchBucket", 404, Bucket=bucket, Key="k")
    through.create_bucket(Bucket=bucket)
    expect_error(through, "CreateBucket", "InvalidBucketName", 400, Bucket="Not_Valid")
    expect_error(through, "GetObject", "NoSuchKey", 404, Bucket=bucket, Key="missing")
    expect_head_error(through, "HeadObject", 404, Bucket=bucket, Key="missing")
    through.put_object(Bucket=bucket, Key="k", Body=b"abc")
    expect_error(through, "GetObject", "InvalidRange", 416, Bucket=bucket, Key="k", Range="bytes=10-")


def test_the_object_layer_over_the_external_server(proxying, external, account):
    """What job services call: the same interface, whichever store is behind it."""
    store = proxying.emulator.objects.bind(None, account, 0)
    bucket = f"ext-layer-{account}"
    store.create_bucket(bucket)
    assert store.bucket_exists(bucket) and not store.bucket_exists(f"ext-none-{account}")
    store.set_versioning(bucket, "Enabled")
    first = store.put(bucket, "manifest.csv", b"b,k1\nb,k2\n", content_type="text/csv", tags={"a": "1"})
    second = store.put(bucket, "manifest.csv", b"b,k3\n")
    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert store.read(bucket, "manifest.csv", version_id=first.version_id) == b"b,k1\nb,k2\n"
    assert store.head(bucket, "manifest.csv").etag == second.etag
    assert store.get_tags(bucket, "manifest.csv", version_id=first.version_id) == ({"a": "1"}, first.version_id)
    for i in range(5):
        store.put(bucket, f"items/{i}", b"")
    assert [o.key for o in store.walk(bucket, prefix="items/", page_size=2)] == [f"items/{i}" for i in range(5)]
    assert store.versioning(bucket) == "Enabled"
    with pytest.raises(ObjectError) as caught:
        store.head(bucket, "missing")
    assert (caught.value.code, caught.value.status) == ("NoSuchKey", 404)
    with pytest.raises(ObjectError) as caught:
        store.get(f"ext-none-{account}", "k")
    assert caught.value.code == "NoSuchBucket"
    marker = store.delete(bucket, "manifest.csv")
    assert marker.delete_marker
    assert external.get_object(Bucket=bucket, Key="manifest.csv", VersionId=first.version_id)["Body"].read() == (
        b"b,k1\nb,k2\n")


def test_multipart_uploads_through_jobyard_land_on_the_external_server(through, external, account):
    bucket = f"ext-mpu-{account}"
    through.create_bucket(Bucket=bucket)
    external.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    created = through.create_multipart_upload(Bucket=bucket, Key="big", ContentType="text/plain", Tagging="a=1",
                                              ChecksumAlgorithm="CRC32")
    ids = {"Bucket": bucket, "Key": "big", "UploadId": created["UploadId"]}
    assert created["ChecksumType"] == "COMPOSITE"
    first = through.upload_part(PartNumber=1, Body=b"A" * PART, ChecksumAlgorithm="CRC32", **ids)
    copied = through.upload_part_copy(PartNumber=2, CopySource=f"{bucket}/source", CopySourceRange="bytes=2-5",
                                      **ids)
    assert copied["CopyPartResult"]["ETag"] == '"' + hashlib.md5(b"2345").hexdigest() + '"'
    parts = through.list_parts(MaxParts=1, **ids)
    assert [p["PartNumber"] for p in parts["Parts"]] == [1] and parts["IsTruncated"]
    assert through.list_parts(PartNumberMarker=1, **ids)["Parts"][0]["Size"] == 4
    assert [u["UploadId"] for u in through.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [ids["UploadId"]]
    listed = [{"PartNumber": 1, "ETag": first["ETag"], "ChecksumCRC32": first["ChecksumCRC32"]},
              {"PartNumber": 2, "ETag": copied["CopyPartResult"]["ETag"],
               "ChecksumCRC32": copied["CopyPartResult"]["ChecksumCRC32"]}]
    expect_error(through, "CompleteMultipartUpload", "InvalidPartOrder", 400,
                 MultipartUpload={"Parts": listed[::-1]}, **ids)
    done = through.complete_multipart_upload(MultipartUpload={"Parts": listed}, **ids)
    assert done["ETag"].endswith('-2"') and done["ChecksumType"] == "COMPOSITE"
    stored = external.get_object(Bucket=bucket, Key="big")
    assert stored["Body"].read() == b"A" * PART + b"2345" and stored["ETag"] == done["ETag"]
    assert (stored["ContentType"], stored["TagCount"]) == ("text/plain", 1)
    part = through.get_object(Bucket=bucket, Key="big", PartNumber=2)
    assert (part["Body"].read(), part["PartsCount"]) == (b"2345", 2)
    expect_error(through, "GetObject", "InvalidPartNumber", 416, Bucket=bucket, Key="big", PartNumber=3)
    gone = through.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    through.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=gone)
    expect_error(through, "ListParts", "NoSuchUpload", 404, Bucket=bucket, Key="gone", UploadId=gone)
    assert "Uploads" not in external.list_multipart_uploads(Bucket=bucket)


def test_listings_and_attributes_through_jobyard(through, external, account):
    """ListObjects, ListObjectVersions and GetObjectAttributes read the external server's objects."""
    bucket = f"ext-list-{account}"
    through.create_bucket(Bucket=bucket)
    through.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = ["a/1", "a/2", "b", "c d/e", "odd&<key>"]
    for key in keys:
        external.put_object(Bucket=bucket, Key=key, Body=key.encode())
    again = through.put_object(Bucket=bucket, Key="b", Body=b"b again")["VersionId"]
    marker = through.delete_object(Bucket=bucket, Key="a/2")["VersionId"]
    listed = through.list_objects(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["a/1", "b", "c d/e", "odd&<key>"]
    seen, next_marker = [], None
    while True:
        page = through.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1,
                                    **({"Marker": next_marker} if next_marker else {}))
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        next_marker = page["NextMarker"]
    assert seen == ["a/", "b", "c d/", "odd&<key>"]
    versions = through.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["IsLatest"]) for v in versions["Versions"]] == [
        ("a/1", True), ("a/2", False), ("b", True), ("b", False), ("c d/e", True), ("odd&<key>", True)]
    assert versions["Versions"][2]["VersionId"] == again
    assert [(d["Key"], d["VersionId"]) for d in versions["DeleteMarkers"]] == [("a/2", marker)]
    walked = [(v["Key"], v["VersionId"]) for page in through.get_paginator("list_object_versions").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 2}) for v in page.get("Versions", []) + page.get(
        "DeleteMarkers", [])]
    assert sorted(walked) == sorted([(v["Key"], v["VersionId"]) for v in versions["Versions"]] + [("a/2", marker)])
    attributes = through.get_object_attributes(Bucket=bucket, Key="b", ObjectAttributes=["ETag", "ObjectSize"])
    assert attributes["ETag"] == hashlib.md5(b"b again").hexdigest() and attributes["ObjectSize"] == 7
    assert attributes["VersionId"] == again
    error = expect_error(through, "GetObjectAttributes", "NoSuchKey", 404, Bucket=bucket, Key="a/2",
                         ObjectAttributes=["ETag"])
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    expect_error(through, "GetObjectAttributes", "MethodNotAllowed", 405, Bucket=bucket, Key="a/2",
                 VersionId=marker, ObjectAttributes=["ETag"])
    upload = through.create_multipart_upload(Bucket=bucket, Key="big", ChecksumAlgorithm="SHA256")["UploadId"]
    done = []
    for number, body in ((1, b"1" * PART), (2, b"22")):
        part = through.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=number, Body=body,
                                   ChecksumAlgorithm="SHA256")
        done.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
    through.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={"Parts": done})
    parts = through.get_object_attributes(Bucket=bucket, Key="big", ObjectAttributes=["ObjectParts"],
                                          MaxParts=1)["ObjectParts"]
    assert (parts["TotalPartsCount"], parts["IsTruncated"]) == (2, True)
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == [
        (1, PART, done[0]["ChecksumSHA256"])]
    # Clean-up code of the kind that used to fail: every version goes, then the bucket.
    for page in through.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if entries:
            through.delete_objects(Bucket=bucket, Delete={"Objects": [
                {"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]})
    assert "Versions" not in external.list_object_versions(Bucket=bucket)
    through.delete_bucket(Bucket=bucket)
