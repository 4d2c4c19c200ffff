"""Helpers any test module may import (fixtures live in conftest.py).

- ``make_client``: a boto3 client of one account against a jobyard server.
- ``expect_error``: a call that must fail with a given code (and status) in a conformant error.
- Codecs with botocore on both ends, for the protocol tests: ``botocore_request`` (what botocore puts on
  the wire), ``parse_with`` (the codec routes and parses it), ``botocore_response`` (botocore reads the
  codec's answer back), ``answering`` / ``local_client`` (a real boto3 client answered in-process).
"""

from __future__ import annotations

import io
from urllib.parse import unquote, urlencode, urlsplit

import boto3
import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from conformance import GENERIC_ERROR_CODES, assert_error_conforms, cbor_client
from jobyard.errors import ServiceError
from jobyard.wire import Request

REGION = "us-east-1"


def make_client(service: str, url: str | None, account: str, protocol: str = "json", region: str = REGION,
                **kwargs):
    """A boto3 client of ``account`` (the access key id is the account) against a jobyard server."""
    kwargs.update(endpoint_url=url, region_name=region, aws_access_key_id=account, aws_secret_access_key="secret")
    if protocol == "cbor":
        return cbor_client(None, service, **kwargs)
    return boto3.session.Session().client(service, **kwargs)


def expect_error(client, operation: str, code: str, status: int | None = None, *, allowed=GENERIC_ERROR_CODES,
                 **params) -> ClientError:
    """Call ``operation`` (its model name, e.g. "GetJobOutput") with ``params`` and check that it fails with
    ``code``, with the HTTP ``status`` when one is given, in an error that conforms to the operation's model.

    ``allowed`` are the codes the service may answer with beyond the ones the operation models (the
    generic AWS ones unless the service documents more). Returns the ClientError.
    """
    with pytest.raises(ClientError) as caught:
        getattr(client, xform_name(operation))(**params)
    error = caught.value
    assert error.response["Error"]["Code"] == code, error.response["Error"]
    if status is not None:
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status, error.response
    assert_error_conforms(client.meta.service_model.operation_model(operation), error, allowed)
    return error


# --- codecs with botocore on both ends --------------------------------------------------------------------


def botocore_request(model, operation: str, params: dict, protocol: str) -> Request:
    """What botocore's serializer puts on the wire for this call (no client-side validation)."""
    serialized = create_serializer(protocol, include_validation=False).serialize_to_request(
        params, model.operation_model(operation))
    path, _, template_query = serialized["url_path"].partition("?")
    query = percent_encode_sequence(serialized["query_string"]) if serialized["query_string"] else ""
    query = "&".join(part for part in (template_query, query) if part)
    body = serialized["body"]
    if isinstance(body, dict):   # the query protocol's parameters: a form body, as botocore's AWSRequest sends them
        body = urlencode(body, doseq=True)
    body = body.encode() if isinstance(body, str) else bytes(body or b"")
    headers = {k.lower(): v for k, v in serialized["headers"].items()}
    return Request(serialized["method"], unquote(path), path, query, headers, body)


def parse_with(codec, model, request: Request) -> dict:
    """The codec routes ``request`` to its operation and parses its input."""
    name = codec.operation_for(request)
    assert name is not None, f"no operation for {request.method} {request.raw_path}?{request.query_string}"
    return codec.parse(model.operation_model(name), request)


def botocore_response(model, operation: str, response, protocol: str, shape=None) -> dict:
    """The codec's ``response`` as botocore reads it against the operation's output (or ``shape``), with the
    modelled error fields included (as botocore's endpoint adds them)."""
    # Case-insensitive headers, as botocore's HTTP layer hands them to the parser.
    raw = {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body}
    parser = create_parser(protocol)
    parsed = parser.parse(raw, shape or model.operation_model(operation).output_shape)
    code = parsed.get("Error", {}).get("Code")
    if response.status >= 300 and code:
        error_shape = model.shape_for_error_code(code)
        if error_shape is not None:
            parsed.update(parser.parse(raw, error_shape))
    return parsed


class RawBody(io.BytesIO):
    """An HTTP body as botocore's AWSResponse streams it."""

    def stream(self, amt=1024, decode_content=None):
        while chunk := self.read(amt):
            yield chunk


def answering(codec, answer, calls: list | None = None):
    """A ``before-send`` hook that answers a boto3 client through ``codec`` in-process: ``answer(operation,
    params)`` returns the output dict or raises ServiceError. Each call parsed is appended to ``calls`` as
    (operation, params, wire request)."""
    model = codec.service_model

    def send(request, **kwargs):
        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        body = body.encode() if isinstance(body, str) else bytes(body or b"")
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        wire = Request(request.method, unquote(url.path), url.path, url.query, headers, body, host=url.netloc)
        name = codec.operation_for(wire)
        operation = model.operation_model(name)
        try:
            params = codec.parse(operation, wire)
            if calls is not None:
                calls.append((name, params, wire))
            response = codec.serialize(operation, answer(name, params))
        except ServiceError as error:
            response = codec.serialize_error(error, operation)
        return AWSResponse(request.url, response.status, dict(response.headers), RawBody(response.body))

    return send


def local_client(service: str, codec, answer, endpoint="http://jobyard.test"):
    """A real boto3 client whose requests the codec answers in-process (see ``answering``).
    Returns (client, calls made)."""
    calls = []
    client = boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                          aws_access_key_id="123456789012", aws_secret_access_key="secret")
    client.meta.events.register("before-send", answering(codec, answer, calls))
    return client, calls
