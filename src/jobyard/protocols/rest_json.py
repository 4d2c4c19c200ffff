"""REST-JSON (restJson1): the REST binding of ``rest.py`` with JSON bodies.

Mirrors botocore's ``RestJSONSerializer`` / ``RestJSONParser``: body members form a JSON object (named by
their ``locationName`` if any), a structure ``payload`` is the whole body, a blob or string payload is
the raw body. In the body, timestamps are epoch seconds unless ``timestampFormat`` says otherwise and
blobs are base64, as in AWS JSON. Errors carry the code in ``x-amzn-ErrorType`` and the error shape's
members in the body.
"""

from __future__ import annotations

from functools import cached_property

import orjson
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, Shape

from . import register
from .json_rpc import JsonReader, JsonWriter, dumps
from .rest import ResponsePlan, RestCodec
from ..errors import SerializationError, ServiceError
from ..wire import Response

CONTENT_TYPE = "application/json"


def _loads(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SerializationError("Request body is not valid JSON") from None


@register
class RestJsonCodec(RestCodec):
    protocol = "rest-json"
    reader_class = JsonReader
    writer_class = JsonWriter
    body_content_type = CONTENT_TYPE

    # --- input ------------------------------------------------------------------------------------------

    def body_key(self, name: str, member: Shape) -> str:
        return member.serialization.get("name", name)

    def decode_body(self, plan, body: bytes) -> dict:
        data = _loads(body)
        if not isinstance(data, dict):
            raise SerializationError("Request body must be a JSON object")
        return data

    def decode_structure(self, plan, body: bytes):
        return _loads(body)

    # --- output -----------------------------------------------------------------------------------------

    def compile_encoder(self, plan: ResponsePlan):
        if plan.payload is not None:
            return self.writer.compile(plan.payload_shape) if plan.payload_shape.type_name == "structure" else None
        members = plan.shape.members if plan.shape is not None else {}
        return [(name, members[name].serialization.get("name", name), self.writer.compile(members[name]))
                for name in plan.body_members]

    def encode_body(self, plan: ResponsePlan, output: dict) -> bytes:
        body = {}
        for name, wire_name, writer in plan.encoder:
            value = output.get(name)
            if value is not None:
                body[wire_name] = value if writer is None else writer(value)
        return dumps(body)

    def encode_structure(self, plan: ResponsePlan, value) -> bytes:
        return dumps(value if plan.encoder is None else plan.encoder(value))

    # --- errors -----------------------------------------------------------------------------------------

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        code = self.wire_error_code(error)
        headers = self.response_headers()
        headers.append(("x-amzn-ErrorType", code))
        headers.append(("Content-Type", CONTENT_TYPE))
        query_error = self.query_error_header(error)
        if query_error:
            headers.append(query_error)
        return Response(error.status, headers, dumps(self.error_body(error, code)))

    @cached_property
    def shared_error_members(self) -> frozenset[str]:
        """The members every error shape of the service has (Glacier: ``code``, ``message``, ``type``)."""
        shapes = self.service_model.error_shapes
        return frozenset.intersection(*(frozenset(s.members) for s in shapes)) if shapes else frozenset()

    def error_body(self, error: ServiceError, code: str) -> dict:
        """The error shape's members. botocore takes the code from the header and the message from
        ``message`` or ``Message``; the body names the message as the shape does (Glacier: ``message``
        beside ``code`` and ``type``; Data Exchange: ``Message``). A code the model has no shape for still
        gets the code and fault type members that all of the service's error shapes have (Glacier's
        BadRequest, SerializationException, AccessDeniedException)."""
        shape = self.error_shape(error.code)
        members = shape.members if shape is not None else {}
        layout = members if shape is not None else self.shared_error_members
        body: dict = {}
        if "code" in layout:
            body["code"] = code
        elif "Code" in layout:
            body["Code"] = code
        if "type" in layout:
            body["type"] = "Client" if error.sender_fault else "Server"
        if error.message is not None:
            body["Message" if "Message" in members and "message" not in members else "message"] = error.message
        modeled, unmodeled = {}, {}
        for name, value in error.extra.items():
            if value is None:
                continue
            (modeled if name in members else unmodeled)[name] = value
        if modeled:
            body.update(self.writer.write(shape, modeled))
        body.update(unmodeled)
        return body
