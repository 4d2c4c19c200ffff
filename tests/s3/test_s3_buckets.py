"""Buckets: create (with regions), head, list, delete, versioning settings, and their errors."""

from __future__ import annotations

from xml.etree import ElementTree

from conformance import attach, check_output, check_wire
from s3_helpers import bucket_name, expect_error, expect_head_error
from support import make_client

S3_NAMESPACE = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def test_create_head_list_delete(s3, account):
    name = bucket_name(account)
    answer = s3.create_bucket(Bucket=name)
    assert answer["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["BucketRegion"] == "us-east-1"
    listed = s3.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == [name]
    assert listed["Buckets"][0]["BucketRegion"] == "us-east-1"
    assert len(listed["Owner"]["ID"]) == 64
    s3.delete_bucket(Bucket=name)
    assert s3.list_buckets()["Buckets"] == []
    expect_head_error(s3, "HeadBucket", 404, Bucket=name)


def test_bucket_errors(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    # In North Virginia re-creating your own bucket is a legacy 200 OK (409 in every other region, below).
    assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error(s3, "CreateBucket", "InvalidBucketName", 400, Bucket="Not_Valid")
    expect_error(s3, "CreateBucket", "InvalidBucketName", 400, Bucket="ab")
    expect_error(s3, "CreateBucket", "InvalidLocationConstraint", 400, Bucket=bucket_name(account, "x"),
                 CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    expect_error(s3, "CreateBucket", "InvalidLocationConstraint", 400, Bucket=bucket_name(account, "x"),
                 CreateBucketConfiguration={"LocationConstraint": "mars-north-1"})
    expect_error(s3, "DeleteBucket", "NoSuchBucket", 404, Bucket=bucket_name(account, "missing"))
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    expect_error(s3, "DeleteBucket", "BucketNotEmpty", 409, Bucket=name)
    expect_error(s3, "ListObjectsV2", "NoSuchBucket", 404, Bucket=bucket_name(account, "missing"))
    # Nothing was created by the failed calls.
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [name]


def test_regions_and_bucket_names_across_regions(server, s3, account):
    eu = make_client("s3", server.url, account, region="eu-west-1")
    attach(eu)
    name = bucket_name(account, "eu")
    # A regional endpoint creates buckets only in its own region.
    expect_error(eu, "CreateBucket", "IllegalLocationConstraintException", 400, Bucket=name)
    expect_error(eu, "CreateBucket", "IllegalLocationConstraintException", 400, Bucket=name,
                 CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    expect_error(eu, "CreateBucket", "BucketAlreadyOwnedByYou", 409, Bucket=name,
                 CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    # The name is the account's in every region, and the bucket keeps its region.
    expect_error(s3, "CreateBucket", "BucketAlreadyOwnedByYou", 409, Bucket=name)
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
    # The us-east-1 endpoint takes any location constraint ("EU" is eu-west-1).
    s3.create_bucket(Bucket=bucket_name(account, "old-eu"), CreateBucketConfiguration={"LocationConstraint": "EU"})
    regions = {b["Name"]: b["BucketRegion"] for b in s3.list_buckets()["Buckets"]}
    assert regions == {name: "eu-west-1", bucket_name(account, "old-eu"): "eu-west-1"}
    only_eu = s3.list_buckets(BucketRegion="eu-west-1", Prefix="eu-")["Buckets"]
    assert [b["Name"] for b in only_eu] == [name]


def test_bucket_location(server, s3, account):
    """GetBucketLocation's body is one element whose text is the region, which botocore reads in a handler
    (``parse_get_bucket_location``): North Virginia's empty element gives None, which the conformance
    checker would take for a string of the wrong type, so these answers are checked here instead."""
    eu = make_client("s3", server.url, account, region="eu-west-1")
    failures = attach(eu)
    unchecked = make_client("s3", server.url, account)
    bodies = []
    unchecked.meta.events.register("after-call.s3.GetBucketLocation",
                                   lambda http_response, **_: bodies.append(http_response.content))
    model = unchecked.meta.service_model.operation_model("GetBucketLocation")
    in_europe, in_virginia = bucket_name(account, "eu"), bucket_name(account, "us")
    eu.create_bucket(Bucket=in_europe, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.create_bucket(Bucket=in_virginia)

    assert eu.get_bucket_location(Bucket=in_europe)["LocationConstraint"] == "eu-west-1" and not failures
    for name, region in ((in_europe, "eu-west-1"), (in_virginia, None)):
        answer = unchecked.get_bucket_location(Bucket=name)
        assert answer["LocationConstraint"] == region
        root = ElementTree.fromstring(bodies[-1])
        assert (root.tag, root.text, len(root)) == (f"{S3_NAMESPACE}LocationConstraint", region, 0)
        present = {member: value for member, value in answer.items() if value is not None}
        assert check_output(model, present) + check_wire(model, bodies[-1]) == []
    expect_error(s3, "GetBucketLocation", "NoSuchBucket", 404, Bucket=bucket_name(account, "missing"))


def test_buckets_are_per_account(server, s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    other = make_client("s3", server.url, str(int(account) + 500000))
    attach(other)
    assert other.list_buckets()["Buckets"] == []
    expect_error(other, "ListObjectsV2", "NoSuchBucket", 404, Bucket=name)
    expect_error(s3, "ListObjectsV2", "AccessDenied", 403, Bucket=name, ExpectedBucketOwner="999999999999")


def test_list_buckets_pages(s3, account):
    names = sorted(bucket_name(account, f"b{i}") for i in range(5))
    for name in reversed(names):
        s3.create_bucket(Bucket=name)
    seen = []
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2}):
        seen += [b["Name"] for b in page["Buckets"]]
    assert seen == names
    expect_error(s3, "ListBuckets", "InvalidArgument", 400, MaxBuckets=2, ContinuationToken="forged.token")


def test_versioning_configuration(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    expect_error(s3, "PutBucketVersioning", "MalformedXML", 400, Bucket=name, VersioningConfiguration={})
    expect_error(s3, "GetBucketVersioning", "NoSuchBucket", 404, Bucket=bucket_name(account, "missing"))


def test_object_lock_bucket(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
    expect_error(s3, "PutBucketVersioning", "InvalidBucketState", 409, Bucket=name,
                 VersioningConfiguration={"Status": "Suspended"})
    plain = bucket_name(account, "plain")
    s3.create_bucket(Bucket=plain)
    expect_error(s3, "GetObjectLockConfiguration", "ObjectLockConfigurationNotFoundError", 404, Bucket=plain)
