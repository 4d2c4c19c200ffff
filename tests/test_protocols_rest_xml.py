"""REST-XML codec against the real s3control model, with requests written and responses read by botocore."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel

from conformance import assert_error_conforms, check_wire
from jobyard.errors import SerializationError, ServiceError, ValidationFailed
from jobyard.protocols import build_codec
from jobyard.protocols.rest_xml import RestXmlCodec
from jobyard.wire import Request
from support import botocore_request, botocore_response, local_client, parse_with

UTC = timezone.utc
PROTOCOL = "rest-xml"
ACCOUNT = "123456789012"
JOB_ID = "0c7a3ec8-4b36-4c5c-9a6b-4b1e7d2f1a11"
NAMESPACE = "http://awss3control.amazonaws.com/doc/2018-08-20/"

CREATE_JOB = {
    "AccountId": ACCOUNT,
    "ConfirmationRequired": True,
    "Operation": {"S3PutObjectTagging": {"TagSet": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": ""}]}},
    "Report": {"Bucket": "arn:aws:s3:::reports", "Format": "Report_CSV_20180820", "Enabled": True,
               "Prefix": "r", "ReportScope": "AllTasks"},
    "ClientRequestToken": "token-1",
    "Manifest": {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
                 "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": "etag-1"}},
    "Description": "tag <everything> & more",
    "Priority": 10,
    "RoleArn": "arn:aws:iam::123456789012:role/batch",
    "Tags": [{"Key": "team", "Value": "data"}],
}


@pytest.fixture(scope="module")
def s3control():
    return botocore.session.get_session().get_service_model("s3control")


@pytest.fixture(scope="module")
def codec(s3control):
    return build_codec(s3control, PROTOCOL)


def request(s3control, operation, params):
    return botocore_request(s3control, operation, params, PROTOCOL)


def read_back(s3control, operation, response):
    return botocore_response(s3control, operation, response, PROTOCOL)


def job_descriptor(**overrides):
    job = {"JobId": JOB_ID, "Description": "d", "Operation": "S3PutObjectTagging", "Priority": 10,
           "Status": "Active", "CreationTime": datetime(2024, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
           "ProgressSummary": {"TotalNumberOfTasks": 3, "NumberOfTasksSucceeded": 1, "NumberOfTasksFailed": 0,
                               "Timers": {"ElapsedTimeInActiveSeconds": 12}}}
    job.update(overrides)
    return job


# --- routing ---------------------------------------------------------------------------------------------


def test_registered_under_rest_xml(s3control):
    assert isinstance(build_codec(s3control, "rest-xml"), RestXmlCodec)


def test_operation_for_every_botocore_request(s3control, codec):
    for name in s3control.operation_names:
        shape = s3control.operation_model(name).input_shape
        params = {m: "label-1/x" for m, s in shape.members.items() if s.serialization.get("location") == "uri"}
        if "AccountId" in shape.members:
            params["AccountId"] = ACCOUNT    # the host prefix needs it
        assert codec.operation_for(request(s3control, name, params)) == name


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/v20180820/jobs", "ListJobs"),
    ("GET", "/v20180820/jobs/", "ListJobs"),
    ("POST", "/v20180820/jobs", "CreateJob"),
    ("GET", f"/v20180820/jobs/{JOB_ID}", "DescribeJob"),
    ("GET", f"/v20180820/jobs/{JOB_ID}/tagging", "GetJobTagging"),
    ("PUT", f"/v20180820/jobs/{JOB_ID}/tagging", "PutJobTagging"),
    ("POST", f"/v20180820/jobs/{JOB_ID}/priority", "UpdateJobPriority"),
    ("GET", "/v20180820/mrap/instances/a/b", "GetMultiRegionAccessPoint"),
    ("GET", "/v20180820/mrap/instances/a/b/policy", "GetMultiRegionAccessPointPolicy"),
    ("GET", "/v20180820/tags/arn:aws:s3:us-east-1:123456789012:job/x", "ListTagsForResource"),
    ("GET", "/v20180820/nothing", None),
    ("DELETE", "/v20180820/jobs", None),
])
def test_operation_for(codec, method, path, expected):
    assert codec.operation_for(Request(method, path, path, "", {})) == expected


# --- parsing -----------------------------------------------------------------------------------------------


def test_create_job(s3control, codec):
    wire = request(s3control, "CreateJob", CREATE_JOB)
    assert wire.headers["x-amz-account-id"] == ACCOUNT and wire.body.startswith(b"<CreateJobRequest")
    assert parse_with(codec, s3control, wire) == CREATE_JOB


def test_create_job_union_and_namespace_free_body(s3control, codec):
    params = {"AccountId": ACCOUNT, "Operation": {"S3DeleteObjectTagging": {}}, "Report": {"Enabled": False},
              "ClientRequestToken": "t", "Priority": 0, "RoleArn": "arn:aws:iam::123456789012:role/r",
              "ManifestGenerator": {"S3JobManifestGenerator": {
                  "SourceBucket": "arn:aws:s3:::src", "EnableManifestOutput": False,
                  "Filter": {"CreatedAfter": datetime(2024, 1, 1, tzinfo=UTC), "ObjectSizeGreaterThanBytes": 10,
                             "MatchAnyStorageClass": ["STANDARD", "GLACIER"]}}}}
    assert parse_with(codec, s3control, request(s3control, "CreateJob", params)) == params
    # Clients that leave the namespace off are understood too.
    body = (b"<CreateJobRequest><ClientRequestToken>t</ClientRequestToken><Priority> 7 </Priority>"
            b"<Unknown><Deep/></Unknown></CreateJobRequest>")
    with pytest.raises(ValidationFailed) as info:
        codec.parse(s3control.operation_model("CreateJob"),
                    Request("POST", "/v20180820/jobs", "/v20180820/jobs", "", {"x-amz-account-id": ACCOUNT}, body))
    assert {v.path for v in info.value.violations} == {"operation", "report", "roleArn"}


def test_list_jobs_query(s3control, codec):
    params = {"AccountId": ACCOUNT, "JobStatuses": ["Active", "Complete"], "MaxResults": 50, "NextToken": "abc="}
    wire = request(s3control, "ListJobs", params)
    assert wire.query_string.count("jobStatuses=") == 2
    assert parse_with(codec, s3control, wire) == params


def test_update_job_priority(s3control, codec):
    params = {"AccountId": ACCOUNT, "JobId": JOB_ID, "Priority": 42}
    assert parse_with(codec, s3control, request(s3control, "UpdateJobPriority", params)) == params
    response = codec.serialize(s3control.operation_model("UpdateJobPriority"), {"JobId": JOB_ID, "Priority": 42})
    assert read_back(s3control, "UpdateJobPriority", response)["Priority"] == 42


def test_put_job_tagging(s3control, codec):
    params = {"AccountId": ACCOUNT, "JobId": JOB_ID, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]}
    assert parse_with(codec, s3control, request(s3control, "PutJobTagging", params)) == params
    empty = {"AccountId": ACCOUNT, "JobId": JOB_ID, "Tags": []}
    assert parse_with(codec, s3control, request(s3control, "PutJobTagging", empty)) == empty
    response = codec.serialize(s3control.operation_model("PutJobTagging"), {})
    assert (response.status, response.body) == (200, b"")


def test_payload_structure_input(s3control, codec):
    config = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
              "RestrictPublicBuckets": False}
    params = {"AccountId": ACCOUNT, "PublicAccessBlockConfiguration": config}
    wire = request(s3control, "PutPublicAccessBlock", params)
    assert wire.body.startswith(b"<PublicAccessBlockConfiguration")
    assert parse_with(codec, s3control, wire) == params


@pytest.mark.parametrize("body", [
    b"<CreateJobRequest><Priority>1</Priority>",
    b"not xml at all",
    b"<CreateJobRequest><Priority>high</Priority></CreateJobRequest>",
    b"<CreateJobRequest><ConfirmationRequired>maybe</ConfirmationRequired></CreateJobRequest>",
    b'<!DOCTYPE x [<!ENTITY a "aaaa">]><CreateJobRequest><Description>&a;</Description></CreateJobRequest>',
    b"<CreateJobRequest><Tags><member><Key>k</Key></member></Tags><Tags>",
])
def test_malformed_xml(s3control, codec, body):
    wire = Request("POST", "/v20180820/jobs", "/v20180820/jobs", "", {"x-amz-account-id": ACCOUNT}, body)
    with pytest.raises(SerializationError):
        codec.parse(s3control.operation_model("CreateJob"), wire)


def test_query_validation(s3control, codec):
    with pytest.raises(ValidationFailed) as info:
        parse_with(codec, s3control, request(s3control, "ListJobs", {"AccountId": ACCOUNT, "MaxResults": 5000}))
    assert [(v.path, v.kind, v.limit) for v in info.value.violations] == [("maxResults", "max", 1000)]
    with pytest.raises(SerializationError):
        codec.parse(s3control.operation_model("ListJobs"),
                    Request("GET", "/v20180820/jobs", "/v20180820/jobs", "maxResults=ten",
                            {"x-amz-account-id": ACCOUNT}))


def test_header_and_label_validation(s3control, codec):
    with pytest.raises(ValidationFailed) as info:
        parse_with(codec, s3control, request(s3control, "DescribeJob", {"AccountId": "12345", "JobId": "abc"}))
    assert {(v.path, v.kind) for v in info.value.violations} == {("accountId", "pattern"), ("jobId", "min_length")}
    wire = Request("GET", f"/v20180820/jobs/{JOB_ID}", f"/v20180820/jobs/{JOB_ID}", "", {})
    with pytest.raises(ValidationFailed) as info:
        codec.parse(s3control.operation_model("DescribeJob"), wire)
    assert [(v.path, v.kind) for v in info.value.violations] == [("accountId", "required")]


# --- output ------------------------------------------------------------------------------------------------


def test_list_jobs_output(s3control, codec):
    out = {"Jobs": [job_descriptor(), job_descriptor(JobId="job-2", Status="Complete",
                                                    TerminationDate=datetime(2024, 3, 5, tzinfo=UTC))],
           "NextToken": "next="}
    response = codec.serialize(s3control.operation_model("ListJobs"), out)
    assert response.status == 200 and response.header("content-type") == "application/xml"
    root = ElementTree.fromstring(response.body)
    assert root.tag == f"{{{NAMESPACE}}}ListJobsResult"
    assert len(root.findall(f"{{{NAMESPACE}}}Jobs/{{{NAMESPACE}}}member")) == 2
    assert check_wire(s3control.operation_model("ListJobs"), response.body) == []
    parsed = read_back(s3control, "ListJobs", response)
    assert parsed["Jobs"] == out["Jobs"] and parsed["NextToken"] == "next="


def test_describe_job_output(s3control, codec):
    job = {**job_descriptor(), "ConfirmationRequired": False, "JobArn": f"arn:aws:s3:us-east-1:{ACCOUNT}:job/{JOB_ID}",
           "Manifest": CREATE_JOB["Manifest"], "Operation": CREATE_JOB["Operation"], "Report": CREATE_JOB["Report"],
           "FailureReasons": [{"FailureCode": "X", "FailureReason": "a < b & c"}],
           "RoleArn": CREATE_JOB["RoleArn"], "SuspendedDate": datetime(2024, 3, 4, 6, 0, tzinfo=UTC),
           "StatusUpdateReason": None}
    response = codec.serialize(s3control.operation_model("DescribeJob"), {"Job": job})
    assert b"<CreationTime>2024-03-04T05:06:07.890Z</CreationTime>" in response.body
    assert b"a &lt; b &amp; c" in response.body and b"StatusUpdateReason" not in response.body
    assert check_wire(s3control.operation_model("DescribeJob"), response.body) == []
    parsed = read_back(s3control, "DescribeJob", response)["Job"]
    assert parsed == {k: v for k, v in job.items() if v is not None}


def test_flattened_list_output(s3control, codec):
    entries = [{"Id": "c1", "StorageLensArn": f"arn:aws:s3:us-east-1:{ACCOUNT}:storage-lens/c1",
                "HomeRegion": "us-east-1", "IsEnabled": True},
               {"Id": "c2", "StorageLensArn": f"arn:aws:s3:us-east-1:{ACCOUNT}:storage-lens/c2",
                "HomeRegion": "us-west-2", "IsEnabled": False}]
    op = s3control.operation_model("ListStorageLensConfigurations")
    response = codec.serialize(op, {"StorageLensConfigurationList": entries})
    root = ElementTree.fromstring(response.body)
    assert [child.tag.rpartition("}")[2] for child in root] == ["StorageLensConfiguration"] * 2
    assert check_wire(op, response.body) == []
    assert read_back(s3control, "ListStorageLensConfigurations", response)["StorageLensConfigurationList"] == entries


def test_payload_structure_output(s3control, codec):
    config = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
              "RestrictPublicBuckets": False}
    response = codec.serialize(s3control.operation_model("GetPublicAccessBlock"),
                               {"PublicAccessBlockConfiguration": config})
    assert ElementTree.fromstring(response.body).tag == f"{{{NAMESPACE}}}PublicAccessBlockConfiguration"
    assert read_back(s3control, "GetPublicAccessBlock", response)["PublicAccessBlockConfiguration"] == config


def test_request_id_headers(s3control, codec):
    response = codec.serialize(s3control.operation_model("PutJobTagging"), {})
    request_id = response.header("x-amz-request-id")
    assert request_id and response.header("x-amzn-RequestId") == request_id and response.header("x-amz-id-2")
    assert read_back(s3control, "PutJobTagging", response)["ResponseMetadata"]["RequestId"] == request_id


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, status", [("NotFoundException", 404), ("BadRequestException", 400),
                                          ("TooManyRequestsException", 400)])
def test_errors_with_a_real_client(s3control, codec, code, status):
    def answer(name, params):
        assert params["AccountId"] == ACCOUNT
        raise ServiceError(code, f"Job {params['JobId']} <missing> & gone", status)

    client, _ = local_client("s3control", codec, answer)
    with pytest.raises(ClientError) as info:
        client.describe_job(AccountId=ACCOUNT, JobId=JOB_ID)
    response = info.value.response
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == f"Job {JOB_ID} <missing> & gone"
    assert response["Message"] == response["Error"]["Message"]     # the modeled member, read from <Error>
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["RequestId"]
    assert_error_conforms(s3control.operation_model("DescribeJob"), info.value)


def test_error_layout(s3control, codec):
    response = codec.serialize_error(ServiceError("InvalidRequest", "bad", 400, ArgumentName="priority"))
    root = ElementTree.fromstring(response.body)
    assert response.header("content-type") == "application/xml" and root.tag == "Error"
    assert [child.tag for child in root] == ["Code", "Message", "ArgumentName", "RequestId", "HostId"]
    assert root.findtext("RequestId") == response.header("x-amz-request-id")
    assert root.findtext("HostId") == response.header("x-amz-id-2")
    parsed = read_back(s3control, "ListJobs", response)
    assert parsed["Error"] == {"Code": "InvalidRequest", "Message": "bad", "ArgumentName": "priority"}


def test_create_job_with_a_real_client(s3control, codec):
    def answer(name, params):
        assert name == "CreateJob"
        assert params["Manifest"] == CREATE_JOB["Manifest"] and params["Tags"] == CREATE_JOB["Tags"]
        return {"JobId": JOB_ID}

    client, calls = local_client("s3control", codec, answer)
    args = {k: v for k, v in CREATE_JOB.items() if k != "ClientRequestToken"}
    out = client.create_job(**args)
    assert out["JobId"] == JOB_ID
    (_, params, wire), = calls
    # botocore fills in the idempotency token and names the account in the header.
    assert params["ClientRequestToken"] and params["AccountId"] == ACCOUNT
    assert wire.host.startswith(f"{ACCOUNT}.")


def test_list_jobs_with_a_real_client(s3control, codec):
    def answer(name, params):
        assert params == {"AccountId": ACCOUNT, "JobStatuses": ["Active", "New"], "MaxResults": 2}
        return {"Jobs": [job_descriptor()], "NextToken": "n1"}

    client, _ = local_client("s3control", codec, answer)
    out = client.list_jobs(AccountId=ACCOUNT, JobStatuses=["Active", "New"], MaxResults=2)
    assert out["Jobs"] == [job_descriptor()] and out["NextToken"] == "n1"


# --- XML features S3 Control does not use: attributes, maps, flattened lists with named items ------------


XML_MODEL = {
    "metadata": {"apiVersion": "2024-01-01", "endpointPrefix": "xmlish", "protocol": "rest-xml",
                 "serviceId": "Xmlish", "signatureVersion": "v4", "uid": "xmlish-2024-01-01"},
    "operations": {
        "Put": {"name": "Put", "http": {"method": "PUT", "requestUri": "/items/{Id}"},
                "input": {"shape": "PutRequest", "locationName": "PutRequest",
                          "xmlNamespace": {"uri": "urn:xmlish"}},
                "output": {"shape": "PutResult"}},
    },
    "shapes": {
        "PutRequest": {"type": "structure", "required": ["Id"], "members": {
            "Id": {"shape": "String", "location": "uri", "locationName": "Id"},
            "Item": {"shape": "Item"},
        }},
        "PutResult": {"type": "structure", "members": {
            "Item": {"shape": "Item"},
            "Version": {"shape": "String", "location": "header", "locationName": "x-version"},
        }},
        "Item": {"type": "structure", "members": {
            "Kind": {"shape": "String", "xmlAttribute": True, "locationName": "kind"},
            "Labels": {"shape": "Labels"},
            "Notes": {"shape": "Notes", "flattened": True, "locationName": "Note"},
            "Counts": {"shape": "Counts"},
            "Data": {"shape": "Blob"},
            "Ratio": {"shape": "Double"},
            "Children": {"shape": "Items"},
        }},
        "Items": {"type": "list", "member": {"shape": "Item", "locationName": "Child"}},
        "Labels": {"type": "map", "key": {"shape": "String", "locationName": "Name"},
                   "value": {"shape": "String", "locationName": "Text"}},
        "Notes": {"type": "list", "member": {"shape": "String"}},
        "Counts": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Long"}},
        "String": {"type": "string"},
        "Long": {"type": "long"},
        "Double": {"type": "double"},
        "Blob": {"type": "blob"},
    },
}


@pytest.fixture(scope="module")
def xmlish():
    return ServiceModel(XML_MODEL, service_name="xmlish")


def test_attributes_maps_and_flattened_lists(xmlish):
    codec = build_codec(xmlish, PROTOCOL)
    item = {"Kind": "box", "Labels": {"a": "1", "b": "2"}, "Notes": ["n1", "n2"], "Counts": {"x": 2 ** 40},
            "Data": b"\x00\xfe", "Ratio": 0.5,
            "Children": [{"Kind": "inner", "Notes": ["only"]}, {"Labels": {"c": "3"}}]}
    params = {"Id": "i-1", "Item": item}
    assert parse_with(codec, xmlish, request(xmlish, "Put", params)) == params

    response = codec.serialize(xmlish.operation_model("Put"), {"Item": item, "Version": "v7"})
    root = ElementTree.fromstring(response.body)
    assert root.tag == "{urn:xmlish}PutResult"     # the service's namespace, from its input shapes
    ns = {"x": "urn:xmlish"}
    assert root.find("x:Item", ns).get("kind") == "box" and len(root.findall("x:Item/x:Note", ns)) == 2
    parsed = read_back(xmlish, "Put", response)
    assert parsed["Item"] == item and parsed["Version"] == "v7"


def test_characters_xml_cannot_carry(s3control, codec):
    # A NUL can reach a service through a query string; the answer must still be readable XML.
    response = codec.serialize_error(ServiceError("InvalidRequest", "bad value 'a\x00b'\r\n", 400))
    assert read_back(s3control, "ListJobs", response)["Error"]["Message"] == "bad value 'a\ufffdb'\r\n"


# --- routing S3 from its model alone -----------------------------------------------------------------------

# Operations that share a URI, method and requirements with another: the rank gives the request to the first.
_S3_SAME_ROUTE_AS = {"ListDirectoryBuckets": "ListBuckets", "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
                     "GetBucketNotification": "GetBucketNotificationConfiguration",
                     "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
                     "PutBucketNotification": "PutBucketNotificationConfiguration"}


def _required_params(model, name: str) -> dict:
    """Every required member of an operation's input with a plausible value, as a client must send them."""
    shape = model.operation_model(name).input_shape
    params = {}
    for member in (shape.required_members if shape is not None else ()):
        kind = shape.members[member].type_name
        params[member] = {"integer": 1, "long": 1, "boolean": True, "blob": b"x", "timestamp": datetime(2024, 1, 1),
                          "structure": {}, "list": [], "map": {}}.get(kind, "key-1")
    return params


@pytest.fixture(scope="module")
def s3_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("s3")


def test_every_s3_operation_routes_to_itself_from_what_botocore_sends(s3_model):
    """S3's operations that share ``PUT /{Bucket}/{Key+}`` and the like are told apart by the query parameters
    and headers their input requires, without a word from the service."""
    codec = build_codec(s3_model, PROTOCOL)
    for name in s3_model.operation_names:
        sent = botocore_request(s3_model, name, _required_params(s3_model, name), PROTOCOL)
        assert codec.operation_for(sent) == _S3_SAME_ROUTE_AS.get(name, name), name


@pytest.mark.parametrize("method, query, headers, expected", [
    ("PUT", "", {}, "PutObject"),
    ("PUT", "", {"x-amz-copy-source": "b/k"}, "CopyObject"),
    ("PUT", "partNumber=1&uploadId=u", {}, "UploadPart"),
    ("PUT", "partNumber=1&uploadId=u", {"x-amz-copy-source": "b/k"}, "UploadPartCopy"),
    ("PUT", "partNumber=1", {}, "PutObject"),        # UploadPart lacks its uploadId: not an upload's part
    ("GET", "", {}, "GetObject"),
    ("GET", "uploadId=u", {}, "ListParts"),
    ("GET", "partNumber=2", {}, "GetObject"),
    ("DELETE", "", {}, "DeleteObject"),
    ("DELETE", "uploadId=u", {}, "AbortMultipartUpload"),
    ("POST", "uploadId=u", {}, "CompleteMultipartUpload"),
    ("POST", "", {}, "CompleteMultipartUpload"),      # none satisfied: the route's own, to answer what is missing
    ("POST", "uploads", {}, "CreateMultipartUpload"),
    ("GET", "x-id=GetObject", {}, "GetObject"),       # the JavaScript SDK names the operation
    ("PUT", "x-id=CopyObject", {"x-amz-copy-source": "b/k"}, "CopyObject"),
    ("PUT", "x-id=ListBuckets", {}, "PutObject"),     # a name whose route does not match is not taken
])
def test_s3_object_routes(s3_model, method, query, headers, expected):
    codec = build_codec(s3_model, PROTOCOL)
    assert codec.operation_for(Request(method, "/b/k", "/b/k", query, headers)) == expected


def test_digest_checks_follow_the_models_http_checksum_trait(s3_model):
    """x-amz-checksum-* headers are checked against the body only where the model's httpChecksum trait says
    they describe it; CompleteMultipartUpload's describe the object it makes and pass to the operation."""
    from jobyard.protocols import payload

    policy = {name: payload.checksum_policy(s3_model.operation_model(name))
              for name in ("PutObject", "UploadPart", "DeleteObjects", "CompleteMultipartUpload", "GetObject")}
    assert policy == {"PutObject": payload.CHECKSUMS_CHECKED, "UploadPart": payload.CHECKSUMS_CHECKED,
                      "DeleteObjects": payload.CHECKSUMS_REQUIRED,
                      "CompleteMultipartUpload": payload.CHECKSUMS_IGNORED, "GetObject": payload.CHECKSUMS_IGNORED}
    codec = build_codec(s3_model, PROTOCOL)
    wrong = {"x-amz-checksum-crc32": "AAAAAA=="}
    body = (b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"e"</ETag>'
            b"<PartNumber>1</PartNumber></Part></CompleteMultipartUpload>")
    complete = codec.parse(s3_model.operation_model("CompleteMultipartUpload"),
                           Request("POST", "/b/k", "/b/k", "uploadId=u", dict(wrong), body))
    assert complete["ChecksumCRC32"] == "AAAAAA=="
    with pytest.raises(ServiceError) as put:
        codec.parse(s3_model.operation_model("PutObject"), Request("PUT", "/b/k", "/b/k", "", dict(wrong), b"data"))
    assert put.value.code == "BadDigest"
    with pytest.raises(ServiceError) as delete:
        codec.parse(s3_model.operation_model("DeleteObjects"), Request("POST", "/b", "/b", "delete", {}, b"<Delete/>"))
    assert delete.value.code == "InvalidRequest"
