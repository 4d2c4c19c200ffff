"""Builders shared by the S3 Control tests."""

from __future__ import annotations

import uuid

from botocore.config import Config
from botocore.exceptions import ClientError

import support
from conformance import GENERIC_ERROR_CODES
from support import REGION, make_client

MINUTE, HOUR, DAY = 60, 3600, 86400

ROLE = "arn:aws:iam::123456789012:role/batch-operations"
MANIFEST = {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": "arn:aws:s3:::my-manifests/manifest.csv",
                         "ETag": "60e460c9d1046e73f7dde5043ac3ae85"}}
REPORT = {"Bucket": "arn:aws:s3:::my-reports", "Prefix": "reports", "Format": "Report_CSV_20180820",
          "Enabled": True, "ReportScope": "AllTasks"}
TAGGING = {"S3PutObjectTagging": {"TagSet": [{"Key": "keyOne", "Value": "ValueOne"}]}}
LAMBDA = {"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:process"}}

# Codes S3 answers with on any operation, beyond the generic AWS ones the conformance check knows.
S3_COMMON_ERRORS = GENERIC_ERROR_CODES + ("AccessDenied", "InvalidRequest", "InvalidTag", "MalformedXML",
                                          "NotImplemented")
# TagResource, UntagResource and ListTagsForResource model no errors at all: for jobs they answer with the
# job API's own modelled shapes.
TAG_RESOURCE_ERRORS = S3_COMMON_ERRORS + ("NotFoundException", "TooManyTagsException")


def s3control_client(url: str, access_key: str, region: str = REGION, proxy: bool = True, validate: bool = True):
    """A client that reaches ``url`` through it as an HTTP proxy (the host botocore builds cannot resolve).

    ``validate=False`` turns botocore's own parameter checks off, so that the server's checks can be seen.
    """
    options = dict(retries={"max_attempts": 1}, parameter_validation=validate)
    if proxy:
        options["proxies"] = {"http": url}
    return make_client("s3control", url, access_key, region=region, config=Config(**options))


def create_job(client, account: str, *, operation: dict | None = None, **overrides) -> str:
    params = dict(AccountId=account, Operation=operation or TAGGING, Manifest=MANIFEST, Report=REPORT, Priority=10,
                  RoleArn=ROLE, ConfirmationRequired=False, ClientRequestToken=str(uuid.uuid4()))
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return client.create_job(**params)["JobId"]


def describe(client, account: str, job_id: str) -> dict:
    return client.describe_job(AccountId=account, JobId=job_id)["Job"]


def status(client, account: str, job_id: str) -> str:
    return describe(client, account, job_id)["Status"]


def advance_until(server, client, account: str, job_id: str, wanted: str, step: float = 10, limit: float = DAY):
    """Advance the clock in steps until the job reaches ``wanted``; returns the statuses seen on the way."""
    seen = [status(client, account, job_id)]
    waited = 0
    while seen[-1] != wanted:
        assert waited < limit, f"{job_id} stuck in {seen[-1]} (seen {seen})"
        server.advance(step)
        waited += step
        current = status(client, account, job_id)
        if current != seen[-1]:
            seen.append(current)
    return seen


def expect_error(client, operation: str, code: str, status: int, *, allowed=S3_COMMON_ERRORS,
                 **params) -> ClientError:
    """support.expect_error for S3 Control: the codes S3 answers any operation with are conformant too
    (``allowed=TAG_RESOURCE_ERRORS`` for the tagging operations that model none)."""
    return support.expect_error(client, operation, code, status, allowed=allowed, **params)
