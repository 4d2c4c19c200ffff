"""ListObjectsV2: prefixes, delimiters, pages, start-after, URL encoding and its errors."""

from __future__ import annotations

import pytest

from s3_helpers import bucket_name, expect_error, filled_bucket, utf8_sorted

KEYS = ["index.html", "logs/2024/01.txt", "logs/2024/02.txt", "logs/2025/01.txt", "logs/readme",
        "photos/a.jpg", "photos/b.jpg", "photos/raw/c.raw", "zebra", "ünïcode/ö", "with space/and+plus"]


@pytest.fixture
def filled(s3, account):
    return filled_bucket(s3, account, KEYS)


def test_everything_in_key_order(s3, filled):
    answer = s3.list_objects_v2(Bucket=filled)
    assert [o["Key"] for o in answer["Contents"]] == utf8_sorted(KEYS)
    assert answer["KeyCount"] == len(KEYS) and answer["IsTruncated"] is False and answer["MaxKeys"] == 1000
    first = answer["Contents"][0]
    assert first["Size"] == len(first["Key"]) and first["ETag"].startswith('"') and first["StorageClass"] == "STANDARD"
    assert "Owner" not in first
    owned = s3.list_objects_v2(Bucket=filled, FetchOwner=True)["Contents"][0]
    assert len(owned["Owner"]["ID"]) == 64


def test_prefix_delimiter_and_start_after(s3, filled):
    top = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["index.html", "zebra"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "photos/", "with space/", "ünïcode/"]
    assert top["KeyCount"] == 6
    logs = s3.list_objects_v2(Bucket=filled, Prefix="logs/", Delimiter="/")
    assert [o["Key"] for o in logs["Contents"]] == ["logs/readme"]
    assert [p["Prefix"] for p in logs["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    assert s3.list_objects_v2(Bucket=filled, Prefix="nothing/")["KeyCount"] == 0
    after = s3.list_objects_v2(Bucket=filled, StartAfter="photos/b.jpg")
    assert [o["Key"] for o in after["Contents"]] == utf8_sorted(KEYS)[7:]
    assert after["StartAfter"] == "photos/b.jpg"
    # A delimiter other than '/'.
    by_dot = s3.list_objects_v2(Bucket=filled, Prefix="photos/", Delimiter=".")
    assert [p["Prefix"] for p in by_dot["CommonPrefixes"]] == ["photos/a.", "photos/b.", "photos/raw/c."]


def test_the_paginator_walks_every_entry_once(s3, filled):
    paginator = s3.get_paginator("list_objects_v2")
    for delimiter in (None, "/"):
        for size in (1, 2, 3, 5):
            kwargs = {"Bucket": filled, "PaginationConfig": {"PageSize": size}}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            seen, pages = [], 0
            for page in paginator.paginate(**kwargs):
                pages += 1
                entries = [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in
                                                                          page.get("CommonPrefixes", [])]
                assert len(entries) == page["KeyCount"] <= size
                seen += entries
            expected = KEYS if not delimiter else ["index.html", "zebra", "logs/", "photos/", "with space/",
                                                  "ünïcode/"]
            assert sorted(seen) == sorted(expected) and len(seen) == len(expected), (delimiter, size, seen)
            assert pages == -(-len(expected) // size)


def test_pages_continue_after_deletes(s3, filled):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=3)
    assert first["IsTruncated"] is True and first["KeyCount"] == 3
    # The object the token points past is deleted: the next page still starts at the right place.
    s3.delete_object(Bucket=filled, Key=first["Contents"][-1]["Key"])
    rest = s3.list_objects_v2(Bucket=filled, ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == utf8_sorted(KEYS)[3:]
    assert rest["ContinuationToken"] == first["NextContinuationToken"]


def test_url_encoding_is_undone_by_botocore(s3, filled):
    """botocore asks for encoding-type=url and decodes; the raw answer carries the encoded keys."""
    raw = []
    s3.meta.events.register("after-call.s3.ListObjectsV2",
                            lambda http_response, **_: raw.append(http_response.content))
    answer = s3.list_objects_v2(Bucket=filled, Prefix="with")
    assert [o["Key"] for o in answer["Contents"]] == ["with space/and+plus"]
    assert b"<Key>with%20space/and%2Bplus</Key>" in raw[-1]
    assert b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in raw[-1]


def test_listing_errors(s3, filled, account):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=2)
    expect_error(s3, "ListObjectsV2", "InvalidArgument", 400, Bucket=filled, Prefix="logs/",
                 ContinuationToken=first["NextContinuationToken"])
    expect_error(s3, "ListObjectsV2", "InvalidArgument", 400, Bucket=filled, ContinuationToken="garbage")
    expect_error(s3, "ListObjectsV2", "InvalidArgument", 400, Bucket=filled, MaxKeys=-1)
    other = bucket_name(account, "other")
    s3.create_bucket(Bucket=other)
    expect_error(s3, "ListObjectsV2", "InvalidArgument", 400, Bucket=other,
                 ContinuationToken=first["NextContinuationToken"])
    assert s3.list_objects_v2(Bucket=filled, MaxKeys=0)["KeyCount"] == 0
    assert s3.list_objects_v2(Bucket=filled, MaxKeys=5000)["MaxKeys"] == 1000
