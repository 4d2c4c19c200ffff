"""AWS JSON 1.0/1.1: ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON body.

Mirrors botocore's ``JSONSerializer`` (what clients send) and ``JSONParser`` (what they expect back):
timestamps are epoch seconds unless the model says otherwise, blobs are base64, members go by their
``locationName`` when they have one, errors carry ``__type`` and ``message`` in the body.
"""

from __future__ import annotations

import base64
import binascii
import math
from decimal import Decimal

import orjson
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel

from . import register
from .base import Codec, ShapeReader, ShapeWriter, mismatch, new_request_id
from ..errors import SerializationError, ServiceError
from ..wire import Request, Response

# Non-finite numbers travel as strings in AWS JSON (botocore's _handle_float does the same).
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonReader(ShapeReader):
    def read_blob(self, value) -> bytes:
        if not isinstance(value, str):
            raise mismatch(value, "Blob")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationError("Base64 encoded value expected for a blob") from None

    def read_float(self, value) -> float:
        if isinstance(value, str):
            special = _SPECIAL_FLOATS.get(value)
            if special is None:
                raise mismatch(value, "Double")
            return special
        return super().read_float(value)


class JsonWriter(ShapeWriter):
    def write_blob(self, value) -> str:
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(value).decode("ascii")

    def write_float(self, value):
        value = float(value)
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _json_default(value):
    """For values outside the model (unmodeled error extras): keep them readable, never fail."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps(value) -> bytes:
    return orjson.dumps(value, default=_json_default)


@register
class JsonRpcCodec(Codec):
    protocol = "json"
    reader_class = JsonReader
    writer_class = JsonWriter

    def __init__(self, service_model: ServiceModel):
        super().__init__(service_model)
        metadata = service_model.metadata
        self.target_prefix = metadata.get("targetPrefix", "")
        self.content_type = f"application/x-amz-json-{metadata.get('jsonVersion', '1.1')}"
        self._operations = frozenset(service_model.operation_names)

    def operation_for(self, request: Request) -> str | None:
        if request.method != "POST":
            return None
        target = request.headers.get("x-amz-target")
        if not target:
            return None
        prefix, _, name = target.rpartition(".")
        if prefix != self.target_prefix or name not in self._operations:
            return None
        return name

    def parse(self, operation: OperationModel, request: Request) -> dict:
        body = request.body
        if not body or body.isspace():
            data = {}
        else:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SerializationError("Request body is not valid JSON") from None
            if not isinstance(data, dict):
                raise SerializationError("Request body must be a JSON object")
        return self.read_input(operation, data)

    def serialize(self, operation: OperationModel, output: dict) -> Response:
        body = dumps(self.write_output(operation, output))
        return Response(200, self._headers(), body)

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        shape = self.error_shape(error.code)
        code = shape.name if shape is not None else error.code
        # botocore reads __type (bare or namespaced, it strips up to '#') and message/Message.
        body = {"__type": code, **self.error_members(error)}
        headers = self._headers()
        headers.append(("X-Amzn-ErrorType", code))
        query_error = self.query_error_header(error)
        if query_error:
            headers.append(query_error)
        return Response(error.status, headers, dumps(body))

    def _headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), ("x-amzn-RequestId", new_request_id())]

