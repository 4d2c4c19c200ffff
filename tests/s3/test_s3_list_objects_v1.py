"""ListObjects (version 1): markers, prefixes, delimiters, pages, URL encoding, and what boto3's resource
collections built on it do (``Bucket.objects.all()``, ``.filter()``, ``.delete()``)."""

from __future__ import annotations

import boto3
import pytest

from s3_helpers import bucket_name, expect_error, filled_bucket, utf8_sorted
from support import REGION

KEYS = ["index.html", "logs/2024/01.txt", "logs/2024/02.txt", "logs/2025/01.txt", "logs/readme",
        "photos/a.jpg", "photos/b.jpg", "photos/raw/c.raw", "zebra", "ünïcode/ö", "with space/and+plus",
        "odd&<chars>'\"", "tab\there", "percent%2Fslash"]


@pytest.fixture
def filled(s3, account):
    return filled_bucket(s3, account, KEYS)


def rolled_up(keys, prefix, delimiter):
    """What S3 lists for ``keys``: the keys, and the common prefixes they roll up into, in key order."""
    entries = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entries.add(key[:cut + len(delimiter)] if cut >= 0 else key)
    return utf8_sorted(entries)


def test_everything_in_key_order_with_owners(s3, filled):
    answer = s3.list_objects(Bucket=filled)
    assert [o["Key"] for o in answer["Contents"]] == utf8_sorted(KEYS)
    assert answer["IsTruncated"] is False and answer["MaxKeys"] == 1000 and answer["Marker"] == ""
    assert "NextMarker" not in answer and answer["Name"] == filled
    first = answer["Contents"][0]
    assert first["Size"] == len(first["Key"].encode()) and first["ETag"].startswith('"')
    assert first["StorageClass"] == "STANDARD" and len(first["Owner"]["ID"]) == 64


def test_marker_prefix_and_delimiter(s3, filled):
    top = s3.list_objects(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == rolled_up(["index.html", "zebra", "odd&<chars>'\"", "tab\there",
                                                             "percent%2Fslash"], "", "/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "photos/", "with space/", "ünïcode/"]
    logs = s3.list_objects(Bucket=filled, Prefix="logs/", Delimiter="/")
    assert [o["Key"] for o in logs["Contents"]] == ["logs/readme"]
    assert [p["Prefix"] for p in logs["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    assert (logs["Prefix"], logs["Delimiter"]) == ("logs/", "/")
    after = s3.list_objects(Bucket=filled, Marker="photos/b.jpg")
    assert [o["Key"] for o in after["Contents"]] == [k for k in utf8_sorted(KEYS) if k.encode() > b"photos/b.jpg"]
    assert after["Marker"] == "photos/b.jpg"
    # A marker below the prefix starts at the prefix; one above everything lists nothing.
    assert [o["Key"] for o in s3.list_objects(Bucket=filled, Prefix="photos/", Marker="a")["Contents"]] == [
        "photos/a.jpg", "photos/b.jpg", "photos/raw/c.raw"]
    assert "Contents" not in s3.list_objects(Bucket=filled, Marker="\U0010fffd")
    # A marker inside a common prefix lists the prefix again for the keys after it, as S3 does.
    inside = s3.list_objects(Bucket=filled, Delimiter="/", Marker="logs/2024/01.txt")
    assert [p["Prefix"] for p in inside["CommonPrefixes"]][0] == "logs/"


@pytest.mark.parametrize("delimiter", [None, "/", "."])
@pytest.mark.parametrize("prefix", ["", "logs/", "photos/"])
def test_pages_with_small_max_keys(s3, filled, delimiter, prefix):
    """Walking page by page with the markers S3 gives: every entry once, in order, pages full but the last."""
    expected = rolled_up(KEYS, prefix, delimiter)
    for size in (1, 2, 3):
        seen, marker = [], None
        while True:
            kwargs = {"Bucket": filled, "MaxKeys": size, "Prefix": prefix}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            if marker:
                kwargs["Marker"] = marker
            page = s3.list_objects(**kwargs)
            entries = [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in
                                                                      page.get("CommonPrefixes", [])]
            assert len(entries) <= size
            seen += utf8_sorted(entries)
            if not page["IsTruncated"]:
                assert "NextMarker" not in page
                break
            assert len(entries) == size
            if delimiter:
                # With a delimiter S3 names the next marker: the page's last key or common prefix.
                assert page["NextMarker"] == utf8_sorted(entries)[-1]
                marker = page["NextMarker"]
            else:
                assert "NextMarker" not in page
                marker = page["Contents"][-1]["Key"]
        assert seen == expected, (delimiter, prefix, size)


def test_the_paginator(s3, filled):
    paginator = s3.get_paginator("list_objects")
    for delimiter in (None, "/"):
        for size in (1, 4):
            kwargs = {"Bucket": filled, "PaginationConfig": {"PageSize": size}}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            seen = []
            for page in paginator.paginate(**kwargs):
                seen += [o["Key"] for o in page.get("Contents", [])]
                seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            assert sorted(seen) == sorted(rolled_up(KEYS, "", delimiter)), (delimiter, size)


def test_url_encoding(s3, filled):
    """botocore asks for encoding-type=url and decodes; the raw answer carries the keys, prefixes and
    markers encoded, as S3 writes them."""
    raw = []
    s3.meta.events.register("after-call.s3.ListObjects", lambda http_response, **_: raw.append(http_response.content))
    answer = s3.list_objects(Bucket=filled, Prefix="with space/", Marker="with space/a", Delimiter="+")
    assert [p["Prefix"] for p in answer["CommonPrefixes"]] == ["with space/and+"]
    # S3 encodes the listing's Prefix too; botocore decodes it only for ListObjectsV2 (boto/boto3#3534).
    assert answer["Marker"] == "with space/a" and answer["Prefix"] == "with%20space/"
    body = raw[-1]
    for element in (b"<Prefix>with%20space/</Prefix>", b"<Marker>with%20space/a</Marker>",
                    b"<Delimiter>%2B</Delimiter>", b"<Prefix>with%20space/and%2B</Prefix>",
                    b"<EncodingType>url</EncodingType>"):
        assert element in body, element
    odd = s3.list_objects(Bucket=filled, Prefix="odd", MaxKeys=1)["Contents"][0]["Key"]
    assert odd == "odd&<chars>'\"" and b"<Key>odd%26%3Cchars%3E%27%22</Key>" in raw[-1]
    assert s3.list_objects(Bucket=filled, Prefix="tab")["Contents"][0]["Key"] == "tab\there"
    assert s3.list_objects(Bucket=filled, Prefix="percent")["Contents"][0]["Key"] == "percent%2Fslash"


def test_next_marker_is_encoded_and_skips_its_prefix(s3, filled):
    raw = []
    s3.meta.events.register("after-call.s3.ListObjects", lambda http_response, **_: raw.append(http_response.content))
    page = s3.list_objects(Bucket=filled, Prefix="w", Delimiter="/", MaxKeys=1)
    assert page["IsTruncated"] is False and "NextMarker" not in page   # the only entry: not truncated
    page = s3.list_objects(Bucket=filled, Prefix="", Delimiter="/", Marker="tab", MaxKeys=1)
    assert page["IsTruncated"] is True and page["NextMarker"] == "tab\there"
    assert b"<NextMarker>tab%09here</NextMarker>" in raw[-1]
    page = s3.list_objects(Bucket=filled, Delimiter="/", Marker="tab\there", MaxKeys=1)
    assert page["NextMarker"] == "with space/" and b"<NextMarker>with%20space/</NextMarker>" in raw[-1]
    rest = s3.list_objects(Bucket=filled, Delimiter="/", Marker=page["NextMarker"])
    assert [o["Key"] for o in rest.get("Contents", [])] == ["zebra"]
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["ünïcode/"]


def test_listing_errors(s3, filled, account):
    expect_error(s3, "ListObjects", "InvalidArgument", 400, Bucket=filled, MaxKeys=-1)
    expect_error(s3, "ListObjects", "NoSuchBucket", 404, Bucket=bucket_name(account, "absent"))
    empty = s3.list_objects(Bucket=filled, MaxKeys=0)
    assert "Contents" not in empty and empty["MaxKeys"] == 0
    assert s3.list_objects(Bucket=filled, MaxKeys=5000)["MaxKeys"] == 1000


def test_resource_collections(server, account, filled):
    """boto3's resource collections page through ListObjects; ``delete()`` batches DeleteObjects."""
    resource = boto3.resource("s3", endpoint_url=server.url, region_name=REGION, aws_access_key_id=account,
                              aws_secret_access_key="secret")
    bucket = resource.Bucket(filled)
    assert [o.key for o in bucket.objects.all()] == utf8_sorted(KEYS)
    assert [o.key for o in bucket.objects.page_size(2).filter(Prefix="logs/")] == [
        "logs/2024/01.txt", "logs/2024/02.txt", "logs/2025/01.txt", "logs/readme"]
    assert {o.size for o in bucket.objects.filter(Prefix="photos/")} == {len("photos/a.jpg"), len("photos/raw/c.raw")}
    bucket.objects.filter(Prefix="logs/").delete()
    assert [o.key for o in bucket.objects.all()] == [k for k in utf8_sorted(KEYS) if not k.startswith("logs/")]
    bucket.objects.page_size(3).delete()
    assert list(bucket.objects.all()) == []
    bucket.delete()
    assert filled not in [b.name for b in resource.buckets.all()]
