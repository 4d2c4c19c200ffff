"""The AWS Query codec against real query models (STS, SNS, SimpleDB) and a synthetic one, with requests written
and responses read by botocore."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel

from conformance import assert_error_conforms, check_wire
from jobyard.errors import SerializationError, ServiceError, ValidationFailed
from jobyard.protocols import build_codec
from jobyard.protocols.query import QueryCodec
from jobyard.wire import Request
from support import botocore_request, botocore_response, local_client, parse_with

UTC = timezone.utc
PROTOCOL = "query"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
ROLE = "arn:aws:iam::123456789012:role/demo"
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def _model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


@pytest.fixture(scope="module")
def sts():
    return _model("sts")


@pytest.fixture(scope="module")
def sns():
    return _model("sns")


@pytest.fixture(scope="module")
def sdb():
    return _model("sdb")


def codec_of(model):
    return build_codec(model, PROTOCOL)


def request(model, operation, params):
    return botocore_request(model, operation, params, PROTOCOL)


def read_back(model, operation, response):
    return botocore_response(model, operation, response, PROTOCOL)


def form(body: str, method: str = "POST", query: str = "", headers=FORM) -> Request:
    return Request(method, "/", "/", query, dict(headers), body.encode())


# --- routing ---------------------------------------------------------------------------------------------


def test_registered_under_query(sts):
    assert isinstance(codec_of(sts), QueryCodec)


def _required(model, name):
    shape = model.operation_model(name).input_shape
    values = {"string": "x" * 20, "integer": 900, "long": 1, "boolean": True, "blob": b"x", "list": [],
              "structure": {}, "map": {}}
    return {m: values[shape.members[m].type_name] for m in shape.required_members} if shape else {}


def test_operation_for_every_botocore_request(sts, sns):
    for model in (sts, sns):
        codec = codec_of(model)
        for name in model.operation_names:
            assert codec.operation_for(request(model, name, _required(model, name))) == name


def test_operation_from_a_query_string(sts):
    # Presigned GetCallerIdentity URLs (EKS tokens, Vault) carry everything in the query string of a GET.
    query = ("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=abc")
    wire = Request("GET", "/", "/", query, {})
    assert codec_of(sts).operation_for(wire) == "GetCallerIdentity"
    assert codec_of(sts).parse(sts.operation_model("GetCallerIdentity"), wire) == {}


@pytest.mark.parametrize("body, what, version", [
    ("Version=2011-06-15", None, "2011-06-15"),
    ("Action=&Version=2011-06-15", None, "2011-06-15"),
    ("Action=GetCallerIdentity", "GetCallerIdentity", ""),
    ("Action=GetCallerIdentity&Version=2099-01-01", "GetCallerIdentity", "2099-01-01"),
    ("Action=Nope&Version=2011-06-15", "Nope", "2011-06-15"),
    ("Action=get_caller_identity&Version=2011-06-15", "get_caller_identity", "2011-06-15"),
])
def test_what_an_unknown_request_asked_for(sts, body, what, version):
    codec = codec_of(sts)
    wire = form(body)
    assert codec.operation_for(wire) is None
    failure = codec.unknown_operation(wire)
    assert (failure.what, failure.version, failure.wrong_method) == (what, version, False)


def test_a_body_of_another_type_is_not_read(sts):
    wire = form("Action=GetCallerIdentity&Version=2011-06-15", headers={"content-type": "application/json"})
    assert codec_of(sts).operation_for(wire) is None


# --- parsing ---------------------------------------------------------------------------------------------


ASSUME_ROLE = {
    "RoleArn": ROLE, "RoleSessionName": "session-1", "DurationSeconds": 3600,
    "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, {"arn": "arn:aws:iam::aws:policy/Other1"}],
    "Tags": [{"Key": "team", "Value": "data & more"}, {"Key": "empty", "Value": ""}],
    "TransitiveTagKeys": ["team"], "Policy": '{"Version": "2012-10-17"}',
    "ProvidedContexts": [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter",
                          "ContextAssertion": "assertion"}],
}


def test_lists_of_structures(sts):
    wire = request(sts, "AssumeRole", ASSUME_ROLE)
    assert b"Tags.member.2.Value=&" in wire.body and b"PolicyArns.member.1.arn=" in wire.body
    assert parse_with(codec_of(sts), sts, wire) == ASSUME_ROLE


def test_empty_lists(sts):
    params = {"RoleArn": ROLE, "RoleSessionName": "s1", "Tags": [], "PolicyArns": []}
    wire = request(sts, "AssumeRole", params)
    assert b"Tags=&" in wire.body
    assert parse_with(codec_of(sts), sts, wire) == params


def test_list_items_in_index_order(sts):
    body = ("Action=AssumeRole&Version=2011-06-15&RoleArn=" + quote(ROLE, safe="") + "&RoleSessionName=s1"
            "&TransitiveTagKeys.member.10=ten&TransitiveTagKeys.member.2=two&TransitiveTagKeys.member.1=one")
    params = codec_of(sts).parse(sts.operation_model("AssumeRole"), form(body))
    assert params["TransitiveTagKeys"] == ["one", "two", "ten"]


def test_maps_with_named_keys_and_values(sns):
    params = {"Message": "hello", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
              "MessageAttributes": {"color": {"DataType": "String", "StringValue": "blue"},
                                    "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}}
    wire = request(sns, "Publish", params)
    assert b"MessageAttributes.entry.1.Name=color" in wire.body
    assert parse_with(codec_of(sns), sns, wire) == params


def test_maps_of_strings_and_lists(sns):
    params = {"Name": "topic", "Attributes": {"DisplayName": "Topic", "Policy": "{}"},
              "Tags": [{"Key": "k", "Value": "v"}]}
    wire = request(sns, "CreateTopic", params)
    assert b"Attributes.entry.2.key=Policy" in wire.body
    assert parse_with(codec_of(sns), sns, wire) == params


def test_flattened_lists(sdb):
    params = {"DomainName": "d", "ItemName": "i", "Expected": {"Name": "n", "Exists": False},
              "Attributes": [{"Name": "a", "Value": "1", "Replace": True}, {"Name": "b", "Value": "2"}]}
    wire = request(sdb, "PutAttributes", params)
    assert b"Attribute.2.Name=b" in wire.body and b"Expected.Exists=false" in wire.body
    assert parse_with(codec_of(sdb), sdb, wire) == params


def test_flattened_lists_nested_with_renamed_members(sdb):
    params = {"DomainName": "d", "Items": [
        {"Name": "i1", "Attributes": [{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2", "Replace": False}]},
        {"Name": "i2", "Attributes": [{"Name": "c", "Value": "3"}]}]}
    wire = request(sdb, "BatchPutAttributes", params)
    assert b"Item.1.ItemName=i1" in wire.body and b"Item.1.Attribute.2.Replace=false" in wire.body
    assert parse_with(codec_of(sdb), sdb, wire) == params


QUERYISH = {
    "metadata": {"apiVersion": "2024-01-01", "endpointPrefix": "queryish", "protocol": "query",
                 "serviceId": "Queryish", "signatureVersion": "v4", "uid": "queryish-2024-01-01",
                 "xmlNamespace": "urn:queryish"},
    "operations": {
        "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "PutInput"}, "output": {"shape": "PutOutput", "resultWrapper": "PutResult"}},
        "Ping": {"name": "Ping", "http": {"method": "POST", "requestUri": "/"}},
    },
    "shapes": {
        "PutInput": {"type": "structure", "required": ["Id"], "members": {
            "Id": {"shape": "Id"},
            "Item": {"shape": "Item", "locationName": "Thing"},
            "Lookup": {"shape": "Lookup", "flattened": True},
            "Words": {"shape": "Words", "flattened": True, "locationName": "Word"},
        }},
        "PutOutput": {"type": "structure", "members": {
            "Item": {"shape": "Item"},
            "Lookup": {"shape": "Lookup", "flattened": True},
            "Words": {"shape": "Words", "flattened": True},
        }},
        "Item": {"type": "structure", "members": {
            "Kind": {"shape": "Kind"},
            "When": {"shape": "Time"},
            "Epoch": {"shape": "EpochTime"},
            "Ratio": {"shape": "Double"},
            "Count": {"shape": "Long"},
            "Grid": {"shape": "Grid"},
            "Groups": {"shape": "Groups"},
            "Children": {"shape": "Items"},
        }},
        "Items": {"type": "list", "member": {"shape": "Item", "locationName": "Child"}, "max": 3},
        "Grid": {"type": "list", "member": {"shape": "Words"}},
        "Groups": {"type": "map", "key": {"shape": "Id"}, "value": {"shape": "Words"}},
        "Lookup": {"type": "map", "key": {"shape": "Id", "locationName": "K"},
                   "value": {"shape": "Long", "locationName": "V"}},
        "Words": {"type": "list", "member": {"shape": "Word", "locationName": "W"}},
        "Id": {"type": "string", "min": 2, "pattern": "[a-z0-9-]+"},
        "Word": {"type": "string"},
        "Kind": {"type": "string", "enum": ["box", "bag"]},
        "Time": {"type": "timestamp"},
        "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
        "Double": {"type": "double"},
        "Long": {"type": "long"},
    },
}

ITEM = {"Kind": "box", "When": datetime(2024, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
        "Epoch": datetime(2024, 1, 1, tzinfo=UTC), "Ratio": 0.25, "Count": 2 ** 40,
        "Grid": [["a", "b"], [], ["c"]], "Groups": {"g1": ["x", "y"], "g2": []},
        "Children": [{"Kind": "bag", "Children": [{"Count": 1}]}, {"Ratio": -1.5}]}


@pytest.fixture(scope="module")
def queryish():
    return ServiceModel(QUERYISH, service_name="queryish")


def test_nested_lists_maps_and_flattened_maps(queryish):
    params = {"Id": "i-1", "Item": ITEM, "Lookup": {"aa": 1, "bb": 2}, "Words": ["w1", "w2"]}
    wire = request(queryish, "Put", params)
    body = wire.body.decode()
    assert "Thing.Grid.member.1.W.2=b" in body and "Thing.Groups.entry.1.value.W.1=x" in body
    assert "Lookup.2.K=bb" in body and "Lookup.2.V=2" in body     # a flattened map: no ``entry``
    assert "W.1=w1" in body      # botocore names a flattened list's items after the item's locationName
    assert "Thing.Epoch=1704067200" in body and "Thing.When=2024-03-04T05%3A06%3A07.890000Z" in body
    assert parse_with(codec_of(queryish), queryish, wire) == params


def test_flattened_list_under_its_own_name(queryish):
    # Smithy's awsQuery names a flattened list's items after the member; read that spelling too.
    params = codec_of(queryish).parse(queryish.operation_model("Put"),
                                      form("Action=Put&Version=2024-01-01&Id=i-1&Word.1=a&Word.2=b"))
    assert params == {"Id": "i-1", "Words": ["a", "b"]}


def test_unknown_parameters_are_ignored(queryish):
    params = codec_of(queryish).parse(queryish.operation_model("Put"),
                                      form("Action=Put&Version=2024-01-01&Id=i-1&Id=i-2&Extra=1&Thing.Nope.x=2"))
    assert params == {"Id": "i-1", "Item": {}}   # a parameter given twice: the first counts


def test_operation_without_input(queryish):
    codec = codec_of(queryish)
    wire = request(queryish, "Ping", {})
    assert codec.operation_for(wire) == "Ping" and codec.parse(queryish.operation_model("Ping"), wire) == {}


# --- bad input -------------------------------------------------------------------------------------------


def _violations(codec, model, operation, body):
    with pytest.raises(ValidationFailed) as info:
        codec.parse(model.operation_model(operation), form(body))
    return [(v.path, v.kind) for v in info.value.violations]


def test_constraints(sts, queryish):
    body = ("Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&DurationSeconds=60"
            "&Tags.member.1.Value=v&TransitiveTagKeys.member.1=")
    assert _violations(codec_of(sts), sts, "AssumeRole", body) == [
        ("roleSessionName", "min_length"), ("durationSeconds", "min"), ("tags.1.member.key", "required"),
        ("transitiveTagKeys.1.member", "min_length"), ("roleArn", "required")]
    body = ("Action=Put&Version=2024-01-01&Id=UPPER&Thing.Kind=crate&Thing.Children.Child.1.Count=1"
            "&Thing.Children.Child.2.Count=2&Thing.Children.Child.3.Count=3&Thing.Children.Child.4.Count=4")
    assert _violations(codec_of(queryish), queryish, "Put", body) == [
        ("id", "pattern"), ("item.kind", "enum"), ("item.children", "max_length")]


def test_required_members_must_be_given(sts):
    assert _violations(codec_of(sts), sts, "AssumeRole", "Action=AssumeRole&Version=2011-06-15") == [
        ("roleArn", "required"), ("roleSessionName", "required")]


@pytest.mark.parametrize("body", [
    "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s1&DurationSeconds=an-hour",
    "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s1&DurationSeconds=99999999999",
    "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s1&Tags.member.one.Key=k",
    "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s1&Tags.member.0.Key=k",
    "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s1&PolicyArns.member.1.arn=%FF%FE",
])
def test_unreadable_values(sts, body):
    with pytest.raises(SerializationError):
        codec_of(sts).parse(sts.operation_model("AssumeRole"), form(body))


@pytest.mark.parametrize("body", [
    "Action=Put&Version=2024-01-01&Id=ab&Lookup.1.V=3",                    # a map entry without its key
    "Action=Put&Version=2024-01-01&Id=ab&Lookup.1.K=k&Lookup.1.V=many",
    "Action=Put&Version=2024-01-01&Id=ab&Thing.When=yesterday",
    "Action=Put&Version=2024-01-01&Id=ab&Thing.Ratio=half",
    "Action=Put&Version=2024-01-01&Id=ab&Thing.Groups.entry.x.key=k",
])
def test_unreadable_structures(queryish, body):
    with pytest.raises(SerializationError):
        codec_of(queryish).parse(queryish.operation_model("Put"), form(body))


def test_body_that_is_not_utf8(sts):
    wire = Request("POST", "/", "/", "", dict(FORM), b"Action=AssumeRole&Version=2011-06-15&RoleArn=\xff\xfe")
    assert codec_of(sts).operation_for(wire) == "AssumeRole"
    with pytest.raises(SerializationError):
        codec_of(sts).parse(sts.operation_model("AssumeRole"), wire)


def test_too_many_parameters(sts):
    body = "Action=AssumeRole&Version=2011-06-15&" + "&".join(f"Tags.member.{i}.Key=k" for i in range(1, 10_002))
    with pytest.raises(SerializationError):
        codec_of(sts).parse(sts.operation_model("AssumeRole"), form(body))


# --- output ----------------------------------------------------------------------------------------------


def test_get_caller_identity_output(sts):
    codec = codec_of(sts)
    operation = sts.operation_model("GetCallerIdentity")
    out = {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/u"}
    response = codec.serialize(operation, out)
    assert response.status == 200 and response.header("content-type") == "text/xml"
    root = ElementTree.fromstring(response.body)
    ns = {"s": STS_NAMESPACE}
    assert root.tag == f"{{{STS_NAMESPACE}}}GetCallerIdentityResponse"
    assert [child.tag.rpartition("}")[2] for child in root] == ["GetCallerIdentityResult", "ResponseMetadata"]
    assert root.findtext("s:GetCallerIdentityResult/s:Account", namespaces=ns) == "123456789012"
    request_id = root.findtext("s:ResponseMetadata/s:RequestId", namespaces=ns)
    assert request_id and response.header("x-amzn-RequestId") == request_id
    assert check_wire(operation, response.body) == []
    assert check_wire(operation, response.body.replace(b"GetCallerIdentityResult", b"Result")) != []
    parsed = read_back(sts, "GetCallerIdentity", response)
    assert {k: parsed[k] for k in out} == out and parsed["ResponseMetadata"]["RequestId"] == request_id


def test_nested_output_with_timestamps(sts):
    out = {"Credentials": {"AccessKeyId": "ASIAEXAMPLE1234", "SecretAccessKey": "s<e>c&r",
                           "SessionToken": "t", "Expiration": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)},
           "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:s1", "Arn": "arn:aws:sts::123456789012:assumed-role/r/s1"},
           "PackedPolicySize": 6, "SourceIdentity": "me"}
    operation = sts.operation_model("AssumeRole")
    response = codec_of(sts).serialize(operation, out)
    assert b"<Expiration>2024-05-06T07:08:09Z</Expiration>" in response.body and b"s&lt;e&gt;c&amp;r" in response.body
    assert check_wire(operation, response.body) == []
    parsed = read_back(sts, "AssumeRole", response)
    assert {k: parsed[k] for k in out} == out


def test_lists_and_maps_output(sns):
    codec = codec_of(sns)
    topics = {"Topics": [{"TopicArn": "arn:aws:sns:us-east-1:123456789012:a"},
                         {"TopicArn": "arn:aws:sns:us-east-1:123456789012:b"}], "NextToken": "n"}
    response = codec.serialize(sns.operation_model("ListTopics"), topics)
    assert b"<Topics><member><TopicArn>" in response.body
    assert check_wire(sns.operation_model("ListTopics"), response.body) == []
    assert {k: v for k, v in read_back(sns, "ListTopics", response).items() if k != "ResponseMetadata"} == topics

    attributes = {"Attributes": {"DisplayName": "T & co", "Policy": "{}"}}
    response = codec.serialize(sns.operation_model("GetTopicAttributes"), attributes)
    assert b"<Attributes><entry><key>DisplayName</key><value>T &amp; co</value></entry>" in response.body
    assert check_wire(sns.operation_model("GetTopicAttributes"), response.body) == []
    assert read_back(sns, "GetTopicAttributes", response)["Attributes"] == attributes["Attributes"]


def test_flattened_and_nested_output(queryish):
    out = {"Item": ITEM, "Lookup": {"aa": 1}, "Words": ["w1", "w2"]}
    operation = queryish.operation_model("Put")
    response = codec_of(queryish).serialize(operation, out)
    assert b"<PutResult><Item>" in response.body and b"<W>w1</W><W>w2</W>" in response.body
    assert check_wire(operation, response.body) == []
    parsed = read_back(queryish, "Put", response)
    assert {k: parsed[k] for k in out} == out


def test_operation_without_output(sns, queryish):
    for model, name in ((sns, "DeleteTopic"), (queryish, "Ping")):
        response = codec_of(model).serialize(model.operation_model(name), {})
        root = ElementTree.fromstring(response.body)
        assert root.tag.rpartition("}")[2] == f"{name}Response"
        assert [child.tag.rpartition("}")[2] for child in root] == ["ResponseMetadata"]
        assert read_back(model, name, response)["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")


# --- errors ----------------------------------------------------------------------------------------------


def test_error_layout(sts):
    codec = codec_of(sts)
    response = codec.serialize_error(ServiceError("InvalidAction", "Could not find operation X <&>", 400))
    assert response.status == 400 and response.header("content-type") == "text/xml"
    root = ElementTree.fromstring(response.body)
    ns = {"s": STS_NAMESPACE}
    assert root.tag == f"{{{STS_NAMESPACE}}}ErrorResponse"
    assert [child.tag.rpartition("}")[2] for child in root] == ["Error", "RequestId"]
    assert [child.tag.rpartition("}")[2] for child in root.find("s:Error", ns)] == ["Type", "Code", "Message"]
    assert root.findtext("s:Error/s:Type", namespaces=ns) == "Sender"
    assert root.findtext("s:RequestId", namespaces=ns) == response.header("x-amzn-RequestId")
    parsed = read_back(sts, "GetCallerIdentity", response)
    assert parsed["Error"] == {"Type": "Sender", "Code": "InvalidAction", "Message": "Could not find operation X <&>"}

    internal = codec.serialize_error(ServiceError("InternalFailure", "oops", 500, sender_fault=False))
    assert read_back(sts, "GetCallerIdentity", internal)["Error"]["Type"] == "Receiver"


def test_modeled_error_codes(sts):
    # The shape is IDPRejectedClaimException; clients match the code its model gives, IDPRejectedClaim.
    response = codec_of(sts).serialize_error(ServiceError("IDPRejectedClaimException", "rejected", 403))
    assert b"<Code>IDPRejectedClaim</Code>" in response.body


@pytest.mark.parametrize("code, status", [("MalformedPolicyDocument", 400), ("RegionDisabledException", 403),
                                          ("InvalidAction", 400)])
def test_errors_with_a_real_client(sts, code, status):
    def answer(name, params):
        assert params["RoleSessionName"] == "s1"
        raise ServiceError(code, "no <such> role & none", status)

    client, calls = local_client("sts", codec_of(sts), answer)
    with pytest.raises(ClientError) as info:
        client.assume_role(RoleArn=ROLE, RoleSessionName="s1")
    response = info.value.response
    assert response["Error"]["Code"] == code and response["Error"]["Message"] == "no <such> role & none"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status and response["ResponseMetadata"]["RequestId"]
    assert_error_conforms(sts.operation_model("AssumeRole"), info.value, allowed_generic=("InvalidAction",))
    (_, _, wire), = calls
    assert wire.method == "POST" and wire.body.startswith(b"Action=AssumeRole&Version=2011-06-15")


def test_calls_with_a_real_client(sts):
    def answer(name, params):
        assert name == "AssumeRole" and params == ASSUME_ROLE
        return {"PackedPolicySize": 3, "Credentials": {"AccessKeyId": "ASIAEXAMPLE1234", "SecretAccessKey": "s",
                                                       "SessionToken": "t",
                                                       "Expiration": datetime(2030, 1, 1, tzinfo=UTC)}}

    client, _ = local_client("sts", codec_of(sts), answer)
    out = client.assume_role(**ASSUME_ROLE)
    assert out["PackedPolicySize"] == 3 and out["Credentials"]["Expiration"] == datetime(2030, 1, 1, tzinfo=UTC)


def test_the_request_sent_as_a_query_string(sts):
    # The same parameters in the query string of a GET parse as from a form body.
    query = urlencode({"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "s1",
                       "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"})
    wire = Request("GET", "/", "/", query, {})
    assert parse_with(codec_of(sts), sts, wire) == {"RoleArn": ROLE, "RoleSessionName": "s1",
                                                    "Tags": [{"Key": "k", "Value": "v"}]}
