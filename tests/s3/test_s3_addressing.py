"""How requests name their bucket (path-style, virtual-hosted in its forms) and S3 beside S3 Control on
the same port, both signing as ``s3``."""

from __future__ import annotations

import uuid

import boto3
from botocore.config import Config as BotoConfig

from conformance import attach
from s3_helpers import NO_RETRIES, bucket_name, expect_error, s3_client


def _urls(client) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: seen.append(request.url))
    return seen


def _round_trip(client, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="dir/file name.txt", Body=b"payload")
    assert client.get_object(Bucket=bucket, Key="dir/file name.txt")["Body"].read() == b"payload"
    listed = client.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/file name.txt"]
    assert client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    client.delete_object(Bucket=bucket, Key="dir/file name.txt")


def test_path_style(s3, account):
    urls = _urls(s3)
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    _round_trip(s3, name)
    assert all(f"/{name}" in url.split("//", 1)[1] for url in urls)


def test_virtual_hosted_through_the_proxy(s3_virtual, s3, account):
    urls = _urls(s3_virtual)
    name = bucket_name(account)
    s3_virtual.create_bucket(Bucket=name)
    _round_trip(s3_virtual, name)
    assert urls[0] == f"http://{name}.s3.amazonaws.com/"
    # The same bucket seen path-style.
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"
    expect_error(s3_virtual, "GetObject", "NoSuchKey", 404, Bucket=name, Key="missing")
    expect_error(s3_virtual, "ListObjectsV2", "NoSuchBucket", 404, Bucket=bucket_name(account, "none"))


def test_regional_virtual_hosts(server, account):
    client = s3_client("http://s3.eu-central-1.amazonaws.com", account, region="eu-central-1",
                       s3={"addressing_style": "virtual"}, proxies={"http": server.url}, retries=NO_RETRIES)
    attach(client)
    urls = _urls(client)
    name = bucket_name(account, "eu")
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    _round_trip(client, name)
    assert urls[0] == f"http://{name}.s3.eu-central-1.amazonaws.com/"


def test_virtual_hosts_under_localhost(server, account):
    """``endpoint_url=http://localhost:<port>`` makes botocore address ``<bucket>.localhost:<port>``."""
    port = server.url.rsplit(":", 1)[1]
    client = s3_client(f"http://localhost:{port}", account, s3={"addressing_style": "virtual"},
                       proxies={"http": server.url}, retries=NO_RETRIES)
    attach(client)
    urls = _urls(client)
    name = bucket_name(account, "local")
    client.create_bucket(Bucket=name)
    _round_trip(client, name)
    assert urls[0] == f"http://{name}.localhost:{port}/"


def test_other_hosts_are_virtual_when_their_first_label_is_a_bucket(server, s3, account):
    name = bucket_name(account, "custom")
    s3.create_bucket(Bucket=name)
    virtual = s3_client("http://jobyard.example.test", account, s3={"addressing_style": "virtual"},
                        proxies={"http": server.url}, retries=NO_RETRIES)
    attach(virtual)
    urls = _urls(virtual)
    _round_trip(virtual, name)
    assert urls[0].startswith(f"http://{name}.jobyard.example.test/")
    # Path-style through the same host: its first label ("jobyard") is no bucket of this account.
    path = s3_client("http://jobyard.example.test", account, s3={"addressing_style": "path"},
                     proxies={"http": server.url}, retries=NO_RETRIES)
    attach(path)
    _round_trip(path, name)
    # A bucket that does not exist yet cannot be named by such a host: the request reads as path-style,
    # and ``PUT /`` is no S3 operation.
    expect_error(virtual, "CreateBucket", "MethodNotAllowed", 405, Bucket=bucket_name(account, "new"))


def test_s3_and_s3_control_side_by_side(server, s3, account):
    """Both sign as ``s3``; ``/v20180820/`` goes to S3 Control, everything else to S3."""
    # botocore sends S3 Control calls to <account>.<endpoint host>: reach it as an HTTP proxy.
    control = boto3.session.Session().client(
        "s3control", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=account,
        aws_secret_access_key="secret", config=BotoConfig(proxies={"http": server.url}, retries=NO_RETRIES))
    attach(control)
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="manifest.csv", Body=f"{name},a\n".encode())
    jobs = control.list_jobs(AccountId=account)
    assert jobs["Jobs"] == []
    created = control.create_job(
        AccountId=account, ConfirmationRequired=True, Priority=1, ClientRequestToken=str(uuid.uuid4()),
        RoleArn="arn:aws:iam::123456789012:role/batch", Report={"Enabled": False},
        Operation={"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
        Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                  "Location": {"ObjectArn": f"arn:aws:s3:::{name}/manifest.csv",
                               "ETag": s3.head_object(Bucket=name, Key="manifest.csv")["ETag"].strip('"')}})
    assert control.describe_job(AccountId=account, JobId=created["JobId"])["Job"]["JobId"] == created["JobId"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["manifest.csv"]


def test_unimplemented_operations(s3, account):
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    expect_error(s3, "GetBucketPolicy", "NotImplemented", 501, Bucket=name)
    expect_error(s3, "GetBucketLifecycleConfiguration", "NotImplemented", 501, Bucket=name)


def test_presigned_urls(s3, account):
    """boto3 presigns S3 URLs with signature version 2 unless told otherwise; both versions work."""
    import urllib.request

    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    v4 = s3_client(s3.meta.endpoint_url, account, signature_version="s3v4")
    for client, key in ((s3, "v2"), (v4, "v4")):
        put_url = client.generate_presigned_url("put_object", Params={"Bucket": name, "Key": key})
        assert ("AWSAccessKeyId=" in put_url) == (key == "v2")
        request = urllib.request.Request(put_url, data=key.encode(), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        get_url = client.generate_presigned_url("get_object", Params={"Bucket": name, "Key": key})
        with urllib.request.urlopen(get_url, timeout=10) as response:
            assert response.read() == key.encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["v2", "v4"]


def test_which_hosts_name_a_bucket():
    from jobyard.routing import virtual_label as virtual_bucket

    owned = {"mine", "my.dotted.bucket"}
    cases = {
        "127.0.0.1:4600": None, "[::1]:4600": None, "localhost:4600": None, "jobyard": None,
        "s3.amazonaws.com": None, "s3.us-west-2.amazonaws.com": None, "s3-us-west-2.amazonaws.com": None,
        "b1.s3.amazonaws.com": "b1", "b2.s3.us-west-2.amazonaws.com": "b2", "b3.s3-eu-west-1.amazonaws.com": "b3",
        "b4.s3.dualstack.us-east-1.amazonaws.com": "b4", "my.dotted.bucket.s3.amazonaws.com": "my.dotted.bucket",
        "b5.localhost:4600": "b5", "mine.example.test": "mine", "other.example.test": None,
        "123456789012.localhost:4600": "123456789012",
    }
    for host, bucket in cases.items():
        assert virtual_bucket(host, owned.__contains__) == bucket, host
