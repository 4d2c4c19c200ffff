"""Small helpers shared by the S3 tests."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from conformance import GENERIC_ERROR_CODES, assert_error_conforms
from support import REGION

# botocore retries some S3 errors (BadDigest...) four times: the tests look at the first answer.
NO_RETRIES = {"total_max_attempts": 1}

# S3 answers with codes from its documented list ("Error responses" in the S3 API reference), most of
# which no operation of the model lists: every one of them is a valid answer of any S3 operation.
S3_ERROR_CODES = GENERIC_ERROR_CODES + (
    "AccessDenied", "BadDigest", "BadRequest", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "EntityTooSmall",
    "IllegalLocationConstraintException", "IncompleteBody", "InternalError", "InvalidArgument",
    "InvalidBucketName", "InvalidBucketState", "InvalidDigest", "InvalidLocationConstraint", "InvalidObjectState",
    "InvalidPart", "InvalidPartNumber", "InvalidPartOrder", "InvalidRange", "InvalidRequest",
    "InvalidStorageClass", "InvalidTag", "KeyTooLongError", "MalformedACLError", "MalformedTrailerError",
    "MalformedXML", "MetadataTooLarge", "MethodNotAllowed", "MissingSecurityHeader", "NoSuchBucket", "NoSuchKey",
    "NoSuchObjectLockConfiguration", "NoSuchUpload", "NoSuchVersion", "NotImplemented",
    "ObjectLockConfigurationNotFoundError", "PreconditionFailed", "RestoreAlreadyInProgress", "UnexpectedContent",
    "XAmzContentSHA256Mismatch",
)


def _snake(name: str) -> str:
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def expect_error(client, operation: str, code: str, status: int, **params) -> ClientError:
    """Call ``operation`` and check that it fails with S3's ``code`` and ``status`` in a conformant body."""
    with pytest.raises(ClientError) as caught:
        getattr(client, _snake(operation))(**params)
    error = caught.value
    assert error.response["Error"]["Code"] == code, error.response["Error"]
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status, error.response
    assert_error_conforms(client.meta.service_model.operation_model(operation), error, S3_ERROR_CODES)
    return error


def expect_head_error(client, operation: str, status: int, **params) -> ClientError:
    """HEAD errors carry no body, so no code: S3 answers with the status alone (botocore reports the
    status as the code)."""
    with pytest.raises(ClientError) as caught:
        getattr(client, _snake(operation))(**params)
    error = caught.value
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Code"] == str(status)
    return error


def bucket_name(account: str, suffix: str = "box") -> str:
    return f"{suffix}-{account}"


def s3_client(url: str | None, account: str, region: str = REGION, **config):
    """An S3 client of ``account``; ``config`` goes to botocore's Config (addressing style, proxies...)."""
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name=region, aws_access_key_id=account, aws_secret_access_key="secret",
        config=BotoConfig(**config) if config else None)
