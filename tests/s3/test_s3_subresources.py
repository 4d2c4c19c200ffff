"""Tagging, ACLs, CopyObject and DeleteObjects."""

from __future__ import annotations

import hashlib

from s3_helpers import bucket_name, expect_error, expect_head_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"", Tagging="a=1")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
    tags = [{"Key": "project", "Value": "jobyard"}, {"Key": "empty", "Value": ""}]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tags})
    answer = s3.get_object_tagging(Bucket=bucket, Key="k")
    assert answer["TagSet"] == tags and "VersionId" not in answer
    assert s3.head_object(Bucket=bucket, Key="k")["TagCount"] == 2
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    expect_error(s3, "PutObjectTagging", "InvalidTag", 400, Bucket=bucket, Key="k",
                 Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    expect_error(s3, "PutObjectTagging", "InvalidTag", 400, Bucket=bucket, Key="k",
                 Tagging={"TagSet": [{"Key": "k" * 129, "Value": "1"}]})
    expect_error(s3, "PutObjectTagging", "InvalidTag", 400, Bucket=bucket, Key="k",
                 Tagging={"TagSet": [{"Key": "aws:reserved", "Value": "1"}]})
    expect_error(s3, "GetObjectTagging", "NoSuchKey", 404, Bucket=bucket, Key="missing")
    expect_error(s3, "PutObjectTagging", "NoSuchKey", 404, Bucket=bucket, Key="missing", Tagging={"TagSet": []})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []   # failed puts changed nothing


def test_acls(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    owner = acl["Owner"]["ID"]
    assert acl["Grants"] == [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"}]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    other = "1" * 64
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={
        "Owner": {"ID": owner},
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": other}, "Permission": "READ_ACP"}]})
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Grants"] == [
        {"Grantee": {"Type": "CanonicalUser", "ID": other}, "Permission": "READ_ACP"}]
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'id="{other}", uri="{ALL_USERS}"')
    assert [g["Grantee"].get("ID") or g["Grantee"].get("URI") for g in
            s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]] == [other, ALL_USERS]
    s3.put_object(Bucket=bucket, Key="public", Body=b"", ACL="authenticated-read")
    assert len(s3.get_object_acl(Bucket=bucket, Key="public")["Grants"]) == 2
    expect_error(s3, "PutObjectAcl", "InvalidArgument", 400, Bucket=bucket, Key="k", ACL="nonsense")
    expect_error(s3, "PutObjectAcl", "MissingSecurityHeader", 400, Bucket=bucket, Key="k")
    expect_error(s3, "PutObjectAcl", "InvalidRequest", 400, Bucket=bucket, Key="k", ACL="private",
                 GrantRead=f'id="{other}"')
    expect_error(s3, "GetObjectAcl", "NoSuchKey", 404, Bucket=bucket, Key="missing")


def test_email_grantees_are_refused_as_s3_now_does(s3, bucket):
    # Since October 1, 2025 S3 answers an Email Grantee ACL with 405 (API reference, PutObjectAcl/PutObject).
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    before = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    expect_error(s3, "PutObjectAcl", "MethodNotAllowed", 405, Bucket=bucket, Key="k", AccessControlPolicy={
        "Owner": {"ID": before[0]["Grantee"]["ID"]},
        "Grants": [{"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "someone@example.com"},
                    "Permission": "READ"}]})
    expect_error(s3, "PutObjectAcl", "MethodNotAllowed", 405, Bucket=bucket, Key="k",
                 GrantRead='emailAddress="someone@example.com"')
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Grants"] == before
    expect_error(s3, "PutObject", "MethodNotAllowed", 405, Bucket=bucket, Key="new", Body=b"x",
                 GrantRead='emailAddress="someone@example.com"')
    expect_head_error(s3, "HeadObject", 404, Bucket=bucket, Key="new")


def test_copy(s3, bucket, account):
    target = bucket_name(account, "target")
    s3.create_bucket(Bucket=target)
    data = b"copy me"
    s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="text/plain", Metadata={"m": "1"},
                  Tagging="t=1")
    copied = s3.copy_object(Bucket=target, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=target, Key="dst")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (data, "text/plain", {"m": "1"})
    assert s3.get_object_tagging(Bucket=target, Key="dst")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=target, Key="replaced", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"n": "2"}, ContentType="application/json", TaggingDirective="REPLACE",
                   Tagging="u=2", StorageClass="STANDARD_IA")
    replaced = s3.head_object(Bucket=target, Key="replaced")
    assert (replaced["Metadata"], replaced["ContentType"], replaced["StorageClass"]) == (
        {"n": "2"}, "application/json", "STANDARD_IA")
    assert s3.get_object_tagging(Bucket=target, Key="replaced")["TagSet"] == [{"Key": "u", "Value": "2"}]
    # In place, to change something (here the storage class).
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="GLACIER")
    assert s3.head_object(Bucket=bucket, Key="src")["StorageClass"] == "GLACIER"
    expect_error(s3, "CopyObject", "ObjectNotInActiveTierError", 403, Bucket=target, Key="x",
                 CopySource={"Bucket": bucket, "Key": "src"})
    expect_error(s3, "CopyObject", "InvalidRequest", 400, Bucket=target, Key="dst",
                 CopySource={"Bucket": target, "Key": "dst"})
    expect_error(s3, "CopyObject", "NoSuchKey", 404, Bucket=target, Key="x",
                 CopySource={"Bucket": bucket, "Key": "missing"})
    expect_error(s3, "CopyObject", "NoSuchBucket", 404, Bucket=bucket_name(account, "none"), Key="x",
                 CopySource={"Bucket": target, "Key": "dst"})
    etag = s3.head_object(Bucket=target, Key="dst")["ETag"]
    expect_error(s3, "CopyObject", "PreconditionFailed", 412, Bucket=target, Key="x",
                 CopySource={"Bucket": target, "Key": "dst"}, CopySourceIfMatch='"0000"')
    expect_error(s3, "CopyObject", "PreconditionFailed", 412, Bucket=target, Key="x",
                 CopySource={"Bucket": target, "Key": "dst"}, CopySourceIfNoneMatch=etag)
    s3.copy_object(Bucket=target, Key="x", CopySource={"Bucket": target, "Key": "dst"}, CopySourceIfMatch=etag)


def test_copy_a_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    copied = s3.copy_object(Bucket=bucket, Key="restored", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"] not in (None, v1)
    assert s3.get_object(Bucket=bucket, Key="restored")["Body"].read() == b"first"


def test_delete_objects(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "nope"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "b", "nope"] and "Errors" not in answer
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    expect_error(s3, "DeleteObjects", "MalformedXML", 400, Bucket=bucket, Delete={"Objects": []})
    expect_error(s3, "DeleteObjects", "MalformedXML", 400, Bucket=bucket,
                 Delete={"Objects": [{"Key": str(i)} for i in range(1001)]})


def test_delete_objects_reports_errors_per_key(s3, account):
    locked = bucket_name(account, "locked")
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    vid = s3.put_object(Bucket=locked, Key="held", Body=b"", ObjectLockLegalHoldStatus="ON")["VersionId"]
    s3.put_object(Bucket=locked, Key="free", Body=b"")
    answer = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "held", "VersionId": vid},
                                                                  {"Key": "free"}]})
    assert answer["Errors"] == [{"Key": "held", "VersionId": vid, "Code": "AccessDenied",
                                 "Message": "Access Denied because object protected by object lock."}]
    assert [d["Key"] for d in answer["Deleted"]] == ["free"]


def test_delete_objects_needs_a_digest(s3, bucket):
    """S3 refuses DeleteObjects without Content-MD5 or a checksum header (botocore always sends one)."""

    def strip(request, **_):
        for name in list(request.headers):
            if name.lower().startswith("x-amz-checksum-") or name.lower() == "content-md5":
                del request.headers[name]

    s3.meta.events.register("before-send.s3.DeleteObjects", strip)
    expect_error(s3, "DeleteObjects", "InvalidRequest", 400, Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})
