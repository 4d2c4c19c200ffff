"""STS over HTTP: GetCallerIdentity through boto3, the AWS CLI and raw query requests; every other operation
answers InvalidAction."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from urllib.parse import urlencode, urlparse
from xml.etree import ElementTree

import pytest
from botocore.config import Config

from conformance import GENERIC_ERROR_CODES, checked
from support import REGION, expect_error, make_client

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
DEFAULT_ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::123456789012:role/demo"
# The common errors of AWS's query APIs, which any STS action may answer with.
STS_COMMON_ERRORS = GENERIC_ERROR_CODES + ("InvalidAction", "MissingAction", "MissingParameter", "ValidationError",
                                           "InvalidParameterValue")
_USER_ID = re.compile(r"AIDA[A-Z2-7]{17}")


def sts_client(server, access_key: str, region: str = REGION, **config):
    return make_client("sts", server.url, access_key, region=region,
                       config=Config(retries={"max_attempts": 1}, **config))


@pytest.fixture
def sts(server, account):
    with checked(sts_client(server, account)) as client:
        yield client


# --- GetCallerIdentity -------------------------------------------------------------------------------------


def test_the_account_is_the_access_key(sts, account):
    identity = sts.get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:user/jobyard"
    assert _USER_ID.fullmatch(identity["UserId"])
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200 and identity["ResponseMetadata"]["RequestId"]


def test_identities_are_stable_per_key_and_distinct_per_account(server, account):
    other = str(int(account) + 500)
    with checked(sts_client(server, account)) as mine, checked(sts_client(server, other)) as theirs:
        first, again, foreign = mine.get_caller_identity(), mine.get_caller_identity(), theirs.get_caller_identity()
    assert (first["UserId"], first["Arn"]) == (again["UserId"], again["Arn"])
    assert foreign["Account"] == other and foreign["Arn"] == f"arn:aws:iam::{other}:user/jobyard"
    assert foreign["UserId"] != first["UserId"] and _USER_ID.fullmatch(foreign["UserId"])


def test_other_keys_are_the_default_account(server):
    with checked(sts_client(server, "AKIAIOSFODNN7EXAMPLE")) as client:
        identity = client.get_caller_identity()
    assert identity["Account"] == DEFAULT_ACCOUNT and identity["Arn"] == "arn:aws:iam::000000000000:user/jobyard"


def test_the_partition_follows_the_region(server, account):
    with checked(sts_client(server, account, region="cn-north-1")) as china:
        assert china.get_caller_identity()["Arn"] == f"arn:aws-cn:iam::{account}:user/jobyard"
    with checked(sts_client(server, account, region="eu-west-1")) as europe:
        assert europe.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:user/jobyard"


def test_account_found_with_sts_serves_s3_control(server):
    """The script that broke: learn the account from STS, then call S3 Control with it (any key)."""
    with checked(sts_client(server, "test")) as sts:
        account = sts.get_caller_identity()["Account"]
    s3control = make_client("s3control", server.url, "test",
                            config=Config(proxies={"http": server.url}, retries={"max_attempts": 1}))
    with checked(s3control):
        job_id = s3control.create_job(
            AccountId=account, ConfirmationRequired=False, Priority=10, RoleArn=ROLE,
            ClientRequestToken=str(uuid.uuid4()),
            Operation={"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
            Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                      "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": "etag"}},
            Report={"Enabled": False})["JobId"]
        assert s3control.describe_job(AccountId=account, JobId=job_id)["Job"]["JobArn"].split(":")[4] == account


# --- everything else is InvalidAction ----------------------------------------------------------------------


@pytest.mark.parametrize("operation, params", [
    ("AssumeRole", {"RoleArn": ROLE, "RoleSessionName": "session"}),
    ("GetSessionToken", {}),
    ("GetFederationToken", {"Name": "bob"}),
    ("DecodeAuthorizationMessage", {"EncodedMessage": "abc"}),
    ("GetAccessKeyInfo", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}),
])
def test_other_operations_are_invalid_actions(sts, operation, params):
    error = expect_error(sts, operation, "InvalidAction", 400, allowed=STS_COMMON_ERRORS, **params)
    assert error.response["Error"]["Type"] == "Sender"
    assert f"{operation} is not served" in error.response["Error"]["Message"]


def test_an_unserved_operation_with_bad_input_is_still_invalid_action(server, account):
    with checked(sts_client(server, account, parameter_validation=False)) as client:
        expect_error(client, "AssumeRole", "InvalidAction", 400, allowed=STS_COMMON_ERRORS,
                     RoleArn="short", RoleSessionName="x", DurationSeconds=5)


# --- the query protocol on the wire ------------------------------------------------------------------------


def post(server, body: str, account: str, content_type="application/x-www-form-urlencoded; charset=utf-8",
         signed: bool = True) -> tuple[int, ElementTree.Element, object]:
    url = urlparse(server.url)
    headers = {"Content-Type": content_type}
    if signed:
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={account}/20261205/{REGION}/sts/aws4_request, "
                                    "SignedHeaders=content-type;host, Signature=0000")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", "/", body=body.encode(), headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, ElementTree.fromstring(data), response.headers


def error_of(root) -> dict:
    assert root.tag == f"{{{NAMESPACE}}}ErrorResponse"
    assert root.findtext("{*}RequestId")
    return {child.tag.rpartition("}")[2]: child.text for child in root.find("{*}Error")}


@pytest.mark.parametrize("body, code, message", [
    ("Version=2011-06-15", "MissingAction", "The request is missing an action or a required parameter."),
    ("", "MissingAction", "The request is missing an action or a required parameter."),
    ("Action=GetCallerIdentity", "MissingParameter", "The request must contain the parameter Version"),
    ("Action=GetCallerIdentity&Version=2010-05-08", "InvalidAction",
     "Could not find operation GetCallerIdentity for version 2010-05-08"),
    ("Action=ListUsers&Version=2011-06-15", "InvalidAction", "Could not find operation ListUsers for version 2011-06-15"),
])
def test_requests_for_no_operation(server, account, body, code, message):
    status, root, headers = post(server, body, account)
    assert status == 400 and headers["content-type"] == "text/xml"
    assert error_of(root) == {"Type": "Sender", "Code": code, "Message": message}


def test_a_signed_form_request(server, account):
    status, root, headers = post(server, "Action=GetCallerIdentity&Version=2011-06-15&Unknown=1", account)
    assert status == 200 and root.tag == f"{{{NAMESPACE}}}GetCallerIdentityResponse"
    assert root.findtext("{*}GetCallerIdentityResult/{*}Account") == account
    assert root.findtext("{*}ResponseMetadata/{*}RequestId") == headers["x-amzn-RequestId"]


def test_an_unsigned_form_request_is_the_default_account(server):
    status, root, _ = post(server, "Action=GetCallerIdentity&Version=2011-06-15", "", signed=False)
    assert status == 200 and root.findtext("{*}GetCallerIdentityResult/{*}Account") == DEFAULT_ACCOUNT


def test_a_presigned_get(server, account):
    # What EKS tokens and Vault's AWS auth hand around: a presigned GetCallerIdentity URL.
    client = sts_client(server, account)
    url = client.generate_presigned_url("get_caller_identity", ExpiresIn=60)
    assert "Action=GetCallerIdentity" in url and "X-Amz-Credential=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        root = ElementTree.fromstring(response.read())
    assert root.findtext("{*}GetCallerIdentityResult/{*}Account") == account


def test_a_get_with_the_parameters_in_its_query_string(server, account):
    query = urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    request = urllib.request.Request(f"{server.url}/?{query}", headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20261205/{REGION}/sts/aws4_request, "
                         "SignedHeaders=host, Signature=0000"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert ElementTree.fromstring(response.read()).findtext("{*}GetCallerIdentityResult/{*}Account") == account


def test_a_body_that_is_not_utf8(server, account):
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15&X=\xff", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20261205/{REGION}/sts/aws4_request, "
                         "SignedHeaders=host, Signature=0000"})
    response = conn.getresponse()
    assert response.status == 400
    assert error_of(ElementTree.fromstring(response.read()))["Code"] == "InvalidParameterValue"


# --- the AWS CLI -----------------------------------------------------------------------------------------


def aws(server, access_key: str, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    return subprocess.run([sys.executable, "-m", "awscli", "sts", *args, "--endpoint-url", server.url,
                           "--output", "json"], env=env, capture_output=True, text=True, timeout=120)


def test_cli_get_caller_identity(server, account):
    result = aws(server, account, "get-caller-identity")
    assert result.returncode == 0, result.stderr
    identity = json.loads(result.stdout)
    assert identity["Account"] == account and identity["Arn"] == f"arn:aws:iam::{account}:user/jobyard"
    assert _USER_ID.fullmatch(identity["UserId"])
    query = aws(server, "test", "get-caller-identity", "--query", "Account")
    assert json.loads(query.stdout) == DEFAULT_ACCOUNT


def test_cli_reports_invalid_action(server, account):
    result = aws(server, account, "get-session-token")
    assert result.returncode != 0
    assert "(InvalidAction)" in result.stderr and "GetSessionToken is not served" in result.stderr


def test_an_unsigned_request_for_no_query_action_is_unroutable(server):
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", "/", body=b"Action=LaunchRocket&Version=2011-06-15",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    assert response.status == 404 and b"UnknownServiceException" in response.read()
