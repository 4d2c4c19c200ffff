"""Small helpers shared by the S3 tests."""

from __future__ import annotations

import pytest
from botocore import xform_name
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

import support
from conformance import GENERIC_ERROR_CODES
from support import REGION, make_client

# botocore retries some S3 errors (BadDigest...) four times: the tests look at the first answer.
NO_RETRIES = {"total_max_attempts": 1}

# S3 answers with codes from its documented list ("Error responses" in the S3 API reference), most of
# which no operation of the model lists: every one of them is a valid answer of any S3 operation.
S3_ERROR_CODES = GENERIC_ERROR_CODES + (
    "AccessDenied", "BadDigest", "BadRequest", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "EntityTooLarge", "EntityTooSmall",
    "IllegalLocationConstraintException", "IncompleteBody", "InternalError", "InvalidArgument",
    "InvalidBucketName", "InvalidBucketState", "InvalidDigest", "InvalidLocationConstraint", "InvalidObjectState",
    "InvalidPart", "InvalidPartNumber", "InvalidPartOrder", "InvalidRange", "InvalidRequest",
    "InvalidStorageClass", "InvalidTag", "KeyTooLongError", "MalformedACLError", "MalformedTrailerError",
    "MalformedXML", "MaxMessageLengthExceeded", "MetadataTooLarge", "MethodNotAllowed", "MissingSecurityHeader", "NoSuchBucket", "NoSuchKey",
    "NoSuchObjectLockConfiguration", "NoSuchUpload", "NoSuchVersion", "NotImplemented",
    "ObjectLockConfigurationNotFoundError", "PreconditionFailed", "RequestHeaderSectionTooLarge", "RestoreAlreadyInProgress", "UnexpectedContent",
    "XAmzContentSHA256Mismatch",
)


def expect_error(client, operation: str, code: str, status: int, **params) -> ClientError:
    """support.expect_error for S3: any code of S3's documented list is a conformant answer."""
    return support.expect_error(client, operation, code, status, allowed=S3_ERROR_CODES, **params)


def expect_head_error(client, operation: str, status: int, **params) -> ClientError:
    """HEAD errors carry no body, so no code: S3 answers with the status alone (botocore reports the
    status as the code)."""
    with pytest.raises(ClientError) as caught:
        getattr(client, xform_name(operation))(**params)
    error = caught.value
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Code"] == str(status)
    return error


def bucket_name(account: str, suffix: str = "box") -> str:
    return f"{suffix}-{account}"


def s3_client(url: str | None, account: str, region: str = REGION, **config):
    """An S3 client of ``account``; ``config`` goes to botocore's Config (addressing style, proxies...)."""
    return make_client("s3", url, account, region=region, config=BotoConfig(**config) if config else None)


def filled_bucket(s3, account: str, keys) -> str:
    """A new bucket of ``account`` holding each of ``keys`` (its body the key's own bytes)."""
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    return name


def utf8_sorted(keys):
    """Keys in the order S3 lists them: by their UTF-8 bytes."""
    return sorted(keys, key=lambda k: k.encode())
