"""Every S3 operation of the botocore model that jobyard does not serve answers 501 NotImplemented, naming
itself — never another operation's answer, a 4xx for a well-formed request, or a 500."""

from __future__ import annotations

from datetime import datetime, timezone

import botocore.session
import pytest
from botocore.exceptions import ClientError

from s3_helpers import NO_RETRIES, bucket_name, s3_client

from jobyard.services.s3.service import S3Service

MODEL = botocore.session.get_session().get_service_model("s3")
UNSERVED = sorted(set(MODEL.operation_names) - set(S3Service.operations))


def example(shape, name: str, bucket: str):
    """A value the shape accepts: the required members only, one item in a required list."""
    if name == "Bucket":
        return bucket
    if name == "RenameSource":
        return f"{bucket}/x"
    if name == "KMSKeyArn":
        return "arn:aws:kms:us-east-1:555000111222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    if shape.type_name == "structure":
        if shape.is_tagged_union:   # exactly one member
            member = next(iter(shape.members))
            return {member: example(shape.members[member], member, bucket)}
        return {member: example(shape.members[member], member, bucket) for member in shape.required_members}
    if shape.type_name == "list":
        return [example(shape.member, "", bucket)]
    if shape.type_name == "map":
        return {}
    if shape.type_name == "string":
        return shape.enum[0] if shape.enum else "x" * max(1, shape.metadata.get("min", 1))
    if shape.type_name in ("integer", "long"):
        return 1
    if shape.type_name == "boolean":
        return True
    if shape.type_name == "blob":
        return b"x"
    if shape.type_name == "timestamp":
        return datetime(2030, 1, 1, tzinfo=timezone.utc)
    if shape.type_name in ("float", "double"):
        return 1.0
    raise AssertionError(shape.type_name)


@pytest.fixture(scope="module")
def client(server):
    # The account of the module's own bucket; host prefixes (WriteGetObjectResponse's request route) stay
    # off the IP endpoint.
    account = "555000111222"
    s3 = s3_client(server.url, account, retries=NO_RETRIES, inject_host_prefix=False)
    name = bucket_name(account, "unserved")
    try:
        s3.create_bucket(Bucket=name)
    except ClientError:
        pass
    return s3, name


def test_the_model_has_operations_jobyard_does_not_serve():
    assert "ListObjects" not in UNSERVED and "ListObjectVersions" not in UNSERVED
    assert "GetObjectAttributes" not in UNSERVED and "GetBucketPolicy" in UNSERVED


@pytest.mark.parametrize("operation", UNSERVED)
def test_unserved_operation_answers_not_implemented(client, operation):
    s3, bucket = client
    model = MODEL.operation_model(operation)
    params = example(model.input_shape, "", bucket) if model.input_shape is not None else {}
    method = getattr(s3, botocore.xform_name(operation))
    with pytest.raises(ClientError) as caught:
        answer = method(**params)
        if "Body" in answer:   # a streaming answer is only read now
            answer["Body"].read()
        raise AssertionError(f"{operation} answered {answer['ResponseMetadata']['HTTPStatusCode']}")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501, (operation, error)
    assert error["Error"]["Code"] == "NotImplemented"
    assert operation in error["Error"]["Message"]

