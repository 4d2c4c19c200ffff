"""AWS JSON 1.1 codec against the real snowball model, with bodies written and read by botocore itself."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import boto3
import botocore.session
import pytest

from jobyard.errors import SerializationError, ServiceError, ValidationFailed
from jobyard.protocols import build_codec
from jobyard.protocols.base import compile_pattern, format_timestamp, parse_timestamp
from jobyard.protocols.json_rpc import JsonRpcCodec
from jobyard.wire import Request
from support import answering, botocore_request, botocore_response, parse_with

UTC = timezone.utc
JOB_ID = "JID123e4567-e89b-12d3-a456-426655440000"



@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("snowball")


@pytest.fixture(scope="module")
def codec(model):
    return build_codec(model, "json")


def raw_request(body: bytes, target="AWSIESnowballJobManagementService.ListJobs", method="POST") -> Request:
    headers = {"x-amz-target": target, "content-type": "application/x-amz-json-1.1"}
    return Request(method, "/", "/", "", headers, body)


CREATE_JOB = {
    "JobType": "IMPORT",
    "Resources": {
        "S3Resources": [
            {
                "BucketArn": "arn:aws:s3:::my-bucket",
                "KeyRange": {"BeginMarker": "a", "EndMarker": "z"},
                "TargetOnDeviceServices": [{"ServiceName": "NFS_ON_DEVICE_SERVICE", "TransferOption": "IMPORT"}],
            }
        ],
        "Ec2AmiResources": [{"AmiId": "ami-12345678"}],
    },
    "Description": "first job",
    "AddressId": "ADID1234abcd-1234-1234-1234-123456789012",
    "RoleARN": "arn:aws:iam::123456789012:role/snow",
    "SnowballCapacityPreference": "T98",
    "ShippingOption": "SECOND_DAY",
    "Notification": {
        "SnsTopicARN": "arn:aws:sns:us-east-1:123456789012:topic",
        "JobStatesToNotify": ["New", "Complete"],
        "NotifyAll": False,
    },
    "SnowballType": "EDGE_S",
    "OnDeviceServiceConfiguration": {"S3OnDeviceService": {"StorageLimit": 2.5, "ServiceSize": 3}},
    "PickupDetails": {
        "Name": "Pat",
        "IdentificationExpirationDate": datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC),
    },
}


# --- routing -------------------------------------------------------------------------------------------


def test_registered_under_json(model):
    assert isinstance(build_codec(model, "json"), JsonRpcCodec)


def test_operation_for(codec, model):
    assert codec.operation_for(botocore_request(model, "CreateJob", {}, "json")) == "CreateJob"
    assert codec.operation_for(raw_request(b"{}")) == "ListJobs"
    assert codec.operation_for(raw_request(b"{}", target="OtherService.ListJobs")) is None
    assert codec.operation_for(raw_request(b"{}", target="AWSIESnowballJobManagementService.Nope")) is None
    assert codec.operation_for(raw_request(b"{}", method="GET")) is None
    assert codec.operation_for(Request("POST", "/", "/", "", {}, b"{}")) is None


# --- parsing -------------------------------------------------------------------------------------------


def test_parse_create_job_from_botocore(codec, model):
    parsed = parse_with(codec, model, botocore_request(model, "CreateJob", CREATE_JOB, "json"))
    assert parsed == CREATE_JOB
    when = parsed["PickupDetails"]["IdentificationExpirationDate"]
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)


def test_parse_list_jobs(codec, model):
    params = {"MaxResults": 50, "NextToken": "abc"}
    assert parse_with(codec, model, botocore_request(model, "ListJobs", params, "json")) == params


@pytest.mark.parametrize("body", [b"", b"{}", b"  \n"])
def test_empty_body_means_no_input(codec, model, body):
    assert codec.parse(model.operation_model("ListJobs"), raw_request(body)) == {}


def test_unknown_and_null_members_are_ignored(codec, model):
    body = json.dumps({"MaxResults": 5, "Bogus": {"x": 1}, "NextToken": None}).encode()
    assert codec.parse(model.operation_model("ListJobs"), raw_request(body)) == {"MaxResults": 5}


def test_timestamp_formats_accepted(codec, model):
    op = model.operation_model("CreateJob")
    expected = datetime(2030, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    for wire in (1904281689.5, "2030-05-06T07:08:09.5Z", "2030-05-06T09:08:09.500+02:00"):
        body = json.dumps({"PickupDetails": {"IdentificationExpirationDate": wire}}).encode()
        parsed = codec.parse(op, raw_request(body, target="AWSIESnowballJobManagementService.CreateJob"))
        assert parsed["PickupDetails"]["IdentificationExpirationDate"] == expected


def test_operations_compile_once(model):
    codec = build_codec(model, "json")
    op = model.operation_model("CreateJob")
    request = botocore_request(model, "CreateJob", CREATE_JOB, "json")
    codec.parse(op, request)
    compiled = len(codec.reader._cache)
    reader = codec._readers["CreateJob"]
    codec.parse(op, request)
    assert len(codec.reader._cache) == compiled and codec._readers["CreateJob"] is reader


# --- validation ----------------------------------------------------------------------------------------


def violations(codec, model, operation, params) -> list:
    with pytest.raises(ValidationFailed) as info:
        parse_with(codec, model, botocore_request(model, operation, params, "json"))
    return info.value.violations


def test_max_results_over_max(codec, model):
    (v,) = violations(codec, model, "ListJobs", {"MaxResults": 101})
    assert (v.path, v.kind, v.value, v.limit) == ("maxResults", "max", 101, 100)
    assert "Value '101' at 'maxResults' failed to satisfy constraint: " \
           "Member must have value less than or equal to 100" in v.describe()


def test_bad_enum(codec, model):
    (v,) = violations(codec, model, "CreateJob", {"JobType": "FOO"})
    assert (v.path, v.kind, v.value) == ("jobType", "enum", "FOO")
    assert v.limit == ["IMPORT", "EXPORT", "LOCAL_USE"]


def test_bad_pattern_and_length(codec, model):
    found = {(v.path, v.kind) for v in violations(codec, model, "DescribeJob", {"JobId": "bad"})}
    assert found == {("jobId", "pattern"), ("jobId", "min_length")}


def test_pattern_is_full_match(codec, model):
    # Right length, matching prefix, junk after: a search would accept it, AWS does not.
    job_id = JOB_ID[:-1] + "!"
    kinds = [v.kind for v in violations(codec, model, "DescribeJob", {"JobId": job_id})]
    assert kinds == ["pattern"]
    request = botocore_request(model, "DescribeJob", {"JobId": JOB_ID}, "json")
    assert parse_with(codec, model, request) == {"JobId": JOB_ID}


def test_missing_required(codec, model):
    (v,) = violations(codec, model, "DescribeJob", {})
    assert (v.path, v.kind) == ("jobId", "required")
    assert v.describe() == "Value null at 'jobId' failed to satisfy constraint: Member must not be null"


def test_nested_violations_are_all_collected(codec, model):
    params = {
        "JobType": "FOO",
        "Resources": {
            "S3Resources": [{"BucketArn": "arn:aws:s3:::ok"}, {"BucketArn": "arn:aws:s3:::" + "b" * 300}],
            "Ec2AmiResources": [{}],
        },
        "Notification": {"JobStatesToNotify": ["New", "Bogus"]},
        "OnDeviceServiceConfiguration": {"S3OnDeviceService": {"ServiceSize": 1}},
    }
    found = {(v.path, v.kind) for v in violations(codec, model, "CreateJob", params)}
    assert found == {
        ("jobType", "enum"),
        ("resources.s3Resources.2.member.bucketArn", "max_length"),
        ("resources.ec2AmiResources.1.member.amiId", "required"),
        ("notification.jobStatesToNotify.2.member", "enum"),
        ("onDeviceServiceConfiguration.s3OnDeviceService.serviceSize", "min"),
    }


def test_validation_message_lists_every_violation(codec, model):
    with pytest.raises(ValidationFailed) as info:
        parse_with(codec, model, botocore_request(model, "CreateJob", {"JobType": "FOO", "Description": ""}, "json"))
    assert str(info.value).startswith("2 validation errors detected: ")


def test_unparseable_java_patterns_are_skipped():
    assert compile_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*") is None
    assert compile_pattern(r"arn:aws.*:*").fullmatch("arn:aws:s3:::x")


# --- type errors and malformed bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "operation, body",
    [
        ("ListJobs", {"MaxResults": "10"}),
        ("ListJobs", {"MaxResults": 1.5}),
        ("ListJobs", {"MaxResults": True}),
        ("ListJobs", {"NextToken": 5}),
        ("CreateJob", {"Resources": [{"S3Resources": []}]}),
        ("CreateJob", {"Resources": {"S3Resources": {"BucketArn": "arn:aws:s3:::b"}}}),
        ("CreateJob", {"Notification": {"NotifyAll": "yes"}}),
        ("CreateJob", {"Notification": {"JobStatesToNotify": "New"}}),
        ("CreateJob", {"PickupDetails": {"IdentificationExpirationDate": "next tuesday"}}),
        ("CreateJob", {"PickupDetails": {"IdentificationExpirationDate": [1]}}),
        ("CreateJob", {"OnDeviceServiceConfiguration": {"S3OnDeviceService": {"StorageLimit": "big"}}}),
        ("CreateJob", {"OnDeviceServiceConfiguration": {"S3OnDeviceService": {"ServiceSize": 2**40}}}),
    ],
)
def test_wrong_types(codec, model, operation, body):
    request = raw_request(json.dumps(body).encode(), target=f"AWSIESnowballJobManagementService.{operation}")
    with pytest.raises(SerializationError):
        codec.parse(model.operation_model(operation), request)


def test_integral_float_is_an_integer(codec, model):
    assert codec.parse(model.operation_model("ListJobs"), raw_request(b'{"MaxResults": 10.0}')) == {"MaxResults": 10}


@pytest.mark.parametrize("body", [b"{", b"[]", b'"x"', b"null", b"\xff\xfe", b"{'a': 1}", b'{"a":1} x'])
def test_malformed_bodies(codec, model, body):
    with pytest.raises(SerializationError):
        codec.parse(model.operation_model("ListJobs"), raw_request(body))


# --- output --------------------------------------------------------------------------------------------


def test_list_jobs_round_trip(codec, model):
    output = {
        "JobListEntries": [
            {
                "JobId": JOB_ID,
                "JobState": "New",
                "IsMaster": True,
                "JobType": "IMPORT",
                "SnowballType": "EDGE",
                "CreationDate": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                "Description": None,      # None members are left out
            },
            {"JobId": "JID2", "CreationDate": datetime(2024, 1, 2, 3, 4, 5)},   # naive means UTC
            {"JobId": "JID3", "CreationDate": 1704164645},                      # epoch seconds
        ],
        "NextToken": "next",
        "NotInModel": "dropped",
    }
    response = codec.serialize(model.operation_model("ListJobs"), output)
    assert response.status == 200
    assert response.header("Content-Type") == "application/x-amz-json-1.1"
    assert response.header("x-amzn-RequestId")
    body = json.loads(response.body)
    assert body["JobListEntries"][0]["CreationDate"] == 1704164645.678
    assert body["JobListEntries"][2]["CreationDate"] == 1704164645
    assert "NotInModel" not in body and "Description" not in body["JobListEntries"][0]

    parsed = botocore_response(model, "ListJobs", response, "json")
    entries = parsed["JobListEntries"]
    assert entries[0]["CreationDate"] == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert entries[1]["CreationDate"] == entries[2]["CreationDate"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert entries[0]["JobState"] == "New" and entries[0]["IsMaster"] is True
    assert parsed["NextToken"] == "next"
    assert parsed["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")


def test_describe_job_round_trip(codec, model):
    metadata = {
        "JobId": JOB_ID,
        "JobState": "InTransitToCustomer",
        "JobType": "EXPORT",
        "CreationDate": datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC),
        "Resources": CREATE_JOB["Resources"],
        "Notification": CREATE_JOB["Notification"],
        "ShippingDetails": {"ShippingOption": "NEXT_DAY", "InboundShipment": {"Status": "x", "TrackingNumber": "1Z"}},
        "DataTransferProgress": {"BytesTransferred": 2**40, "ObjectsTransferred": 0},
        "OnDeviceServiceConfiguration": CREATE_JOB["OnDeviceServiceConfiguration"],
        "PickupDetails": CREATE_JOB["PickupDetails"],
    }
    output = {"JobMetadata": metadata, "SubJobMetadata": [{"JobId": "JIDsub", "JobType": "IMPORT"}]}
    response = codec.serialize(model.operation_model("DescribeJob"), output)
    parsed = botocore_response(model, "DescribeJob", response, "json")
    parsed.pop("ResponseMetadata")
    assert parsed == output


def test_empty_output(codec, model):
    op = model.operation_model("CancelJob")
    assert codec.serialize(op, {}).body == b"{}"
    assert codec.serialize(op, None).body == b"{}"


def test_blobs_base64_both_ways():
    kms = botocore.session.get_session().get_service_model("kms")
    codec = build_codec(kms, "json")
    request = botocore_request(kms, "Encrypt", {"KeyId": "alias/k", "Plaintext": b"\x00\xffsecret"}, "json")
    assert parse_with(codec, kms, request)["Plaintext"] == b"\x00\xffsecret"
    response = codec.serialize(kms.operation_model("Encrypt"), {"CiphertextBlob": b"\x01\x02", "KeyId": "k"})
    assert json.loads(response.body)["CiphertextBlob"] == base64.b64encode(b"\x01\x02").decode()
    assert botocore_response(kms, "Encrypt", response, "json")["CiphertextBlob"] == b"\x01\x02"
    bad = raw_request(b'{"KeyId": "k", "Plaintext": "not base64!"}', target="TrentService.Encrypt")
    with pytest.raises(SerializationError):
        codec.parse(kms.operation_model("Encrypt"), bad)


# --- errors --------------------------------------------------------------------------------------------


def test_modeled_error(codec, model):
    error = ServiceError("InvalidResourceException", "No such job", 400, ResourceType="JOB")
    response = codec.serialize_error(error, model.operation_model("DescribeJob"))
    assert response.status == 400
    assert response.header("X-Amzn-ErrorType") == "InvalidResourceException"
    assert response.header("x-amzn-RequestId")
    body = json.loads(response.body)
    assert body == {"__type": "InvalidResourceException", "message": "No such job",
                    "Message": "No such job", "ResourceType": "JOB"}
    parsed = botocore_response(model, "DescribeJob", response, "json")
    assert parsed["Error"] == {"Code": "InvalidResourceException", "Message": "No such job"}
    assert parsed["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")
    # botocore's client merges the modeled members in from the error shape.
    modeled = botocore_response(model, "DescribeJob", response, "json",
                                shape=model.shape_for_error_code("InvalidResourceException"))
    assert modeled == {"Message": "No such job", "ResourceType": "JOB"}


def test_unmodeled_error(codec, model):
    response = codec.serialize_error(ServiceError("ValidationException", "1 validation error detected", 400))
    assert json.loads(response.body) == {"__type": "ValidationException", "message": "1 validation error detected"}
    parsed = botocore_response(model, "ListJobs", response, "json")
    assert parsed["Error"] == {"Code": "ValidationException", "Message": "1 validation error detected"}


def test_server_error_status(codec, model):
    response = codec.serialize_error(ServiceError("InternalFailure", "boom", 500, sender_fault=False))
    assert response.status == 500
    assert botocore_response(model, "ListJobs", response, "json")["Error"]["Code"] == "InternalFailure"


# --- through a real boto3 client -----------------------------------------------------------------------


def test_boto3_client_end_to_end(codec, model):
    seen = {}

    def handler(name, params):
        seen[name] = params
        if name == "CreateJob":
            return {"JobId": JOB_ID}
        if name == "ListJobs":
            return {"JobListEntries": [{"JobId": JOB_ID, "CreationDate": datetime(2024, 1, 1, tzinfo=UTC)}]}
        raise ServiceError("InvalidResourceException", "The job does not exist", 400, ResourceType="JOB")

    client = boto3.session.Session().client(
        "snowball", region_name="us-east-1", endpoint_url="http://localhost:1",
        aws_access_key_id="x", aws_secret_access_key="y",
    )
    assert client.meta.service_model.resolved_protocol == "json"
    client.meta.events.register("before-send", answering(codec, handler))

    assert client.create_job(**CREATE_JOB)["JobId"] == JOB_ID
    assert seen["CreateJob"] == CREATE_JOB
    listed = client.list_jobs(MaxResults=10)
    assert listed["JobListEntries"][0]["CreationDate"] == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(client.exceptions.InvalidResourceException) as info:
        client.describe_job(JobId=JOB_ID)
    assert info.value.response["Error"] == {"Code": "InvalidResourceException", "Message": "The job does not exist"}
    assert info.value.response["ResourceType"] == "JOB"


# --- timestamp helpers ---------------------------------------------------------------------------------


def test_timestamp_helpers():
    when = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert parse_timestamp(1706933106.789) == when
    assert parse_timestamp("2024-02-03T04:05:06.789Z") == when
    assert parse_timestamp("Sat, 03 Feb 2024 04:05:06 GMT") == when.replace(microsecond=0)
    assert parse_timestamp("1706933106.789", "unixTimestamp") == when
    assert parse_timestamp(-86400) == datetime(1969, 12, 31, tzinfo=UTC)
    assert format_timestamp(when, "iso8601") == "2024-02-03T04:05:06.789Z"
    assert format_timestamp(when.replace(microsecond=0), "iso8601") == "2024-02-03T04:05:06Z"
    assert format_timestamp(when, "rfc822") == "Sat, 03 Feb 2024 04:05:06 GMT"
    assert format_timestamp(when, None) == 1706933106.789
    assert format_timestamp(datetime(2024, 2, 3, 4, 5, 6), "unixTimestamp") == 1706933106
    assert format_timestamp(datetime(2024, 2, 3, 6, 5, 6, tzinfo=timezone(timedelta(hours=2))), None) == 1706933106
    for bad in ("soon", float("nan"), 1e300, None):
        with pytest.raises(SerializationError):
            parse_timestamp(bad)
