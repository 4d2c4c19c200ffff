"""Reaching S3 Control: botocore sends every call to ``{AccountId}.<endpoint host>``. jobyard answers it as the
client's HTTP proxy (``Config(proxies=...)`` or ``HTTP_PROXY``) and by the ``Host`` header (the hosts-file way);
accounts come from the key or the ``x-amz-account-id`` header; the rest of S3 Control is NotImplemented."""

import http.client
import json
import os
import subprocess
from urllib.parse import urlparse
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance import attach
from s3control_helpers import create_job, describe, expect_error, s3control_client
from support import REGION


def raw_request(server, method: str, path: str, account: str, body: bytes = b"", host: str | None = None):
    """One S3 Control request over plain HTTP, signed-looking as botocore sends it."""
    url = urlparse(server.url)
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20261123/{REGION}/s3/aws4_request, "
                                "SignedHeaders=host;x-amz-account-id, Signature=0000",
               "x-amz-account-id": account, "Host": host or f"{account}.{url.hostname}:{url.port}"}
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def error_of(body: bytes) -> dict:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error", body        # S3's error layout, not the query protocol's ErrorResponse
    return {child.tag: child.text for child in root}


def test_http_proxy_environment_variable(server, account, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", server.url)
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session().client("s3control", endpoint_url=server.url, region_name=REGION,
                                            aws_access_key_id=account, aws_secret_access_key="x",
                                            config=Config(retries={"max_attempts": 1}))
    failures = attach(client)
    job_id = create_job(client, account)
    assert describe(client, account, job_id)["Status"] == "New"
    assert not failures


def test_proxy_in_config_ignores_no_proxy(server, account, monkeypatch):
    # Machines often list localhost in NO_PROXY; a proxy given in the client's Config applies regardless.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = s3control_client(server.url, account)
    assert client.list_jobs(AccountId=account)["Jobs"] == []


def test_aws_cli_through_http_proxy(server, account):
    """The user guide's own create-job example, unchanged but for the account, through HTTP_PROXY."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("NO_PROXY", "HTTP_PROXY")}
    env.update(HTTP_PROXY=server.url, AWS_ENDPOINT_URL=server.url, AWS_ACCESS_KEY_ID=account,
               AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION=REGION)
    created = subprocess.run(
        ["aws", "s3control", "create-job", "--account-id", account, "--operation",
         '{"S3PutObjectTagging": { "TagSet": [{"Key":"keyOne", "Value":"ValueOne"}] }}', "--manifest",
         '{"Spec":{"Format":"S3BatchOperations_CSV_20180820","Fields":["Bucket","Key"]},"Location":{"ObjectArn":'
         '"arn:aws:s3:::my_manifests/manifest.csv","ETag":"60e460c9d1046e73f7dde5043ac3ae85"}}', "--report",
         '{"Bucket":"arn:aws:s3:::bucket-where-completion-report-goes","Prefix":"final-reports", '
         '"Format":"Report_CSV_20180820","Enabled":true,"ReportScope":"AllTasks"}',
         "--priority", "42", "--role-arn", "arn:aws:iam::123456789012:role/S3BatchJobRole",
         "--description", "job Description", "--no-confirmation-required", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    job_id = json.loads(created.stdout)["JobId"]
    listed = subprocess.run(["aws", "s3control", "list-jobs", "--account-id", account, "--output", "json"],
                            env=env, capture_output=True, text=True, timeout=60, check=True)
    [job] = json.loads(listed.stdout)["Jobs"]
    assert (job["JobId"], job["Priority"], job["Status"]) == (job_id, 42, "New")


def test_host_header_names_the_account_host(server, account):
    """With ``{account}.localhost`` in the hosts file, requests arrive with that Host and a relative target."""
    s3c = s3control_client(server.url, account)
    job_id = create_job(s3c, account)
    status, body = raw_request(server, "GET", f"/v20180820/jobs/{job_id}", account, host=f"{account}.localhost:4600")
    assert status == 200
    root = ElementTree.fromstring(body)
    assert root.tag.endswith("DescribeJobResult")
    assert root.find("{*}Job/{*}JobId").text == job_id


def test_header_chooses_the_account_for_other_keys(server, account):
    anonymous = s3control_client(server.url, "test")
    job_id = create_job(anonymous, account)
    owner = s3control_client(server.url, account)
    assert describe(owner, account, job_id)["JobArn"].split(":")[4] == account
    assert [j["JobId"] for j in anonymous.list_jobs(AccountId=account)["Jobs"]] == [job_id]


def test_an_account_key_cannot_act_for_another_account(server, s3c, account):
    job_id = create_job(s3c, account)
    other = str(int(account) + 800_000_000)
    expect_error(s3c, "DescribeJob", "AccessDenied", 403, AccountId=other, JobId=job_id)
    expect_error(s3c, "ListJobs", "AccessDenied", 403, AccountId=other)


@pytest.mark.parametrize("call", [
    lambda c, a: c.list_access_points(AccountId=a),
    lambda c, a: c.get_public_access_block(AccountId=a),
    lambda c, a: c.list_storage_lens_configurations(AccountId=a),
    lambda c, a: c.get_access_point(AccountId=a, Name="a" * 100),   # an invalid name: still not implemented
])
def test_other_operations_are_not_implemented(raw_s3c, account, call):
    with pytest.raises(ClientError) as caught:
        call(raw_s3c, account)
    error = caught.value.response
    assert error["Error"]["Code"] == "NotImplemented"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "not implemented" in error["Error"]["Message"]


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/v20180820/no-such-thing", 400, "InvalidURI"),
    ("GET", "/v20180820/jobs//status", 400, "InvalidURI"),
    ("GET", "/v20180820/jobs;jsessionid=0A1B", 400, "InvalidURI"),
    ("GET", "/v20180820/jobs/%FF%FE", 400, "InvalidURI"),        # not UTF-8 once decoded
    ("GET", "/v20180820/%FF%FE/status", 400, "InvalidURI"),
    ("GET", "/v20180820/jobs/a/../b", 400, "InvalidURI"),
    ("DELETE", "/v20180820/jobs", 405, "MethodNotAllowed"),      # the path has operations, not this method
    ("PATCH", "/v20180820/jobs/0c7a3ec8-4b36-4c5c-9a6b-4b1e7d2f1a11", 405, "MethodNotAllowed"),
    ("GET", "/v20180820/accesspoint", 501, "NotImplemented"),    # a real S3 Control operation jobyard lacks
])
def test_requests_for_no_operation_are_the_clients_fault(server, account, method, path, status, code):
    """Only a real S3 Control operation that jobyard does not serve is a 501; a path or method that no operation
    has is the client's error, answered as S3 answers it."""
    answered, body = raw_request(server, method, path, account)
    error = error_of(body)
    assert (answered, error["Code"]) == (status, code)
    assert error["Message"] and error["RequestId"] and error["HostId"]


@pytest.mark.parametrize("body", [b"<CreateJobRequest><Priority>1</Priority", b"not xml at all",
                                  b"<CreateJobRequest><Priority>high</Priority></CreateJobRequest>",
                                  b'<!DOCTYPE x [<!ENTITY a "b">]><CreateJobRequest/>'])
def test_unreadable_bodies_are_malformed_xml(server, account, body):
    status, answer = raw_request(server, "POST", "/v20180820/jobs", account, body=body)
    assert status == 400 and b"Traceback" not in answer
    assert error_of(answer)["Code"] == "MalformedXML"


def test_error_layout(server, account):
    status, body = raw_request(server, "GET", "/v20180820/jobs/00000000-0000-4000-8000-000000000000", account)
    assert status == 404
    error = error_of(body)
    assert error["Code"] == "NotFoundException"
    assert "00000000-0000-4000-8000-000000000000" in error["Message"]
