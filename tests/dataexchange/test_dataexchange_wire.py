"""What Data Exchange errors look like on the wire, below what boto3 shows."""

import json
import urllib.error
import urllib.request

import botocore.session

from jobyard.protocols import build_codec
from jobyard.services.dataexchange.errors import ERRORS


def raw(server, account, method, path, body=b"", headers=None):
    scope = f"Credential={account}/20240101/us-east-1/dataexchange/aws4_request"
    request = urllib.request.Request(f"{server.url}{path}", data=body or None, method=method, headers={
        "Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_not_found_carries_code_header_and_members(server, account):
    status, headers, body = raw(server, account, "GET", f"/v1/jobs/{'0' * 32}")
    assert status == 404 and headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(body) == {"Message": f"Job {'0' * 32} not found.", "ResourceId": "0" * 32,
                                "ResourceType": "JOB"}


def test_malformed_body_is_a_validation_exception(server, account):
    status, headers, body = raw(server, account, "POST", "/v1/data-sets", b"{not json",
                                {"Content-Type": "application/json"})
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException"
    assert json.loads(body)["Message"]


def test_empty_success_bodies_and_status_codes(server, account):
    status, _, body = raw(server, account, "POST", "/v1/data-sets",
                          json.dumps({"AssetType": "S3_SNAPSHOT", "Name": "n", "Description": "d"}).encode(),
                          {"Content-Type": "application/json"})
    assert status == 201
    data_set_id = json.loads(body)["Id"]
    status, _, body = raw(server, account, "DELETE", f"/v1/data-sets/{data_set_id}")
    assert status == 204 and body == b""


def test_internal_errors_are_internal_server_exceptions():
    error = ERRORS.translate(RuntimeError("a defect of ours"), "GetJob")
    model = botocore.session.get_session().get_service_model("dataexchange")
    response = build_codec(model, "rest-json").serialize_error(error, model.operation_model("GetJob"))
    assert response.status == 500
    assert ("x-amzn-ErrorType", "InternalServerException") in response.headers
    assert json.loads(response.body) == {"Message": "An internal error occurred."}
