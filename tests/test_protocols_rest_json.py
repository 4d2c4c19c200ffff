"""REST-JSON codec against the real glacier and dataexchange models.

Requests are what botocore itself puts on the wire (its serializer, or a whole boto3 client whose HTTP
send is answered in-process by the codec), and responses are read back by botocore's own parser.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from urllib.parse import unquote

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel

from conformance import assert_conforms, assert_error_conforms, check_wire
from jobyard.errors import SerializationError, ServiceError, ValidationFailed
from jobyard.protocols import build_codec
from jobyard.protocols.rest import split_header_list
from jobyard.protocols.rest_json import RestJsonCodec
from jobyard.wire import Request
from support import botocore_request, botocore_response, local_client, parse_with

UTC = timezone.utc
PROTOCOL = "rest-json"
DATA_SET = "a" * 32
REVISION = "b" * 32
ASSET = "c" * 32
JOB = "d" * 32


@pytest.fixture(scope="module")
def glacier():
    return botocore.session.get_session().get_service_model("glacier")


@pytest.fixture(scope="module")
def dataexchange():
    return botocore.session.get_session().get_service_model("dataexchange")


@pytest.fixture(scope="module")
def glacier_codec(glacier):
    return build_codec(glacier, PROTOCOL)


@pytest.fixture(scope="module")
def dx_codec(dataexchange):
    return build_codec(dataexchange, PROTOCOL)


# --- helpers ---------------------------------------------------------------------------------------------


def round_trip(model, operation: str, response):
    """Conformance-checks a successful response the way the service tests do."""
    parsed = botocore_response(model, operation, response, PROTOCOL)
    op = model.operation_model(operation)
    assert_conforms(op, parsed, skip_streaming=op.has_streaming_output)
    if not op.has_streaming_output:
        assert check_wire(op, response.body) == []
    return parsed


# --- routing ---------------------------------------------------------------------------------------------


def test_registered_under_rest_json(glacier):
    assert isinstance(build_codec(glacier, "rest-json"), RestJsonCodec)


@pytest.mark.parametrize("method, path, query, expected", [
    ("GET", "/-/vaults/v1/jobs", "", "ListJobs"),
    ("POST", "/-/vaults/v1/jobs", "", "InitiateJob"),
    ("GET", "/-/vaults/v1/jobs/JOB1", "", "DescribeJob"),
    ("GET", "/-/vaults/v1/jobs/JOB1/output", "", "GetJobOutput"),
    ("GET", "/-/vaults/v1/jobs/", "", "ListJobs"),                 # one trailing slash is tolerated
    ("POST", "/-/vaults/v1/tags", "operation=add", "AddTagsToVault"),
    ("POST", "/-/vaults/v1/tags", "operation=remove", "RemoveTagsFromVault"),
    ("POST", "/-/vaults/v1/tags", "", None),                        # the static query is required
    ("POST", "/-/vaults/v1/tags", "operation=other", None),
    ("GET", "/-/vaults/v1/tags", "", "ListTagsForVault"),
    ("PUT", "/-/vaults/v1/multipart-uploads/U1", "", "UploadMultipartPart"),
    ("POST", "/-/vaults/v1/multipart-uploads/U1", "", "CompleteMultipartUpload"),
    ("GET", "/-/vaults/v1/multipart-uploads/U1", "", "ListParts"),
    ("GET", "/-/vaults/v%2F1/jobs", "", "ListJobs"),               # an encoded '/' stays in its label
    ("GET", "/-/vaults/v1/nothing-here", "", None),
    ("GET", "/-/vaults/v1/jobs/JOB1/output/more", "", None),
    ("PATCH", "/-/vaults/v1/jobs", "", None),
    ("GET", "/", "", None),
    ("GET", "//vaults/v1/jobs", "", None),                          # an empty label matches nothing
])
def test_operation_for(glacier_codec, method, path, query, expected):
    assert glacier_codec.operation_for(Request(method, unquote(path), path, query, {})) == expected


def test_operation_for_every_botocore_request(glacier, glacier_codec, dataexchange, dx_codec):
    # Every operation of both models is found from what botocore sends for it (labels filled in).
    for model, codec in ((glacier, glacier_codec), (dataexchange, dx_codec)):
        for name in model.operation_names:
            shape = model.operation_model(name).input_shape
            labels = {m: "x" * 32 for m, s in shape.members.items() if s.serialization.get("location") == "uri"}
            assert codec.operation_for(botocore_request(model, name, labels, PROTOCOL)) == name


def test_labels_are_decoded_after_matching(glacier, glacier_codec):
    params = {"accountId": "-", "vaultName": "my vault/ü", "jobId": "J/1"}
    request = botocore_request(glacier, "DescribeJob", params, PROTOCOL)
    assert "%2F" in request.raw_path
    assert parse_with(glacier_codec, glacier, request) == {"accountId": "-", "vaultName": "my vault/ü", "jobId": "J/1"}


# --- glacier ------------------------------------------------------------------------------------------------


def test_list_jobs_query(glacier, glacier_codec):
    params = {"accountId": "-", "vaultName": "v1", "limit": "10", "marker": "m+1 /x", "statuscode": "Succeeded",
              "completed": "true"}
    assert parse_with(glacier_codec, glacier, botocore_request(glacier, "ListJobs", params, PROTOCOL)) == params


def test_initiate_job_payload_and_header_output(glacier, glacier_codec):
    job = {"Type": "archive-retrieval", "ArchiveId": "A1", "Tier": "Bulk", "Description": "d",
           "RetrievalByteRange": "0-1048575", "OutputLocation": {"S3": {"BucketName": "b", "Prefix": "p",
                                                                         "UserMetadata": {"k": "v"}}}}
    params = {"accountId": "-", "vaultName": "v1", "jobParameters": job}
    assert parse_with(glacier_codec, glacier, botocore_request(glacier, "InitiateJob", params, PROTOCOL)) == params

    response = glacier_codec.serialize(glacier.operation_model("InitiateJob"), {
        "location": "/123456789012/vaults/v1/jobs/J1", "jobId": "J1", "jobOutputPath": "s3://b/p/J1"})
    assert response.status == 202 and response.body == b""
    parsed = round_trip(glacier, "InitiateJob", response)
    assert parsed["location"] == "/123456789012/vaults/v1/jobs/J1"
    assert parsed["jobId"] == "J1" and parsed["jobOutputPath"] == "s3://b/p/J1"
    assert response.header("x-amzn-RequestId")


def test_empty_payload_structure(glacier, glacier_codec):
    # botocore sends {} when no jobParameters are given; an empty body means the same.
    op = glacier.operation_model("InitiateJob")
    assert glacier_codec.parse(op, Request("POST", "/-/vaults/v/jobs", "/-/vaults/v/jobs", "", {}, b"{}")) == {
        "accountId": "-", "vaultName": "v", "jobParameters": {}}
    assert glacier_codec.parse(op, Request("POST", "/-/vaults/v/jobs", "/-/vaults/v/jobs", "", {}, b"")) == {
        "accountId": "-", "vaultName": "v"}


def test_upload_archive_with_a_real_client(glacier_codec):
    data = bytes(range(256)) * 10

    def answer(name, params):
        return {"location": "/123456789012/vaults/v1/archives/ARCH", "archiveId": "ARCH",
                "checksum": params["checksum"]}

    client, calls = local_client("glacier", glacier_codec, answer)
    out = client.upload_archive(vaultName="v1", archiveDescription="my archive", body=data)
    (name, params, wire), = calls
    assert name == "UploadArchive"
    # The client filled in accountId '-' and computed the tree hash header itself.
    assert params["accountId"] == "-" and bytes(params["body"]) == data
    assert params["archiveDescription"] == "my archive"
    assert len(params["checksum"]) == 64 and wire.headers["x-amz-sha256-tree-hash"] == params["checksum"]
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["archiveId"] == "ARCH" and out["checksum"] == params["checksum"]
    assert out["location"] == "/123456789012/vaults/v1/archives/ARCH"


def test_streaming_blob_payload_is_raw_bytes(glacier, glacier_codec):
    data = b"\x00\xff{not json"
    request = botocore_request(glacier, "UploadArchive", {"accountId": "-", "vaultName": "v", "body": data}, PROTOCOL)
    assert parse_with(glacier_codec, glacier, request)["body"].read() == data
    empty = botocore_request(glacier, "UploadArchive", {"accountId": "-", "vaultName": "v"}, PROTOCOL)
    assert parse_with(glacier_codec, glacier, empty)["body"].read() == b""


def test_get_job_output_partial_content(glacier, glacier_codec):
    data = b"0123456789" * 100

    def answer(name, params):
        assert params["range"] == "bytes=0-99"
        return {"body": data[:100], "status": 206, "contentRange": "bytes 0-99/1000", "acceptRanges": "bytes",
                "contentType": "application/octet-stream", "checksum": "abc", "archiveDescription": "desc"}

    client, _ = local_client("glacier", glacier_codec, answer)
    out = client.get_job_output(vaultName="v1", jobId="J1", range="bytes=0-99")
    assert out["status"] == 206 and out["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert out["contentRange"] == "bytes 0-99/1000" and out["acceptRanges"] == "bytes"
    assert out["contentType"] == "application/octet-stream" and out["checksum"] == "abc"
    assert out["archiveDescription"] == "desc"
    assert out["body"].read() == data[:100]


def test_get_job_output_defaults(glacier, glacier_codec):
    # No status member: the operation's own code (200); the service's Content-Type wins over the default.
    op = glacier.operation_model("GetJobOutput")
    response = glacier_codec.serialize(op, {"body": b'{"a":1}', "contentType": "application/json"})
    assert response.status == 200 and response.body == b'{"a":1}'
    assert [v for k, v in response.headers if k.lower() == "content-type"] == ["application/json"]
    response = glacier_codec.serialize(op, {"body": b"raw"})
    assert response.header("content-type") == "application/octet-stream"


def test_add_tags_static_query(glacier, glacier_codec):
    params = {"accountId": "-", "vaultName": "v1", "Tags": {"a": "1", "b": "2"}}
    request = botocore_request(glacier, "AddTagsToVault", params, PROTOCOL)
    assert request.query_string == "operation=add"
    assert parse_with(glacier_codec, glacier, request) == params
    response = glacier_codec.serialize(glacier.operation_model("AddTagsToVault"), None)
    assert (response.status, response.body, response.header("content-type")) == (204, b"", None)


def test_structure_output_body(glacier, glacier_codec):
    out = {"VaultARN": "arn:aws:glacier:us-east-1:123456789012:vaults/v1", "VaultName": "v1",
           "CreationDate": "2024-01-02T03:04:05.000Z", "NumberOfArchives": 3, "SizeInBytes": 2 ** 40,
           "LastInventoryDate": None}
    response = glacier_codec.serialize(glacier.operation_model("DescribeVault"), out)
    assert response.status == 200 and response.header("content-type") == "application/json"
    assert json.loads(response.body) == {k: v for k, v in out.items() if v is not None}
    parsed = round_trip(glacier, "DescribeVault", response)
    assert parsed["SizeInBytes"] == 2 ** 40


def test_payload_structure_output(glacier, glacier_codec):
    policy = {"Policy": json.dumps({"Version": "2012-10-17"})}
    response = glacier_codec.serialize(glacier.operation_model("GetVaultAccessPolicy"), {"policy": policy})
    assert json.loads(response.body) == policy
    assert round_trip(glacier, "GetVaultAccessPolicy", response)["policy"] == policy


def test_describe_vault_not_found(glacier_codec, glacier):
    def answer(name, params):
        raise ServiceError("ResourceNotFoundException", f"Vault not found for ARN: {params['vaultName']}", 404)

    client, _ = local_client("glacier", glacier_codec, answer)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
        client.describe_vault(vaultName="missing")
    error = info.value.response
    assert error["Error"] == {"Code": "ResourceNotFoundException", "Message": "Vault not found for ARN: missing"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Glacier's error shape members, filled as Glacier does.
    assert (error["code"], error["message"], error["type"]) == (
        "ResourceNotFoundException", "Vault not found for ARN: missing", "Client")
    assert_error_conforms(glacier.operation_model("DescribeVault"), info.value)


def test_error_layout(glacier_codec):
    response = glacier_codec.serialize_error(ServiceError("ServiceUnavailableException", "busy", 500,
                                                          sender_fault=False))
    assert response.status == 500
    assert response.header("x-amzn-ErrorType") == "ServiceUnavailableException"
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == {"code": "ServiceUnavailableException", "message": "busy", "type": "Server"}


def test_unmodeled_error(glacier, glacier_codec):
    # No shape of its own: the members all of Glacier's error shapes share, and the extras as given.
    response = glacier_codec.serialize_error(ServiceError("AccessDeniedException", "no", 403, Reason="x"))
    assert json.loads(response.body) == {"code": "AccessDeniedException", "message": "no", "type": "Client",
                                         "Reason": "x"}
    parsed = botocore_response(glacier, "ListVaults", response, PROTOCOL)
    assert parsed["Error"] == {"Code": "AccessDeniedException", "Message": "no"}


def test_unmodeled_error_of_a_service_whose_shapes_share_only_the_message(dx_codec):
    # Data Exchange's shapes share ``Message`` alone: an unmodeled code gets no code or type member.
    response = dx_codec.serialize_error(ServiceError("UnknownOperationException", "no"))
    assert json.loads(response.body) == {"message": "no"}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_payload_body(glacier, glacier_codec, body):
    op = glacier.operation_model("InitiateJob")
    with pytest.raises(SerializationError):
        glacier_codec.parse(op, Request("POST", "/-/vaults/v/jobs", "/-/vaults/v/jobs", "", {}, body))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"null", b'{"Tags": ["a"]}', b'{"Tags": {"a": 1}}'])
def test_malformed_body(glacier, glacier_codec, body):
    op = glacier.operation_model("AddTagsToVault")
    request = Request("POST", "/-/vaults/v/tags", "/-/vaults/v/tags", "operation=add", {}, body)
    with pytest.raises(SerializationError):
        glacier_codec.parse(op, request)


def test_body_ignored_where_the_input_has_none(glacier, glacier_codec):
    op = glacier.operation_model("DescribeVault")
    request = Request("GET", "/-/vaults/v", "/-/vaults/v", "", {}, b"{garbage")
    assert glacier_codec.parse(op, request) == {"accountId": "-", "vaultName": "v"}


def test_plans_compile_once(glacier, glacier_codec):
    op = glacier.operation_model("ListJobs")
    request = botocore_request(glacier, "ListJobs", {"accountId": "-", "vaultName": "v", "limit": "5"}, PROTOCOL)
    glacier_codec.parse(op, request)
    plan = glacier_codec._request_plans["ListJobs"]
    glacier_codec.parse(op, request)
    assert glacier_codec._request_plans["ListJobs"] is plan
    glacier_codec.serialize(op, {"JobList": []})
    response_plan = glacier_codec._response_plans["ListJobs"]
    glacier_codec.serialize(op, {"JobList": []})
    assert glacier_codec._response_plans["ListJobs"] is response_plan


# --- data exchange -----------------------------------------------------------------------------------------


CREATE_JOB = {
    "Type": "IMPORT_ASSETS_FROM_S3",
    "Details": {"ImportAssetsFromS3": {
        "AssetSources": [{"Bucket": "b", "Key": "k1"}, {"Bucket": "b", "Key": "k2"}],
        "DataSetId": DATA_SET, "RevisionId": REVISION}},
    "AssetConfiguration": {"Tags": [{"Key": "team", "Value": "data"}]},
}


def test_create_job(dataexchange, dx_codec):
    request = botocore_request(dataexchange, "CreateJob", CREATE_JOB, PROTOCOL)
    assert parse_with(dx_codec, dataexchange, request) == CREATE_JOB

    created = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    out = {"Arn": f"arn:aws:dataexchange:us-east-1:123456789012:jobs/{JOB}", "Id": JOB, "State": "WAITING",
           "Type": "IMPORT_ASSETS_FROM_S3", "CreatedAt": created, "UpdatedAt": created,
           "Details": {"ImportAssetsFromS3": CREATE_JOB["Details"]["ImportAssetsFromS3"]}}
    response = dx_codec.serialize(dataexchange.operation_model("CreateJob"), out)
    assert response.status == 201
    body = json.loads(response.body)
    assert body["CreatedAt"] == "2024-05-06T07:08:09.123Z"   # the model says iso8601 for these
    parsed = round_trip(dataexchange, "CreateJob", response)
    assert parsed["CreatedAt"] == created and parsed["Details"] == out["Details"]


def test_create_job_validation(dataexchange, dx_codec):
    params = {"Type": "NOPE", "Details": {"ImportAssetsFromS3": {"AssetSources": [{"Bucket": "b"}],
                                                                  "DataSetId": "short", "RevisionId": REVISION}}}
    with pytest.raises(ValidationFailed) as info:
        parse_with(dx_codec, dataexchange, botocore_request(dataexchange, "CreateJob", params, PROTOCOL))
    found = {(v.path, v.kind) for v in info.value.violations}
    assert found == {("type", "enum"), ("details.importAssetsFromS3.dataSetId", "pattern"),
                     ("details.importAssetsFromS3.assetSources.1.member.key", "required")}


def test_missing_body_reports_required_members(dataexchange, dx_codec):
    op = dataexchange.operation_model("CreateJob")
    with pytest.raises(ValidationFailed) as info:
        dx_codec.parse(op, Request("POST", "/v1/jobs", "/v1/jobs", "", {}, b""))
    assert {(v.path, v.kind) for v in info.value.violations} == {("details", "required"), ("type", "required")}


def test_data_exchange_list_jobs_query(dataexchange, dx_codec):
    params = {"DataSetId": DATA_SET, "RevisionId": REVISION, "MaxResults": 25, "NextToken": "t/+=="}
    assert parse_with(dx_codec, dataexchange, botocore_request(dataexchange, "ListJobs", params, PROTOCOL)) == params


@pytest.mark.parametrize("query", ["maxResults=abc", "maxResults=1.5", "maxResults=", "maxResults=99999999999"])
def test_query_type_mismatch(dataexchange, dx_codec, query):
    op = dataexchange.operation_model("ListJobs")
    with pytest.raises(SerializationError):
        dx_codec.parse(op, Request("GET", "/v1/jobs", "/v1/jobs", query, {}))


def test_query_range_validated(dataexchange, dx_codec):
    with pytest.raises(ValidationFailed) as info:
        parse_with(dx_codec, dataexchange, botocore_request(dataexchange, "ListJobs", {"MaxResults": 500}, PROTOCOL))
    (v,) = info.value.violations
    assert (v.path, v.kind, v.value, v.limit) == ("maxResults", "max", 500, 200)


def test_repeated_query_list(dataexchange, dx_codec):
    params = {"AcceptanceState": ["PENDING_RECEIVER_ACCEPTANCE", "ACCEPTED"], "MaxResults": 5}
    request = botocore_request(dataexchange, "ListReceivedDataGrants", params, PROTOCOL)
    assert request.query_string.count("acceptanceState=") == 2
    assert parse_with(dx_codec, dataexchange, request) == params


def test_get_asset_labels(dataexchange, dx_codec):
    params = {"DataSetId": DATA_SET, "RevisionId": REVISION, "AssetId": ASSET}
    request = botocore_request(dataexchange, "GetAsset", params, PROTOCOL)
    assert request.raw_path == f"/v1/data-sets/{DATA_SET}/revisions/{REVISION}/assets/{ASSET}"
    assert parse_with(dx_codec, dataexchange, request) == params
    with pytest.raises(ValidationFailed) as info:
        parse_with(dx_codec, dataexchange,
                   botocore_request(dataexchange, "GetAsset", {**params, "AssetId": "x!"}, PROTOCOL))
    assert [(v.path, v.kind) for v in info.value.violations] == [("assetId", "pattern")]


def test_arn_label_and_located_body_member(dataexchange, dx_codec):
    arn = f"arn:aws:dataexchange:us-east-1:123456789012:data-sets/{DATA_SET}"
    request = botocore_request(dataexchange, "TagResource", {"ResourceArn": arn, "Tags": {"k": "v"}}, PROTOCOL)
    assert json.loads(request.body) == {"tags": {"k": "v"}}     # the body member goes by its locationName
    assert parse_with(dx_codec, dataexchange, request) == {"ResourceArn": arn, "Tags": {"k": "v"}}


def test_query_map_header_map_and_string_payload(dataexchange, dx_codec):
    params = {"AssetId": ASSET, "DataSetId": DATA_SET, "RevisionId": REVISION, "Method": "POST",
              "Path": "/orders", "QueryStringParameters": {"page": "2", "q": "a b"},
              "RequestHeaders": {"trace": "t1"}, "Body": '{"order": 1}'}
    request = botocore_request(dataexchange, "SendApiAsset", params, PROTOCOL)
    parsed = parse_with(dx_codec, dataexchange, request)
    # Header names arrive lower-cased: so do the keys of a header map.
    assert parsed == {**params, "RequestHeaders": {"trace": "t1"}}

    op = dataexchange.operation_model("SendApiAsset")
    response = dx_codec.serialize(op, {"Body": "plain text ✓", "ResponseHeaders": {"X-Custom": "c"}})
    assert response.body == "plain text ✓".encode()
    parsed = botocore_response(dataexchange, "SendApiAsset", response, PROTOCOL)
    assert parsed["Body"] == "plain text ✓" and parsed["ResponseHeaders"]["X-Custom"] == "c"


def test_presign_parameters_stay_out_of_query_maps(dataexchange, dx_codec):
    op = dataexchange.operation_model("SendApiAsset")
    headers = {"x-amzn-dataexchange-asset-id": ASSET, "x-amzn-dataexchange-data-set-id": DATA_SET,
               "x-amzn-dataexchange-revision-id": REVISION}
    query = "a=1&X-Amz-Signature=abc&X-Amz-Credential=k%2F20240101%2Fus-east-1%2Fdataexchange%2Faws4_request"
    parsed = dx_codec.parse(op, Request("POST", "/v1", "/v1", query, headers))
    assert parsed["QueryStringParameters"] == {"a": "1"}


@pytest.mark.parametrize("call, code, status, extra", [
    ("get_job", "ResourceNotFoundException", 404, {"ResourceId": JOB, "ResourceType": "JOB"}),
    ("start_job", "ConflictException", 409, {"ResourceId": JOB, "ResourceType": "JOB"}),
    ("create_data_set", "ServiceLimitExceededException", 402, {"LimitName": "Data sets", "LimitValue": 10.0}),
    ("get_job", "ValidationException", 400, {"ExceptionCause": "InvalidInput"}),
    ("start_job", "AccessDeniedException", 403, {}),
])
def test_data_exchange_errors(dataexchange, dx_codec, call, code, status, extra):
    def answer(name, params):
        raise ServiceError(code, "It went wrong", status, **extra)

    args = {"create_data_set": {"AssetType": "S3_SNAPSHOT", "Description": "d", "Name": "n"}}.get(call, {"JobId": JOB})
    client, _ = local_client("dataexchange", dx_codec, answer)
    with pytest.raises(ClientError) as info:
        getattr(client, call)(**args)
    response = info.value.response
    assert response["Error"] == {"Code": code, "Message": "It went wrong"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    # The error shape's own members, as botocore reads them into the response.
    assert {k: response.get(k) for k in ("Message", *extra)} == {"Message": "It went wrong", **extra}
    operation = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[call])
    assert_error_conforms(operation, info.value)


def test_data_exchange_round_trip(dx_codec, dataexchange):
    created = datetime(2024, 1, 1, tzinfo=UTC)

    def answer(name, params):
        assert name == "ListJobs" and params == {"DataSetId": DATA_SET, "MaxResults": 10}
        return {"Jobs": [{"Arn": "arn:aws:dataexchange:us-east-1:123456789012:jobs/" + JOB, "Id": JOB,
                          "State": "COMPLETED", "Type": "IMPORT_ASSETS_FROM_S3", "CreatedAt": created,
                          "UpdatedAt": created, "Details": {"ImportAssetsFromS3": CREATE_JOB["Details"][
                              "ImportAssetsFromS3"]}}], "NextToken": None}

    client, _ = local_client("dataexchange", dx_codec, answer)
    out = client.list_jobs(DataSetId=DATA_SET, MaxResults=10)
    assert out["Jobs"][0]["CreatedAt"] == created and "NextToken" not in out
    assert_conforms(dataexchange.operation_model("ListJobs"), out)


# --- text values in labels, query strings and headers (a small model exercising every binding) ----------


TEXT_MODEL = {
    "metadata": {"apiVersion": "2024-01-01", "endpointPrefix": "textual", "protocol": "rest-json",
                 "serviceId": "Textual", "signatureVersion": "v4", "uid": "textual-2024-01-01"},
    "operations": {
        "Put": {"name": "Put", "http": {"method": "PUT", "requestUri": "/things/{Key+}?flag", "responseCode": 200},
                "input": {"shape": "PutInput"}, "output": {"shape": "PutOutput"}},
        "PutPolicy": {"name": "PutPolicy", "http": {"method": "PUT", "requestUri": "/things/{Key+}/policy?flag"},
                      "input": {"shape": "PutInput"}},
    },
    "shapes": {
        "PutInput": {"type": "structure", "required": ["Key"], "members": {
            "Key": {"shape": "String", "location": "uri", "locationName": "Key"},
            "Since": {"shape": "Time", "location": "header", "locationName": "x-since"},
            "Until": {"shape": "Time", "location": "querystring", "locationName": "until"},
            "Epoch": {"shape": "EpochTime", "location": "header", "locationName": "x-epoch"},
            "Doc": {"shape": "JsonText", "location": "header", "locationName": "x-doc"},
            "Names": {"shape": "Names", "location": "header", "locationName": "x-names"},
            "Verbose": {"shape": "Bool", "location": "querystring", "locationName": "verbose"},
            "Ratio": {"shape": "Double", "location": "header", "locationName": "x-ratio"},
            "Meta": {"shape": "Meta", "location": "headers", "locationName": "x-meta-"},
            "Count": {"shape": "Count", "location": "header", "locationName": "x-count"},
            "When": {"shape": "Time"},
            "Data": {"shape": "Blob"},
        }},
        "PutOutput": {"type": "structure", "members": {
            "Modified": {"shape": "Time", "location": "header", "locationName": "Last-Modified"},
            "Doc": {"shape": "JsonText", "location": "header", "locationName": "x-doc"},
            "Names": {"shape": "Names", "location": "header", "locationName": "x-names"},
            "Verbose": {"shape": "Bool", "location": "header", "locationName": "x-verbose"},
            "Meta": {"shape": "Meta", "location": "headers", "locationName": "x-meta-"},
            "When": {"shape": "Time"},
            "Data": {"shape": "Blob"},
        }},
        "String": {"type": "string"},
        "Time": {"type": "timestamp"},
        "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
        "JsonText": {"type": "string", "jsonvalue": True},
        "Names": {"type": "list", "member": {"shape": "String"}},
        "Bool": {"type": "boolean"},
        "Double": {"type": "double"},
        "Count": {"type": "integer", "min": 1, "max": 10},
        "Meta": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
        "Blob": {"type": "blob"},
    },
}


@pytest.fixture(scope="module")
def textual():
    return ServiceModel(TEXT_MODEL, service_name="textual")


@pytest.fixture(scope="module")
def text_codec(textual):
    return build_codec(textual, PROTOCOL)


def test_every_text_binding(textual, text_codec):
    when = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    params = {"Key": "dir/sub dir/file.txt", "Since": when, "Until": when, "Epoch": when,
              "Doc": {"a": [1, 2], "b": None}, "Names": ["plain", "with, comma", 'with "quote"'],
              "Verbose": True, "Ratio": 0.25, "Meta": {"color": "red"}, "Count": 3, "When": when,
              "Data": b"\x00\x01"}
    request = botocore_request(textual, "Put", params, PROTOCOL)
    assert request.raw_path == "/things/dir/sub%20dir/file.txt" and "flag" in request.query_string
    assert parse_with(text_codec, textual, request) == params


def test_greedy_label_prefers_more_literal_route(textual, text_codec):
    request = botocore_request(textual, "PutPolicy", {"Key": "a/b"}, PROTOCOL)
    assert request.raw_path == "/things/a/b/policy"
    assert text_codec.operation_for(request) == "PutPolicy"
    assert text_codec.parse(textual.operation_model("PutPolicy"), request) == {"Key": "a/b"}
    assert text_codec.operation_for(botocore_request(textual, "Put", {"Key": "a/b/policy/x"}, PROTOCOL)) == "Put"
    # The key-only static query ('?flag') has to be there.
    assert text_codec.operation_for(Request("PUT", "/things/a", "/things/a", "", {})) is None


@pytest.mark.parametrize("headers, query", [
    ({"x-count": "many"}, ""),
    ({"x-ratio": "half"}, ""),
    ({"x-since": "yesterday"}, ""),
    ({"x-doc": "not base64!"}, ""),
    ({"x-doc": base64.b64encode(b"{broken").decode()}, ""),
    ({}, "flag&verbose=yes"),
    ({}, "flag&until=soon"),
])
def test_text_type_mismatch(textual, text_codec, headers, query):
    request = Request("PUT", "/things/k", "/things/k", query or "flag", headers)
    with pytest.raises(SerializationError):
        text_codec.parse(textual.operation_model("Put"), request)


def test_header_range_validated(textual, text_codec):
    request = Request("PUT", "/things/k", "/things/k", "flag", {"x-count": "11"})
    with pytest.raises(ValidationFailed) as info:
        text_codec.parse(textual.operation_model("Put"), request)
    assert [(v.path, v.kind) for v in info.value.violations] == [("count", "max")]


def test_text_outputs(textual, text_codec):
    when = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    out = {"Modified": when, "Doc": {"x": [1, "y"]}, "Names": ["a", "b,c"], "Verbose": False,
           "Meta": {"color": "red"}, "When": when, "Data": b"\x00\xff"}
    response = text_codec.serialize(textual.operation_model("Put"), out)
    assert response.header("Last-Modified") == "Sat, 03 Feb 2024 04:05:06 GMT"
    assert response.header("x-verbose") == "false" and response.header("x-meta-color") == "red"
    assert json.loads(response.body) == {"When": 1706933106, "Data": "AP8="}
    parsed = botocore_response(textual, "Put", response, PROTOCOL)
    assert parsed["Modified"] == when and parsed["Doc"] == {"x": [1, "y"]} and parsed["Verbose"] is False
    assert parsed["Meta"] == {"color": "red"} and parsed["When"] == when and parsed["Data"] == b"\x00\xff"
    assert parsed["Names"][0] == "a"


@pytest.mark.parametrize("text, expected", [
    ("a,b , c", ["a", "b", "c"]),
    ('"x, y",z', ["x, y", "z"]),
    ('"say \\"hi\\"", b', ['say "hi"', "b"]),
    ("single", ["single"]),
])
def test_split_header_list(text, expected):
    assert split_header_list(text) == expected
