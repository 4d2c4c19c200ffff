"""Raw HTTP against the server: malformed input gets the protocol's error, never a 500 or a traceback."""

import http.client
import json
import socket
from urllib.parse import urlparse

import cbor2
import pytest

TARGET = "AWSIESnowballJobManagementService"
AUTH = ("AWS4-HMAC-SHA256 Credential=123456789012/20261123/us-east-1/snowball/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000")


def post(server, path, body: bytes, headers: dict):
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", path, body=body, headers={"Authorization": AUTH, **headers})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def json_call(server, operation, body: bytes):
    return post(server, "/", body, {"X-Amz-Target": f"{TARGET}.{operation}",
                                    "Content-Type": "application/x-amz-json-1.1"})


def assert_json_error(status, body, code):
    assert status == 400
    document = json.loads(body)
    assert document["__type"].split("#")[-1] == code
    assert document.get("message") or document.get("Message")
    assert b"Traceback" not in body


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_json_is_a_serialization_error(server, body):
    status, _, answer = json_call(server, "ListJobs", body)
    assert_json_error(status, answer, "SerializationException")


@pytest.mark.parametrize("body", [b'{"MaxResults": "ten"}', b'{"MaxResults": 1.5}', b'{"NextToken": 5}',
                                  b'{"MaxResults": true}'])
def test_wrong_types_are_rejected(server, body):
    status, _, answer = json_call(server, "ListJobs", body)
    assert status == 400
    assert json.loads(answer)["__type"].split("#")[-1] in ("SerializationException", "ValidationException")


def test_wrong_nested_types_are_rejected(server):
    status, _, answer = json_call(server, "CreateAddress", b'{"Address": ["not", "a", "structure"]}')
    assert status == 400 and b"Traceback" not in answer


def test_unknown_operation(server):
    status, _, answer = json_call(server, "LaunchRocket", b"{}")
    assert_json_error(status, answer, "UnknownOperationException")


def test_empty_body_means_no_input(server):
    status, _, answer = json_call(server, "ListJobs", b"")
    assert status == 200 and json.loads(answer) == {"JobListEntries": []}


def test_missing_required_member(server):
    status, _, answer = json_call(server, "DescribeJob", b"{}")
    assert_json_error(status, answer, "ValidationException")
    assert b"jobId" in answer


def test_bad_pattern_is_a_validation_error(server):
    status, _, answer = json_call(server, "DescribeJob", json.dumps({"JobId": "J" * 39}).encode())
    assert_json_error(status, answer, "ValidationException")


def cbor_call(server, operation, body: bytes):
    return post(server, f"/service/{TARGET}/operation/{operation}", body,
                {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"})


def test_malformed_cbor(server):
    status, headers, answer = cbor_call(server, "ListJobs", b"\xff\x00garbage")
    assert status == 400
    assert {k.lower(): v for k, v in headers.items()}["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(answer)["__type"].split("#")[-1] == "SerializationException"


def test_cbor_unknown_operation(server):
    status, _, answer = cbor_call(server, "LaunchRocket", cbor2.dumps({}))
    assert status == 400
    assert cbor2.loads(answer)["__type"].split("#")[-1] == "UnknownOperationException"


def test_unroutable_request_is_a_clean_404(server):
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", "/nothing/here")
    response = conn.getresponse()
    assert response.status == 404 and b"Traceback" not in response.read()


def test_absolute_form_request_target(server):
    """Clients that use the server as an HTTP proxy send the full URL as the request target."""
    url = urlparse(server.url)
    body = b"{}"
    request = (f"POST http://snowball.example.internal:1234/ HTTP/1.1\r\nHost: snowball.example.internal:1234\r\n"
               f"X-Amz-Target: {TARGET}.ListJobs\r\nContent-Type: application/x-amz-json-1.1\r\n"
               f"Authorization: {AUTH}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload) == {"JobListEntries": []}


def test_endpoint_url_takes_off_the_operations_host_prefix():
    from jobyard.routing import endpoint_url
    from jobyard.wire import Request

    def at(host):
        return Request("GET", "/", "/", "", {}, host=host)

    account = {"AccountId": "123456789012"}
    assert endpoint_url(at("123456789012.localhost:4600"), "{AccountId}.", account) == "http://localhost:4600"
    assert endpoint_url(at("127.0.0.1:4600"), "{AccountId}.", account) == "http://127.0.0.1:4600"
    assert endpoint_url(at("999999999999.localhost:4600"), "{AccountId}.", account) == "http://999999999999.localhost:4600"
    assert endpoint_url(at("api-fulfill.example.com"), "api-fulfill.", {}) == "http://example.com"
    assert endpoint_url(at("api-fulfill.example.com"), None, {}) == "http://api-fulfill.example.com"
    assert endpoint_url(at("123456789012.localhost:4600"), "{AccountId}.", {}) == "http://123456789012.localhost:4600"
