"""ListObjectVersions (versioned, suspended and never-versioned buckets) and GetObjectAttributes."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote
from xml.etree import ElementTree

import boto3
import pytest

from s3_helpers import bucket_name, expect_error, expect_head_error
from support import REGION

PART = 5 * 1024 * 1024


@pytest.fixture
def versioned(s3, account):
    name = bucket_name(account, "versioned")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def entries(page):
    """A page's versions and delete markers back in S3's order: by key, then newest first (botocore
    hands them apart; within a key the latest is first and the rest follow by date)."""
    listed = [("v", v) for v in page.get("Versions", [])] + [("d", d) for d in page.get("DeleteMarkers", [])]
    return sorted(listed, key=lambda e: (e[1]["Key"].encode(), not e[1]["IsLatest"], -e[1]["LastModified"].timestamp()))


def history(server, s3, bucket):
    """Writes with the clock moving between them, so that dates order each key's versions."""
    made = {}

    def put(key, body):
        server.advance(1)
        made.setdefault(key, []).insert(0, ("v", s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]))

    def delete(key):
        server.advance(1)
        made.setdefault(key, []).insert(0, ("d", s3.delete_object(Bucket=bucket, Key=key)["VersionId"]))

    put("a/1", b"a1 v1")
    put("a/1", b"a1 v2")
    put("a/2", b"a2")
    delete("a/2")
    put("b", b"b v1")
    put("b", b"b v2")
    put("b", b"b v3")
    put("c d/e", b"spaced")
    delete("gone")
    return made


def test_versions_and_delete_markers_in_order(server, s3, versioned):
    made = history(server, s3, versioned)
    raw = []
    s3.meta.events.register("after-call.s3.ListObjectVersions",
                            lambda http_response, **_: raw.append(http_response.content))
    page = s3.list_object_versions(Bucket=versioned)
    listed = [(kind, e["Key"], e["VersionId"], e["IsLatest"]) for kind, e in entries(page)]
    expected = [(kind, key, vid, i == 0) for key in sorted(made) for i, (kind, vid) in enumerate(made[key])]
    assert listed == expected
    # On the wire versions and delete markers are one sequence, in that order (keys URL-encoded: botocore
    # asks for encoding-type=url).
    namespace = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    document = ElementTree.fromstring(raw[-1])
    wire = [("v" if child.tag == f"{namespace}Version" else "d", unquote(child.findtext(f"{namespace}Key")),
             child.findtext(f"{namespace}VersionId"), child.findtext(f"{namespace}IsLatest") == "true")
            for child in document if child.tag in (f"{namespace}Version", f"{namespace}DeleteMarker")]
    assert wire == expected
    assert page["IsTruncated"] is False and page["KeyMarker"] == "" and page["VersionIdMarker"] == ""
    assert "NextKeyMarker" not in page and page["MaxKeys"] == 1000 and page["Name"] == versioned
    version = page["Versions"][0]
    assert version["ETag"] == '"' + hashlib.md5(b"a1 v2").hexdigest() + '"' and version["Size"] == 5
    assert version["StorageClass"] == "STANDARD" and len(version["Owner"]["ID"]) == 64
    assert len(page["DeleteMarkers"][0]["Owner"]["ID"]) == 64
    by_prefix = s3.list_object_versions(Bucket=versioned, Prefix="a/", Delimiter="/")
    assert "CommonPrefixes" not in by_prefix and by_prefix["Prefix"] == "a/"
    assert [(kind, e["Key"]) for kind, e in entries(by_prefix)] == [("v", "a/1"), ("v", "a/1"), ("d", "a/2"),
                                                                    ("v", "a/2")]
    top = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c d/"]
    assert {v["Key"] for v in top["Versions"]} == {"b"} and {d["Key"] for d in top["DeleteMarkers"]} == {"gone"}


@pytest.mark.parametrize("delimiter", [None, "/"])
def test_pages_with_key_and_version_markers(server, s3, versioned, delimiter):
    made = history(server, s3, versioned)
    everything = [(kind, key, vid) for key in sorted(made) for kind, vid in made[key]]
    if delimiter:
        everything = [e for e in everything if "/" not in e[1]] + [("p", "a/", None), ("p", "c d/", None)]
        everything.sort(key=lambda e: e[1])
    for size in (1, 2, 3, 4):
        seen, markers = [], {}
        while True:
            kwargs = {"Bucket": versioned, "MaxKeys": size, **markers}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            page = s3.list_object_versions(**kwargs)
            found = [(kind, e["Key"], e["VersionId"]) for kind, e in entries(page)]
            found += [("p", p["Prefix"], None) for p in page.get("CommonPrefixes", [])]
            found.sort(key=lambda e: e[1])
            assert len(found) <= size
            seen += found
            if not page["IsTruncated"]:
                break
            assert len(found) == size
            last = found[-1]
            assert page["NextKeyMarker"] == last[1]
            assert page.get("NextVersionIdMarker") == last[2]
            markers = {"KeyMarker": page["NextKeyMarker"]}
            if page.get("NextVersionIdMarker"):
                markers["VersionIdMarker"] = page["NextVersionIdMarker"]
        assert seen == everything, (size, delimiter)


def test_the_paginator_and_is_latest_across_pages(server, s3, versioned):
    made = history(server, s3, versioned)
    latest = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=versioned,
                                                                  PaginationConfig={"PageSize": 2}):
        for kind, entry in entries(page):
            assert (entry["VersionId"], entry["IsLatest"]) not in latest.get(entry["Key"], [])
            latest.setdefault(entry["Key"], []).append((entry["VersionId"], entry["IsLatest"]))
    assert latest == {key: [(vid, i == 0) for i, (_, vid) in enumerate(made[key])] for key in made}


def test_unversioned_and_suspended_buckets(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"plain")
    s3.put_object(Bucket=name, Key="j", Body=b"other")
    page = s3.list_object_versions(Bucket=name)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [
        ("j", "null", True), ("k", "null", True)]
    assert "DeleteMarkers" not in page
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    marker = s3.delete_object(Bucket=name, Key="j")
    assert marker["VersionId"] == "null"
    page = s3.list_object_versions(Bucket=name)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [
        ("k", v1, True), ("k", "null", False)]
    assert [(d["Key"], d["VersionId"], d["IsLatest"]) for d in page["DeleteMarkers"]] == [("j", "null", True)]
    # The null version as a marker: the listing goes on after it.
    after = s3.list_object_versions(Bucket=name, KeyMarker="k", VersionIdMarker=v1)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in after["Versions"]] == [("k", "null", False)]
    assert "Versions" not in s3.list_object_versions(Bucket=name, KeyMarker="k", VersionIdMarker="null")


def test_url_encoding_and_errors(s3, versioned, account):
    s3.put_object(Bucket=versioned, Key="with space/a+b", Body=b"")
    s3.put_object(Bucket=versioned, Key="odd&<key>", Body=b"")
    raw = []
    s3.meta.events.register("after-call.s3.ListObjectVersions",
                            lambda http_response, **_: raw.append(http_response.content))
    page = s3.list_object_versions(Bucket=versioned, EncodingType="url", MaxKeys=1, KeyMarker="odd&<key>")
    assert b"<Key>with%20space/a%2Bb</Key>" in raw[-1] and b"<KeyMarker>odd%26%3Ckey%3E</KeyMarker>" in raw[-1]
    assert b"<EncodingType>url</EncodingType>" in raw[-1]
    # botocore decodes only what it asked to have encoded itself.
    assert page["Versions"][0]["Key"] == "with%20space/a%2Bb"
    plain = s3.list_object_versions(Bucket=versioned)
    assert {v["Key"] for v in plain["Versions"]} == {"with space/a+b", "odd&<key>"}
    expect_error(s3, "ListObjectVersions", "InvalidArgument", 400, Bucket=versioned, VersionIdMarker="null")
    expect_error(s3, "ListObjectVersions", "InvalidArgument", 400, Bucket=versioned, KeyMarker="k",
                 VersionIdMarker="not-a-version")
    expect_error(s3, "ListObjectVersions", "InvalidArgument", 400, Bucket=versioned, MaxKeys=-1)
    expect_error(s3, "ListObjectVersions", "NoSuchBucket", 404, Bucket=bucket_name(account, "absent"))


def test_resource_collections_delete_every_version(server, account, versioned, s3):
    history(server, s3, versioned)
    resource = boto3.resource("s3", endpoint_url=server.url, region_name=REGION, aws_access_key_id=account,
                              aws_secret_access_key="secret")
    bucket = resource.Bucket(versioned)
    assert len(list(bucket.object_versions.all())) == 9   # versions and delete markers
    assert [o.key for o in bucket.objects.all()] == ["a/1", "b", "c d/e"]
    bucket.object_versions.filter(Prefix="a/").delete()
    assert {v.object_key for v in bucket.object_versions.all()} == {"b", "c d/e", "gone"}
    bucket.object_versions.page_size(2).delete()
    assert list(bucket.object_versions.all()) == [] and list(bucket.objects.all()) == []
    bucket.delete()


def test_get_object_attributes(server, s3, versioned):
    body = b"attributes"
    put = s3.put_object(Bucket=versioned, Key="k", Body=body, ChecksumAlgorithm="SHA256", StorageClass="GLACIER")
    raw = []
    s3.meta.events.register("after-call.s3.GetObjectAttributes",
                            lambda http_response, **_: raw.append(http_response))
    answer = s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=[
        "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert answer["ETag"] == hashlib.md5(body).hexdigest()     # unquoted, as S3 gives it here
    assert answer["Checksum"] == {"ChecksumSHA256": put["ChecksumSHA256"], "ChecksumType": "FULL_OBJECT"}
    assert (answer["StorageClass"], answer["ObjectSize"], answer["VersionId"]) == ("GLACIER", len(body),
                                                                                 put["VersionId"])
    assert "ObjectParts" not in answer and "DeleteMarker" not in answer
    assert raw[-1].headers["Last-Modified"].endswith(" GMT")
    only = s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=["ObjectSize"])
    assert "ETag" not in only and "Checksum" not in only and only["ObjectSize"] == len(body)
    # An older version by id; then the key's newest version is a delete marker.
    s3.put_object(Bucket=versioned, Key="k", Body=b"newer")
    old = s3.get_object_attributes(Bucket=versioned, Key="k", VersionId=put["VersionId"], ObjectAttributes=["ETag"])
    assert old["ETag"] == hashlib.md5(body).hexdigest()
    marker = s3.delete_object(Bucket=versioned, Key="k")["VersionId"]
    error = expect_error(s3, "GetObjectAttributes", "NoSuchKey", 404, Bucket=versioned, Key="k",
                         ObjectAttributes=["ETag"])
    headers = error.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    error = expect_error(s3, "GetObjectAttributes", "MethodNotAllowed", 405, Bucket=versioned, Key="k",
                         VersionId=marker, ObjectAttributes=["ETag"])
    headers = error.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["last-modified"].endswith(" GMT")
    # GetObject and HeadObject say the same of a delete marker.
    error = expect_error(s3, "GetObject", "NoSuchKey", 404, Bucket=versioned, Key="k")
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    error = expect_head_error(s3, "HeadObject", 405, Bucket=versioned, Key="k", VersionId=marker)
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    error = expect_error(s3, "GetObject", "NoSuchKey", 404, Bucket=versioned, Key="never")
    assert "x-amz-delete-marker" not in error.response["ResponseMetadata"]["HTTPHeaders"]
    expect_error(s3, "GetObjectAttributes", "NoSuchKey", 404, Bucket=versioned, Key="never",
                 ObjectAttributes=["ETag"])
    expect_error(s3, "GetObjectAttributes", "NoSuchVersion", 404, Bucket=versioned, Key="k",
                 VersionId=put["VersionId"][:-1] + "x" if put["VersionId"][-1] != "x" else put["VersionId"][:-1] + "y",
                 ObjectAttributes=["ETag"])
    expect_error(s3, "GetObjectAttributes", "InvalidArgument", 400, Bucket=versioned, Key="k",
                 ObjectAttributes=["Nonsense"])


def test_object_parts_of_a_multipart_object(s3, bucket):
    for key, algorithm in (("with-checksums", "CRC32"), ("without", None)):
        extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        done = []
        for number, size in ((1, PART), (2, PART), (3, 7)):
            part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                                  Body=bytes([number]) * size, **extra)
            done.append({"PartNumber": number, "ETag": part["ETag"], **(
                {"ChecksumCRC32": part["ChecksumCRC32"]} if algorithm else {})})
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})
        first = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts", "ETag"],
                                         MaxParts=2)
        assert first["ETag"].endswith("-3")
        parts = first["ObjectParts"]
        assert (parts["TotalPartsCount"], parts["IsTruncated"], parts["MaxParts"]) == (3, True, 2)
        assert parts["NextPartNumberMarker"] == 2 and parts.get("PartNumberMarker", 0) == 0
        if algorithm:
            assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in parts["Parts"]] == [
                (1, PART, done[0]["ChecksumCRC32"]), (2, PART, done[1]["ChecksumCRC32"])]
            rest = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"],
                                            PartNumberMarker=2)["ObjectParts"]
            assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 7)] and not rest["IsTruncated"]
        else:
            # S3 lists the parts only of objects with additional checksums.
            assert "Parts" not in parts
