"""Versioning (what S3 Batch manifests name with VersionId), Object Lock and restores of archived objects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from s3_helpers import bucket_name, expect_error, expect_head_error


@pytest.fixture
def versioned(s3, account):
    name = bucket_name(account, "versioned")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def test_every_write_gets_a_version(s3, versioned):
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=versioned, Key="k")["VersionId"] == v2
    old = s3.get_object(Bucket=versioned, Key="k", VersionId=v1)
    assert (old["Body"].read(), old["VersionId"]) == (b"one", v1)
    assert s3.head_object(Bucket=versioned, Key="k", VersionId=v1)["ContentLength"] == 3
    # The listing shows the current version only.
    listed = s3.list_objects_v2(Bucket=versioned)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("k", 3)]
    # Sub-resources of an old version, by id.
    assert s3.put_object_tagging(Bucket=versioned, Key="k", VersionId=v1,
                                 Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]})["VersionId"] == v1
    tags = s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=v1)
    assert tags["TagSet"] == [{"Key": "old", "Value": "yes"}] and tags["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=versioned, Key="k")["TagSet"] == []


def test_delete_markers_and_deleting_versions(s3, versioned):
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    marker = s3.delete_object(Bucket=versioned, Key="k")
    assert marker["DeleteMarker"] is True and marker["VersionId"] not in (v1, v2)
    expect_error(s3, "GetObject", "NoSuchKey", 404, Bucket=versioned, Key="k")
    expect_error(s3, "GetObject", "MethodNotAllowed", 405, Bucket=versioned, Key="k", VersionId=marker["VersionId"])
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=v2)["Body"].read() == b"two"
    # Removing the marker brings the object back; removing a version for good needs its id.
    removed = s3.delete_object(Bucket=versioned, Key="k", VersionId=marker["VersionId"])
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker["VersionId"]
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"two"
    assert s3.delete_object(Bucket=versioned, Key="k", VersionId=v2)["VersionId"] == v2
    assert s3.get_object(Bucket=versioned, Key="k")["VersionId"] == v1
    expect_error(s3, "GetObject", "NoSuchVersion", 404, Bucket=versioned, Key="k", VersionId=v2)


def test_null_versions_before_versioning_and_when_suspended(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    assert "VersionId" not in s3.put_object(Bucket=name, Key="k", Body=b"plain")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="k", Body=b"versioned")["VersionId"]
    assert s3.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() == b"plain"
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=name, Key="k", Body=b"null again")["VersionId"] == "null"
    assert s3.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() == b"null again"
    assert s3.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"versioned"


def test_delete_objects_in_a_versioned_bucket(s3, versioned):
    v1 = s3.put_object(Bucket=versioned, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="b", Body=b"2")
    answer = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}]})
    deleted = {d["Key"]: d for d in answer["Deleted"]}
    assert deleted["a"] == {"Key": "a", "VersionId": v1}
    assert deleted["b"]["DeleteMarker"] is True and deleted["b"]["DeleteMarkerVersionId"]
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)


@pytest.fixture
def locked(s3, account):
    name = bucket_name(account, "locked")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_legal_hold(s3, locked, account):
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"evidence")["VersionId"]
    expect_error(s3, "GetObjectLegalHold", "NoSuchObjectLockConfiguration", 404, Bucket=locked, Key="k")
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    expect_error(s3, "DeleteObject", "AccessDenied", 403, Bucket=locked, Key="k", VersionId=vid)
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid)
    expect_error(s3, "GetObjectLegalHold", "NoSuchKey", 404, Bucket=locked, Key="k")
    plain = bucket_name(account, "plain")
    s3.create_bucket(Bucket=plain)
    s3.put_object(Bucket=plain, Key="k", Body=b"")
    expect_error(s3, "PutObjectLegalHold", "InvalidRequest", 400, Bucket=plain, Key="k",
                 LegalHold={"Status": "ON"})
    expect_error(s3, "PutObjectLegalHold", "InvalidArgument", 400, Bucket=locked, Key="k",
                 LegalHold={"Status": "MAYBE"})
    expect_error(s3, "PutObject", "InvalidRequest", 400, Bucket=plain, Key="k2", Body=b"",
                 ObjectLockLegalHoldStatus="ON")


def test_retention(server, s3, locked):
    now = datetime.fromisoformat(server.clock()["now"].replace("Z", "+00:00"))
    until = now.replace(microsecond=0) + timedelta(days=30)
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"keep", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=until)["VersionId"]
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    assert retention == {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    head = s3.head_object(Bucket=locked, Key="k")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    expect_error(s3, "DeleteObject", "AccessDenied", 403, Bucket=locked, Key="k", VersionId=vid)
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - timedelta(days=10)}
    expect_error(s3, "PutObjectRetention", "AccessDenied", 403, Bucket=locked, Key="k", Retention=shorter)
    s3.put_object_retention(Bucket=locked, Key="k", Retention=shorter, BypassGovernanceRetention=True)
    s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    expect_error(s3, "PutObjectRetention", "AccessDenied", 403, Bucket=locked, Key="k", Retention=shorter,
                 BypassGovernanceRetention=True)
    expect_error(s3, "DeleteObject", "AccessDenied", 403, Bucket=locked, Key="k", VersionId=vid,
                 BypassGovernanceRetention=True)
    expect_error(s3, "PutObjectRetention", "InvalidArgument", 400, Bucket=locked, Key="k",
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": datetime(2000, 1, 1, tzinfo=timezone.utc)})
    expect_error(s3, "PutObject", "InvalidArgument", 400, Bucket=locked, Key="half", Body=b"",
                 ObjectLockMode="GOVERNANCE")
    # A delete marker is always allowed; once the date has passed, so is deleting the version.
    assert s3.delete_object(Bucket=locked, Key="k")["DeleteMarker"] is True
    server.advance(40 * 86400)
    assert s3.delete_object(Bucket=locked, Key="k", VersionId=vid)["VersionId"] == vid


def test_restore_of_archived_objects(server, s3, account):
    name = bucket_name(account, "cold")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="archive.bin", Body=b"cold bytes", StorageClass="GLACIER")
    s3.put_object(Bucket=name, Key="warm.bin", Body=b"")
    head = s3.head_object(Bucket=name, Key="archive.bin")
    assert head["StorageClass"] == "GLACIER" and "Restore" not in head
    assert s3.list_objects_v2(Bucket=name)["Contents"][0]["StorageClass"] == "GLACIER"
    expect_error(s3, "GetObject", "InvalidObjectState", 403, Bucket=name, Key="archive.bin")
    expect_error(s3, "RestoreObject", "InvalidObjectState", 403, Bucket=name, Key="warm.bin",
                 RestoreRequest={"Days": 1})
    started = s3.restore_object(Bucket=name, Key="archive.bin",
                                RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Standard"}})
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket=name, Key="archive.bin")["Restore"] == 'ongoing-request="true"'
    expect_error(s3, "RestoreObject", "RestoreAlreadyInProgress", 409, Bucket=name, Key="archive.bin",
                 RestoreRequest={"Days": 2})
    expect_error(s3, "GetObject", "InvalidObjectState", 403, Bucket=name, Key="archive.bin")
    server.advance(5 * 3600)    # a standard retrieval takes 3-5 hours
    restore = s3.head_object(Bucket=name, Key="archive.bin")["Restore"]
    assert restore.startswith('ongoing-request="false", expiry-date="') and restore.endswith(' 00:00:00 GMT"')
    assert s3.get_object(Bucket=name, Key="archive.bin")["Body"].read() == b"cold bytes"
    listed = s3.list_objects_v2(Bucket=name, OptionalObjectAttributes=["RestoreStatus"])["Contents"][0]
    assert listed["RestoreStatus"]["IsRestoreInProgress"] is False
    again = s3.restore_object(Bucket=name, Key="archive.bin", RestoreRequest={"Days": 1})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    server.advance(3 * 86400)   # the restored copy expires
    assert "Restore" not in s3.head_object(Bucket=name, Key="archive.bin")
    expect_error(s3, "GetObject", "InvalidObjectState", 403, Bucket=name, Key="archive.bin")
    s3.put_object(Bucket=name, Key="deep.bin", Body=b"", StorageClass="DEEP_ARCHIVE")
    expect_error(s3, "RestoreObject", "InvalidArgument", 400, Bucket=name, Key="deep.bin",
                 RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}})
    expect_head_error(s3, "HeadObject", 404, Bucket=name, Key="missing.bin")
