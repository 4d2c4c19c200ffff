"""Smithy RPC v2 CBOR codec against the real snowball model, with bodies written and read by botocore."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import botocore.model
import botocore.session
import cbor2
import pytest

from jobyard.errors import SerializationError, ServiceError, ValidationFailed
from jobyard.protocols import build_codec
from jobyard.protocols.cbor_rpc import CborRpcCodec
from jobyard.wire import Request
from support import answering, botocore_request, botocore_response, parse_with

UTC = timezone.utc
PROTOCOL = "smithy-rpc-v2-cbor"
SERVICE = "AWSIESnowballJobManagementService"
JOB_ID = "JID123e4567-e89b-12d3-a456-426655440000"



@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("snowball")


@pytest.fixture(scope="module")
def codec(model):
    return build_codec(model, PROTOCOL)


def raw_request(body: bytes, operation="ListJobs", path=None, headers=None, method="POST") -> Request:
    path = path or f"/service/{SERVICE}/operation/{operation}"
    if headers is None:
        headers = {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"}
    return Request(method, path, path, "", headers, body)


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
        "LambdaResources": [{"LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}],
    },
    "Description": "first job",
    "RoleARN": "arn:aws:iam::123456789012:role/snow",
    "ShippingOption": "SECOND_DAY",
    "Notification": {
        "SnsTopicARN": "arn:aws:sns:us-east-1:123456789012:topic",
        "JobStatesToNotify": ["New", "Complete"],
        "NotifyAll": True,
    },
    "OnDeviceServiceConfiguration": {"S3OnDeviceService": {"StorageLimit": 2.5, "ServiceSize": 3}},
    "PickupDetails": {
        "Name": "Pat",
        "IdentificationExpirationDate": datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC),
    },
}


# --- routing -------------------------------------------------------------------------------------------


def test_registered_under_rpc_v2_cbor(model):
    assert isinstance(build_codec(model, PROTOCOL), CborRpcCodec)


def test_botocore_path_uses_target_prefix(model):
    request = botocore_request(model, "ListJobs", {}, PROTOCOL)
    assert request.path == f"/service/{SERVICE}/operation/ListJobs"
    assert request.headers["smithy-protocol"] == "rpc-v2-cbor"


def test_operation_for(codec):
    assert codec.operation_for(raw_request(b"")) == "ListJobs"
    assert codec.operation_for(raw_request(b"", path=f"/prefix/service/{SERVICE}/operation/CreateJob")) == "CreateJob"
    assert codec.operation_for(raw_request(b"", headers={})) == "ListJobs"   # header absent: path decides
    assert codec.operation_for(raw_request(b"", headers={"smithy-protocol": "rpc-v2-json"})) is None
    assert codec.operation_for(raw_request(b"", path="/service/Other/operation/ListJobs")) is None
    assert codec.operation_for(raw_request(b"", operation="Nope")) is None
    assert codec.operation_for(raw_request(b"", path="/")) is None
    assert codec.operation_for(raw_request(b"", method="GET")) is None


# --- parsing -------------------------------------------------------------------------------------------


def test_parse_create_job_from_botocore(codec, model):
    parsed = parse_with(codec, model, botocore_request(model, "CreateJob", CREATE_JOB, PROTOCOL))
    assert parsed == CREATE_JOB
    when = parsed["PickupDetails"]["IdentificationExpirationDate"]
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)


def test_parse_list_jobs(codec, model):
    params = {"MaxResults": 50, "NextToken": "abc"}
    assert parse_with(codec, model, botocore_request(model, "ListJobs", params, PROTOCOL)) == params


@pytest.mark.parametrize("body", [b"", b"\xa0", b"\xbf\xff"])
def test_empty_body_means_no_input(codec, model, body):
    assert codec.parse(model.operation_model("ListJobs"), raw_request(body)) == {}


def test_indefinite_lengths(codec, model):
    # {_ "NextToken": (_ "ab", "c"), "MaxResults": 5 }, with an indefinite map and text string
    body = b"\xbf" + cbor2.dumps("NextToken") + b"\x7f\x62ab\x61c\xff" + cbor2.dumps("MaxResults") + b"\x05\xff"
    assert codec.parse(model.operation_model("ListJobs"), raw_request(body)) == {"NextToken": "abc", "MaxResults": 5}


def test_indefinite_list(codec, model):
    body = b"\xa1" + cbor2.dumps("Notification") + b"\xa1" + cbor2.dumps("JobStatesToNotify") + \
        b"\x9f" + cbor2.dumps("New") + cbor2.dumps("Complete") + b"\xff"
    parsed = codec.parse(model.operation_model("CreateJob"), raw_request(body, "CreateJob"))
    assert parsed == {"Notification": {"JobStatesToNotify": ["New", "Complete"]}}


def test_timestamps_in_all_forms(codec, model):
    op = model.operation_model("CreateJob")
    expected = datetime(2030, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    epoch = 1904281689.5
    for wire in (cbor2.CBORTag(1, epoch), epoch, cbor2.CBORTag(0, "2030-05-06T07:08:09.5Z")):
        body = cbor2.dumps({"PickupDetails": {"IdentificationExpirationDate": wire}})
        parsed = codec.parse(op, raw_request(body, "CreateJob"))
        assert parsed["PickupDetails"]["IdentificationExpirationDate"] == expected
    whole = cbor2.dumps({"PickupDetails": {"IdentificationExpirationDate": cbor2.CBORTag(1, 1904281689)}})
    parsed = codec.parse(op, raw_request(whole, "CreateJob"))
    assert parsed["PickupDetails"]["IdentificationExpirationDate"] == expected.replace(microsecond=0)


def test_undefined_and_null_mean_absent(codec, model):
    body = cbor2.dumps({"MaxResults": None, "NextToken": cbor2.undefined, "Bogus": [1, 2]})
    assert codec.parse(model.operation_model("ListJobs"), raw_request(body)) == {}


def test_half_and_single_floats(codec, model):
    op = model.operation_model("CreateJob")
    for encoded in (b"\xf9\x41\x00", b"\xfa\x40\x20\x00\x00"):   # 2.5 as float16 and float32
        body = b"\xa1" + cbor2.dumps("OnDeviceServiceConfiguration") + b"\xa1" + \
            cbor2.dumps("S3OnDeviceService") + b"\xa1" + cbor2.dumps("StorageLimit") + encoded
        parsed = codec.parse(op, raw_request(body, "CreateJob"))
        assert parsed["OnDeviceServiceConfiguration"]["S3OnDeviceService"]["StorageLimit"] == 2.5


def test_operations_compile_once(model):
    codec = build_codec(model, PROTOCOL)
    op = model.operation_model("CreateJob")
    request = botocore_request(model, "CreateJob", CREATE_JOB, PROTOCOL)
    codec.parse(op, request)
    compiled = len(codec.reader._cache)
    reader = codec._readers["CreateJob"]
    codec.parse(op, request)
    assert len(codec.reader._cache) == compiled and codec._readers["CreateJob"] is reader


# --- validation ----------------------------------------------------------------------------------------


def violations(codec, model, operation, params) -> list:
    with pytest.raises(ValidationFailed) as info:
        parse_with(codec, model, botocore_request(model, operation, params, PROTOCOL))
    return info.value.violations


def test_max_results_over_max(codec, model):
    (v,) = violations(codec, model, "ListJobs", {"MaxResults": 101})
    assert (v.path, v.kind, v.value, v.limit) == ("maxResults", "max", 101, 100)


def test_bad_enum(codec, model):
    (v,) = violations(codec, model, "CreateJob", {"JobType": "FOO"})
    assert (v.path, v.kind, v.value) == ("jobType", "enum", "FOO")


def test_bad_pattern(codec, model):
    found = {(v.path, v.kind) for v in violations(codec, model, "DescribeJob", {"JobId": "bad"})}
    assert found == {("jobId", "pattern"), ("jobId", "min_length")}


def test_missing_required(codec, model):
    (v,) = violations(codec, model, "DescribeJob", {})
    assert (v.path, v.kind) == ("jobId", "required")


def test_missing_required_with_empty_body(codec, model):
    with pytest.raises(ValidationFailed) as info:
        codec.parse(model.operation_model("DescribeJob"), raw_request(b"", "DescribeJob"))
    assert [v.path for v in info.value.violations] == ["jobId"]


def test_nested_violations(codec, model):
    params = {
        "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::ok"}, {"BucketArn": "nope"}]},
        "OnDeviceServiceConfiguration": {"S3OnDeviceService": {"FaultTolerance": 9}},
    }
    found = {(v.path, v.kind) for v in violations(codec, model, "CreateJob", params)}
    assert found == {
        ("resources.s3Resources.2.member.bucketArn", "pattern"),
        ("onDeviceServiceConfiguration.s3OnDeviceService.faultTolerance", "max"),
    }


# --- type errors and malformed bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "operation, body",
    [
        ("ListJobs", {"MaxResults": "10"}),
        ("ListJobs", {"MaxResults": True}),
        ("ListJobs", {"NextToken": b"bytes"}),
        ("ListJobs", {"NextToken": cbor2.CBORTag(99, "x")}),
        ("CreateJob", {"Resources": ["x"]}),
        ("CreateJob", {"Notification": {"JobStatesToNotify": "New"}}),
        ("CreateJob", {"Notification": {"NotifyAll": 1}}),
        ("CreateJob", {"PickupDetails": {"IdentificationExpirationDate": "2030-01-01T00:00:00Z"}}),
        ("CreateJob", {"OnDeviceServiceConfiguration": {"S3OnDeviceService": {"StorageLimit": "big"}}}),
    ],
)
def test_wrong_types(codec, model, operation, body):
    with pytest.raises(SerializationError):
        codec.parse(model.operation_model(operation), raw_request(cbor2.dumps(body), operation))


@pytest.mark.parametrize(
    "body",
    [
        b"\xa1",                      # map missing its entry
        b"\xff",                      # lone break code
        b"\x82\x01\x02",              # an array, not a map
        b"\x63abc",                   # a text string, not a map
        b"\xa1\x01\x02",              # integer map key
        b"\xa1\x62\xff\xfe\x01",      # invalid UTF-8 in a key
        cbor2.dumps({"MaxResults": 1}) + b"\x00",            # trailing data
        b"\xa1" + cbor2.dumps("PickupDetails") + b"\xa1" + cbor2.dumps("IdentificationExpirationDate") +
        b"\xc1\x63abc",               # tag 1 over text
        b"\xa1" + cbor2.dumps("PickupDetails") + b"\xa1" + cbor2.dumps("IdentificationExpirationDate") +
        b"\xc1\xfb\x7e\x37\xe4\x3c\x88\x00\x75\x9c",        # tag 1 out of range
        b"\x9f" * 1000,               # deep nesting, never closed
        b"\x1f",                      # reserved additional info
    ],
)
def test_malformed_bodies(codec, model, body):
    with pytest.raises(SerializationError):
        codec.parse(model.operation_model("CreateJob"), raw_request(body, "CreateJob"))


# --- output --------------------------------------------------------------------------------------------


def test_list_jobs_round_trip(codec, model):
    output = {
        "JobListEntries": [
            {
                "JobId": JOB_ID,
                "JobState": "New",
                "IsMaster": True,
                "CreationDate": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                "Description": None,
            },
            {"JobId": "JID2", "CreationDate": datetime(2024, 1, 2, 3, 4, 5)},   # naive means UTC
            {"JobId": "JID3", "CreationDate": 1704164645},                      # epoch seconds
        ],
        "NextToken": "next",
        "NotInModel": "dropped",
    }
    response = codec.serialize(model.operation_model("ListJobs"), output)
    assert response.status == 200
    assert response.header("smithy-protocol") == "rpc-v2-cbor"
    assert response.header("Content-Type") == "application/cbor"
    assert response.header("x-amzn-RequestId")
    raw = cbor2.loads(response.body)
    assert "NotInModel" not in raw and "Description" not in raw["JobListEntries"][0]

    parsed = botocore_response(model, "ListJobs", response, PROTOCOL)
    entries = parsed["JobListEntries"]
    assert entries[0]["CreationDate"] == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert entries[1]["CreationDate"] == entries[2]["CreationDate"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert entries[0]["IsMaster"] is True and parsed["NextToken"] == "next"
    assert parsed["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")


def test_timestamps_are_tag_1(codec, model):
    output = {"JobListEntries": [{"CreationDate": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}]}
    body = codec.serialize(model.operation_model("ListJobs"), output).body
    assert b"\xc1\x1a" + (1704164645).to_bytes(4, "big") in body


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
    parsed = botocore_response(model, "DescribeJob", response, PROTOCOL)
    parsed.pop("ResponseMetadata")
    assert parsed == output


def test_empty_output(codec, model):
    op = model.operation_model("CancelJob")
    assert codec.serialize(op, {}).body == b"\xa0"
    assert codec.serialize(op, None).body == b"\xa0"
    parsed = botocore_response(model, "CancelJob", codec.serialize(op, None), PROTOCOL)
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_blobs_are_byte_strings():
    kms = botocore.session.get_session().get_service_model("kms")
    codec = build_codec(kms, PROTOCOL)
    request = botocore_request(kms, "Encrypt", {"KeyId": "alias/k", "Plaintext": b"\x00\xffsecret"}, PROTOCOL)
    assert parse_with(codec, kms, request)["Plaintext"] == b"\x00\xffsecret"
    response = codec.serialize(kms.operation_model("Encrypt"), {"CiphertextBlob": b"\x01\x02", "KeyId": "k"})
    assert cbor2.loads(response.body)["CiphertextBlob"] == b"\x01\x02"
    assert botocore_response(kms, "Encrypt", response, PROTOCOL)["CiphertextBlob"] == b"\x01\x02"
    bad = raw_request(cbor2.dumps({"KeyId": "k", "Plaintext": "text"}), path="/service/TrentService/operation/Encrypt")
    with pytest.raises(SerializationError):
        codec.parse(kms.operation_model("Encrypt"), bad)


# --- errors --------------------------------------------------------------------------------------------


def test_modeled_error(codec, model):
    error = ServiceError("InvalidResourceException", "No such job", 400, ResourceType="JOB")
    response = codec.serialize_error(error, model.operation_model("DescribeJob"))
    assert response.status == 400
    assert response.header("smithy-protocol") == "rpc-v2-cbor"
    assert response.header("Content-Type") == "application/cbor"
    assert response.header("x-amzn-RequestId")
    assert cbor2.loads(response.body) == {
        "__type": "com.amazonaws.snowball#InvalidResourceException",
        "message": "No such job", "Message": "No such job", "ResourceType": "JOB",
    }
    parsed = botocore_response(model, "DescribeJob", response, PROTOCOL)
    assert parsed["Error"] == {"Code": "InvalidResourceException", "Message": "No such job"}
    assert parsed["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")
    modeled = botocore_response(model, "DescribeJob", response, PROTOCOL,
                                shape=model.shape_for_error_code("InvalidResourceException"))
    assert modeled == {"Message": "No such job", "ResourceType": "JOB"}


def test_unmodeled_error_has_bare_type(codec, model):
    response = codec.serialize_error(ServiceError("ValidationException", "bad input", 400))
    assert cbor2.loads(response.body) == {"__type": "ValidationException", "message": "bad input"}
    parsed = botocore_response(model, "ListJobs", response, PROTOCOL)
    assert parsed["Error"] == {"Code": "ValidationException", "Message": "bad input"}


def test_error_extras_outside_the_model_still_encode(codec, model):
    error = ServiceError("ThrottlingException", "slow down", 400, When=datetime(2024, 1, 1), Thing=object())
    body = cbor2.loads(codec.serialize_error(error).body)
    assert body["When"] == datetime(2024, 1, 1, tzinfo=UTC) and isinstance(body["Thing"], str)


# --- through a real boto3 client -----------------------------------------------------------------------


def test_boto3_client_end_to_end(codec, model, monkeypatch):
    # botocore prefers JSON for snowball; put CBOR first so the client speaks it.
    order = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS",
                        (PROTOCOL,) + tuple(p for p in order if p != PROTOCOL))
    seen = {}

    def handler(name, params):
        seen[name] = params
        if name == "CreateJob":
            return {"JobId": JOB_ID}
        if name == "ListJobs":
            return {"JobListEntries": [{"JobId": JOB_ID, "CreationDate": datetime(2024, 1, 1, tzinfo=UTC)}]}
        raise ServiceError("InvalidResourceException", "The job does not exist", 400, ResourceType="JOB")

    client = boto3.session.Session(botocore_session=botocore.session.get_session()).client(
        "snowball", region_name="us-east-1", endpoint_url="http://localhost:1",
        aws_access_key_id="x", aws_secret_access_key="y",
    )
    assert client.meta.service_model.resolved_protocol == PROTOCOL
    client.meta.events.register("before-send", answering(codec, handler))

    assert client.create_job(**CREATE_JOB)["JobId"] == JOB_ID
    assert seen["CreateJob"] == CREATE_JOB
    listed = client.list_jobs(MaxResults=10)
    assert listed["JobListEntries"][0]["CreationDate"] == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(client.exceptions.InvalidResourceException) as info:
        client.describe_job(JobId=JOB_ID)
    assert info.value.response["Error"] == {"Code": "InvalidResourceException", "Message": "The job does not exist"}
    assert info.value.response["ResourceType"] == "JOB"
