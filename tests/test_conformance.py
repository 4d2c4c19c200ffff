"""Tests of tests/conformance.py; no jobyard server involved.

HTTP is stubbed with a `before-send` handler: botocore sends no request when
a handler returns an AWSResponse, and parses that response as if it came
from the wire.
"""

from __future__ import annotations

import datetime
import json

import boto3
import botocore.session
import cbor2
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.model import ServiceModel

from conformance import (
    assert_conforms,
    assert_error_conforms,
    attach,
    cbor_client,
    check_error,
    check_output,
    check_wire,
    checked,
)

JOB_ID = "JID123e4567-e89b-12d3-a456-426655440000"
WHEN = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
CLIENT_ARGS = dict(
    region_name="us-east-1",
    endpoint_url="http://jobyard.invalid",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)


@pytest.fixture(scope="module")
def snowball_model():
    return botocore.session.get_session().get_service_model("snowball")


def describe_job_output():
    return {
        "JobMetadata": {
            "JobId": JOB_ID,
            "JobState": "New",
            "JobType": "IMPORT",
            "SnowballType": "EDGE",
            "CreationDate": WHEN,
            "Description": "nightly import",
            "RoleARN": "arn:aws:iam::123456789012:role/snowball",
            "AddressId": "ADID123e4567-e89b-12d3-a456-426655440000",
            "Resources": {
                "S3Resources": [
                    {
                        "BucketArn": "arn:aws:s3:::bucket",
                        "KeyRange": {"BeginMarker": "a", "EndMarker": "z"},
                    }
                ],
                "Ec2AmiResources": [{"AmiId": "ami-12345678"}],
            },
            "ShippingDetails": {"ShippingOption": "SECOND_DAY"},
            "Notification": {"JobStatesToNotify": ["New", "Complete"], "NotifyAll": False},
            "DataTransferProgress": {"BytesTransferred": 0, "ObjectsTransferred": 0},
        },
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def list_jobs_output():
    return {
        "JobListEntries": [
            {
                "JobId": JOB_ID,
                "JobState": "Complete",
                "IsMaster": False,
                "JobType": "EXPORT",
                "SnowballType": "STANDARD",
                "CreationDate": WHEN,
                "Description": "x",
            }
        ],
        "NextToken": "token",
    }


# -- check_output ----------------------------------------------------------


def test_conformant_outputs_pass(snowball_model):
    assert check_output(snowball_model.operation_model("DescribeJob"), describe_job_output()) == []
    assert check_output(snowball_model.operation_model("ListJobs"), list_jobs_output()) == []
    assert check_output(snowball_model.operation_model("ListJobs"), {}) == []


def _problems_after(snowball_model, mutate):
    parsed = describe_job_output()
    mutate(parsed["JobMetadata"])
    return check_output(snowball_model.operation_model("DescribeJob"), parsed)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda m: m.update(Bogus=1), "JobMetadata.Bogus: unknown member"),
        (
            lambda m: m["Resources"]["S3Resources"][0].update(Extra="x"),
            "JobMetadata.Resources.S3Resources[0].Extra: unknown member",
        ),
        (lambda m: m.update(JobState="Bogus"), "JobMetadata.JobState: 'Bogus' not in enum"),
        # JobMetadata.JobId is a plain String (pattern '.*') in the output
        # model; only the input JobId shape is constrained.  AddressId is not.
        (lambda m: m.update(AddressId="nope"), "JobMetadata.AddressId: 'nope' does not match pattern"),
        (lambda m: m.update(AddressId="nope"), "JobMetadata.AddressId: length 4 below min 40"),
        (lambda m: m.update(RoleARN="role"), "JobMetadata.RoleARN: 'role' does not match pattern"),
        (lambda m: m.update(Description="a\nb"), "JobMetadata.Description: 'a\\nb' does not match pattern '.*'"),
        (
            lambda m: m["Resources"]["S3Resources"][0].update(BucketArn=7),
            "JobMetadata.Resources.S3Resources[0].BucketArn: expected string, got int",
        ),
        (lambda m: m.update(CreationDate="2024-05-01"), "JobMetadata.CreationDate: expected timestamp"),
        (
            lambda m: m["DataTransferProgress"].update(BytesTransferred=True),
            "JobMetadata.DataTransferProgress.BytesTransferred: expected long, got bool",
        ),
        (
            lambda m: m["Notification"].update(NotifyAll="false"),
            "JobMetadata.Notification.NotifyAll: expected boolean, got str",
        ),
        (lambda m: m.update(Resources=[]), "JobMetadata.Resources: expected structure (dict), got list"),
        (
            lambda m: m["Notification"].update(JobStatesToNotify=["Nope"]),
            "JobMetadata.Notification.JobStatesToNotify[0]: 'Nope' not in enum",
        ),
        (lambda m: m.update(Description=""), "JobMetadata.Description: length 0 below min 1"),
        (
            lambda m: m["Resources"]["Ec2AmiResources"][0].pop("AmiId"),
            "JobMetadata.Resources.Ec2AmiResources[0].AmiId: required member missing",
        ),
    ],
)
def test_each_violation_is_reported(snowball_model, mutate, expected):
    problems = _problems_after(snowball_model, mutate)
    assert any(p.startswith(expected) for p in problems), problems


def test_missing_required_top_level_member(snowball_model):
    problems = check_output(
        snowball_model.operation_model("ListServiceVersions"), {"ServiceVersions": []}
    )
    assert problems == ["ServiceName: required member missing"]


def test_unknown_top_level_key(snowball_model):
    problems = check_output(snowball_model.operation_model("ListJobs"), {"Jobs": []})
    assert problems == ["Jobs: unknown member of ListJobsResult"]


def test_assert_conforms_lists_every_problem(snowball_model):
    parsed = describe_job_output()
    parsed["JobMetadata"].update(JobState="Bogus", JobType="Nope")
    with pytest.raises(AssertionError) as info:
        assert_conforms(snowball_model.operation_model("DescribeJob"), parsed)
    assert "snowball.DescribeJob output" in str(info.value)
    assert "JobState" in str(info.value) and "JobType" in str(info.value)


# A hand-written model covers what the jobyard services barely use.
TOY = ServiceModel(
    {
        "metadata": {"protocol": "json", "serviceId": "Toy", "apiVersion": "2020-01-01"},
        "operations": {
            "Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "output": {"shape": "Out"}},
            "Get": {
                "name": "Get",
                "http": {"method": "GET", "requestUri": "/"},
                "output": {"shape": "GetOut"},
            },
        },
        "shapes": {
            "Out": {
                "type": "structure",
                "members": {
                    "Tags": {"shape": "Tags"},
                    "Ratio": {"shape": "Ratio"},
                    "Count": {"shape": "Count"},
                    "Data": {"shape": "Data"},
                    "Label": {"shape": "JavaOnly"},
                    "Choice": {"shape": "Choice"},
                    "Doc": {"shape": "Doc"},
                },
            },
            "Tags": {"type": "map", "key": {"shape": "TagKey"}, "value": {"shape": "Str"}, "max": 2},
            "TagKey": {"type": "string", "pattern": "^[a-z]+$"},
            "Str": {"type": "string"},
            "Ratio": {"type": "double", "min": 0, "max": 1},
            "Count": {"type": "integer", "min": 1},
            "Data": {"type": "blob", "max": 3},
            "JavaOnly": {"type": "string", "pattern": r"^[\p{L}]+$"},
            "Choice": {"type": "structure", "union": True, "members": {"A": {"shape": "Str"}, "B": {"shape": "Str"}}},
            "Doc": {"type": "structure", "document": True, "members": {}},
            "GetOut": {"type": "structure", "members": {"Body": {"shape": "Body"}}, "payload": "Body"},
            "Body": {"type": "blob", "streaming": True},
        },
    },
    service_name="toy",
)


def test_toy_model_conformant():
    parsed = {
        "Tags": {"a": "1"},
        "Ratio": 1,
        "Count": 1,
        "Data": b"abc",
        "Label": "anything",  # Java-only pattern: skipped, not a crash
        "Choice": {"A": "x"},
        "Doc": {"free": ["form", 1]},
    }
    assert check_output(TOY.operation_model("Op"), parsed) == []


def test_toy_model_violations():
    parsed = {
        "Tags": {"a": "1", "b": "2", "C": "3"},
        "Ratio": 1.5,
        "Count": 0,
        "Data": "abc",
        "Choice": {"A": "x", "B": "y"},
    }
    problems = check_output(TOY.operation_model("Op"), parsed)
    assert sorted(problems) == sorted(
        [
            "Tags: length 3 above max 2",
            "Tags<key 'C'>: 'C' does not match pattern '^[a-z]+$'",
            "Ratio: value 1.5 above max 1",
            "Count: value 0 below min 1",
            "Data: expected blob (bytes), got str",
            "Choice: union Choice must set exactly one member, got ['A', 'B']",
        ]
    )


def test_streaming_payload():
    class Body:
        def read(self):
            return b""

    op = TOY.operation_model("Get")
    assert check_output(op, {"Body": Body()}) == []
    assert check_output(op, {"Body": b"raw"}) == []
    assert check_output(op, {"Body": 3}) == ["Body: expected streaming body, got int"]
    assert check_output(op, {"Body": 3}, skip_streaming=True) == []


# -- check_wire: members botocore's parsers drop ---------------------------


def test_check_wire_json(snowball_model):
    op = snowball_model.operation_model("DescribeJob")
    good = {"JobMetadata": {"JobId": JOB_ID, "Resources": {"S3Resources": [{"BucketArn": "arn:aws:s3:::b"}]}}}
    assert check_wire(op, json.dumps(good).encode()) == []
    good["JobMetadata"]["Resources"]["S3Resources"][0]["Region"] = "x"
    assert check_wire(op, json.dumps(good).encode()) == [
        "JobMetadata.Resources.S3Resources[0].Region: unknown member of S3Resource on the wire"
    ]
    assert check_wire(op, b"") == []
    assert check_wire(op, b"{nope")[0].startswith("<body>: not a valid json body")


S3CONTROL_LIST_JOBS = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListJobsResult xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
  <Jobs>
    <member><JobId>job-1</JobId><Status>Active</Status>%s</member>
    <member><JobId>job-2</JobId><Priority>1</Priority></member>
  </Jobs>
  <NextToken>t</NextToken>
</ListJobsResult>"""


def test_check_wire_xml():
    model = botocore.session.get_session().get_service_model("s3control")
    op = model.operation_model("ListJobs")
    assert check_wire(op, S3CONTROL_LIST_JOBS % b"") == []
    assert check_wire(op, S3CONTROL_LIST_JOBS % b"<Owner>me</Owner>") == [
        "Jobs[0].Owner: unknown member of JobListDescriptor on the wire"
    ]
    assert check_wire(op, S3CONTROL_LIST_JOBS.replace(b"<member><JobId>job-2", b"<item><JobId>job-2").replace(
        b"</Priority></member>", b"</Priority></item>"
    ) % b"") == ["Jobs[1]: list item element <item>, expected <member>"]

    endpoints = b"<GetAccessPointResult><Name>ap</Name><Endpoints>%s</Endpoints></GetAccessPointResult>"
    op = model.operation_model("GetAccessPoint")
    entry = b"<entry><key>ipv4</key><value>ap.s3</value></entry>"
    assert check_wire(op, endpoints % entry) == []
    assert check_wire(op, endpoints % b"<entry><k>ipv4</k><value>v</value></entry>") == [
        "Endpoints: malformed map entry <entry> ['k', 'value']"
    ]


def test_check_wire_cbor():
    # The body format follows the model's protocol, so use the forced model.
    op = cbor_client(None, "snowball", **CLIENT_ARGS).meta.service_model.operation_model("ListJobs")
    assert check_wire(op, cbor2.dumps({"JobListEntries": [{"JobId": JOB_ID}]})) == []
    assert check_wire(op, cbor2.dumps({"JobListEntries": [{"Id": JOB_ID}]})) == [
        "JobListEntries[0].Id: unknown member of JobListEntry on the wire"
    ]


# -- check_error -----------------------------------------------------------


def _error(code, message="boom", status=400):
    return {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


def test_check_error(snowball_model):
    op = snowball_model.operation_model("CancelJob")
    assert check_error(op, _error("InvalidJobStateException")) == []
    assert check_error(op, _error("ValidationException")) == []
    assert check_error(op, _error("ValidationException"), allowed_generic=()) != []
    assert [p.split(":")[0] for p in check_error(op, _error("NoSuchThing"))] == ["Error.Code"]
    assert [p.split(":")[0] for p in check_error(op, _error("KMSRequestFailedException", ""))] == [
        "Error.Message"
    ]
    assert [p.split(":")[0] for p in check_error(op, _error("InvalidJobStateException", status=200))] == [
        "ResponseMetadata.HTTPStatusCode"
    ]
    with pytest.raises(AssertionError, match="NoSuchThing"):
        assert_error_conforms(op, _error("NoSuchThing"))


def test_check_error_modelled_http_status():
    model = botocore.session.get_session().get_service_model("dataexchange")
    op = model.operation_model("GetJob")
    assert check_error(op, _error("ResourceNotFoundException", status=404)) == []
    assert check_error(op, _error("ResourceNotFoundException", status=400)) == [
        "HTTPStatusCode: ResourceNotFoundException is modelled as 404, got 400"
    ]


# -- attach: stubbed HTTP ----------------------------------------------------


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


def stub(client, status, body: bytes, headers=None, seen=None):
    """Answer every request of `client` with one canned response."""

    def before_send(request, **kwargs):
        if seen is not None:
            seen.append(request)
        return AWSResponse(request.url, status, headers or {}, _Raw(body))

    # Replace, not add: the first before-send handler to answer wins.
    client.meta.events.unregister("before-send", unique_id="stub")
    client.meta.events.register("before-send", before_send, unique_id="stub")


def json_client():
    return boto3.Session().client("snowball", **CLIENT_ARGS)


def _wire_job(state):
    return {"JobMetadata": {"JobId": JOB_ID, "JobState": state, "CreationDate": 1714564800}}


def test_attach_passes_conformant_response():
    client = json_client()
    failures = attach(client)
    stub(client, 200, json.dumps(_wire_job("New")).encode())
    assert client.describe_job(JobId=JOB_ID)["JobMetadata"]["JobState"] == "New"
    assert failures == []


def test_attach_fails_the_call_on_bad_enum():
    client = json_client()
    failures = attach(client)
    stub(client, 200, json.dumps(_wire_job("Bogus")).encode())
    with pytest.raises(AssertionError, match=r"JobMetadata\.JobState: 'Bogus' not in enum"):
        client.describe_job(JobId=JOB_ID)
    assert len(failures) == 1  # recorded too, for a teardown check


def test_checked_fails_at_exit_even_when_the_call_failure_was_swallowed():
    client = json_client()
    stub(client, 200, json.dumps(_wire_job("Bogus")).encode())
    with pytest.raises(AssertionError, match=r"JobMetadata\.JobState: 'Bogus' not in enum"):
        with checked(client):
            try:
                client.describe_job(JobId=JOB_ID)
            except AssertionError:
                pass  # a test that swallows the failure still fails when its fixture ends


def test_attach_fails_the_call_on_unknown_wire_member():
    client = json_client()
    attach(client)
    wire = _wire_job("New")
    wire["JobMetadata"]["Owner"] = "me"
    stub(client, 200, json.dumps(wire).encode())
    with pytest.raises(AssertionError, match=r"JobMetadata\.Owner: unknown member of JobMetadata on the wire"):
        client.describe_job(JobId=JOB_ID)


def test_attach_rest_xml_client():
    client = boto3.Session().client("s3control", **CLIENT_ARGS)
    failures = attach(client)
    stub(client, 200, S3CONTROL_LIST_JOBS % b"")
    assert [job["JobId"] for job in client.list_jobs(AccountId="123456789012")["Jobs"]] == ["job-1", "job-2"]
    stub(client, 200, (S3CONTROL_LIST_JOBS % b"").replace(b"Active", b"Nope"))
    with pytest.raises(AssertionError, match=r"Jobs\[0\]\.Status: 'Nope' not in enum"):
        client.list_jobs(AccountId="123456789012")
    assert len(failures) == 1


def test_attach_checks_paginated_calls():
    client = json_client()
    attach(client)
    stub(client, 200, json.dumps({"JobListEntries": [{"JobState": "Bogus"}]}).encode())
    with pytest.raises(AssertionError, match=r"JobListEntries\[0\]\.JobState"):
        list(client.get_paginator("list_jobs").paginate())


def test_attach_leaves_errors_to_check_error():
    body = json.dumps({"__type": "InvalidJobStateException", "message": "no"}).encode()
    client = json_client()
    attach(client)
    stub(client, 400, body)
    with pytest.raises(ClientError) as info:
        client.cancel_job(JobId=JOB_ID)
    assert check_error(client.meta.service_model.operation_model("CancelJob"), info.value) == []


def test_attach_can_check_errors():
    body = json.dumps({"__type": "MadeUpException", "message": "no"}).encode()
    client = json_client()
    attach(client, check_errors=True)
    stub(client, 400, body)
    with pytest.raises(AssertionError, match="MadeUpException"):
        client.cancel_job(JobId=JOB_ID)


# -- cbor_client ---------------------------------------------------------------


def test_default_snowball_client_speaks_json():
    seen = []
    client = json_client()
    stub(client, 200, b"{}", seen=seen)
    client.list_jobs()
    (request,) = seen
    assert request.headers["X-Amz-Target"] == b"AWSIESnowballJobManagementService.ListJobs"
    assert request.headers["Content-Type"] == b"application/x-amz-json-1.1"
    assert "smithy-protocol" not in request.headers


def _text(header):
    return header.decode() if isinstance(header, bytes) else header


def test_cbor_client_sends_cbor():
    seen = []
    client = cbor_client(None, "snowball", **CLIENT_ARGS)
    failures = attach(client)
    wire = {"JobListEntries": [{"JobId": JOB_ID, "JobState": "New", "CreationDate": WHEN}]}
    stub(client, 200, cbor2.dumps(wire, datetime_as_timestamp=True), {"smithy-protocol": "rpc-v2-cbor"}, seen=seen)

    parsed = client.list_jobs(MaxResults=5)

    (request,) = seen
    assert _text(request.headers["smithy-protocol"]) == "rpc-v2-cbor"
    assert _text(request.headers["Content-Type"]) == "application/cbor"
    assert "X-Amz-Target" not in request.headers
    assert request.url.endswith("/service/AWSIESnowballJobManagementService/operation/ListJobs")
    assert cbor2.loads(request.body) == {"MaxResults": 5}
    assert parsed["JobListEntries"][0]["CreationDate"] == WHEN
    assert failures == []


def test_cbor_client_leaves_the_given_session_alone():
    session = boto3.Session(aws_access_key_id="ak", aws_secret_access_key="sk", region_name="eu-west-1")
    client = cbor_client(session, "snowball", endpoint_url="http://jobyard.invalid")
    assert client.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    assert client.meta.region_name == "eu-west-1"
    assert client._request_signer._credentials.access_key == "ak"
    assert session.client("snowball").meta.service_model.resolved_protocol == "json"


def test_cbor_client_rejects_services_without_cbor():
    with pytest.raises(ValueError, match="smithy-rpc-v2-cbor"):
        cbor_client(None, "glacier", **CLIENT_ARGS)
