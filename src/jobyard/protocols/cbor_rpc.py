"""Smithy RPC v2 CBOR: ``POST /service/<Service>/operation/<Operation>`` with ``smithy-protocol: rpc-v2-cbor``.

Mirrors botocore's ``RpcV2CBORSerializer`` / ``RpcV2CBORParser``: the service segment is the model's
``targetPrefix`` (the Smithy service shape's name), members go by their model names, timestamps are
CBOR tag 1 over epoch seconds, blobs are byte strings, errors are a map with ``__type`` and ``message``.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import cbor2
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel

from . import register
from .base import Codec, ShapeReader, ShapeWriter, as_utc, epoch_seconds, from_epoch, mismatch, new_request_id
from ..errors import SerializationError, ServiceError
from ..wire import Request, Response

PROTOCOL_HEADER = "rpc-v2-cbor"
CONTENT_TYPE = "application/cbor"
_EPOCH_TAG = 1


class CborReader(ShapeReader):
    location_names = False           # RPC v2 ignores locationName; botocore's parser reads member names
    undefined = cbor2.undefined      # CBOR's "undefined" means absent, like null

    def read_timestamp(self, value, fmt: str) -> datetime:
        # cbor2 has already turned tag 1 (and tag 0) into an aware datetime; a bare number is epoch seconds.
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return from_epoch(value)
        raise mismatch(value, "Timestamp")


class CborWriter(ShapeWriter):
    location_names = False

    def write_timestamp(self, value, fmt: str):
        # Always tag 1 + epoch seconds in RPC v2, whatever timestampFormat says.
        return cbor2.CBORTag(_EPOCH_TAG, epoch_seconds(value))


def _cbor_default(encoder, value):
    """For values outside the model (unmodeled error extras): write them as text rather than fail."""
    encoder.encode(str(value))


def dumps(value) -> bytes:
    # Stray datetimes (outside the model) still go out as tag 1, which botocore understands.
    return cbor2.dumps(value, datetime_as_timestamp=True, timezone=timezone.utc, default=_cbor_default)


def loads(body: bytes):
    """Decode exactly one CBOR data item; anything wrong with it is a SerializationError."""
    stream = io.BytesIO(body)
    try:
        # Map keys limited to text/byte strings: no hash-collision games, and structures need text.
        value = cbor2.CBORDecoder(stream, strict_hashable_types=True).decode()
    except Exception as exc:   # CBORDecodeError, but cbor2 can raise others on hostile input
        raise SerializationError(f"Request body is not valid CBOR: {exc}") from None
    if stream.tell() != len(body):
        raise SerializationError("Request body has data after its CBOR value")
    return value


def smithy_namespace(service_model: ServiceModel) -> str | None:
    """The Smithy namespace of the service's shapes (``com.amazonaws.snowball``), derived the way AWS names
    them: ``com.amazonaws.`` plus the serviceId, lower-cased, without spaces or dashes."""
    service_id = service_model.metadata.get("serviceId")
    if not service_id:
        return None
    return "com.amazonaws." + re.sub(r"[^a-z0-9]", "", service_id.lower())


@register
class CborRpcCodec(Codec):
    protocol = "smithy-rpc-v2-cbor"
    reader_class = CborReader
    writer_class = CborWriter

    def __init__(self, service_model: ServiceModel):
        super().__init__(service_model)
        self.service_name = service_model.metadata.get("targetPrefix", "")
        self.namespace = smithy_namespace(service_model)
        self._operations = frozenset(service_model.operation_names)

    def operation_for(self, request: Request) -> str | None:
        if request.method != "POST":
            return None
        # The header is required by the spec; a different value is some other RPC v2 format.
        if request.headers.get("smithy-protocol", PROTOCOL_HEADER) != PROTOCOL_HEADER:
            return None
        # Anything may precede /service/... (an endpoint with a path prefix).
        parts = request.path.split("/")
        if len(parts) < 5 or parts[-4] != "service" or parts[-2] != "operation":
            return None
        if parts[-3] != self.service_name or parts[-1] not in self._operations:
            return None
        return parts[-1]

    def parse(self, operation: OperationModel, request: Request) -> dict:
        body = request.body
        data = {} if not body else loads(body)
        if not isinstance(data, dict):
            raise SerializationError("Request body must be a CBOR map")
        return self.read_input(operation, data)

    def serialize(self, operation: OperationModel, output: dict) -> Response:
        return Response(200, self._headers(), dumps(self.write_output(operation, output)))

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        body = {"__type": self.error_type(error.code), **self.error_members(error)}
        headers = self._headers()
        query_error = self.query_error_header(error)
        if query_error:
            headers.append(query_error)
        return Response(error.status, headers, dumps(body))

    def error_type(self, code: str) -> str:
        """``__type`` as AWS writes it: the error's shape id (``com.amazonaws.snowball#InvalidResourceException``)
        for modeled errors; the bare code for others, which have no shape in this service. Clients keep
        what follows '#'."""
        if "#" in code:
            return code
        shape = self.error_shape(code)
        if shape is None or not self.namespace:
            return code
        return f"{self.namespace}#{shape.name}"

    def _headers(self) -> list[tuple[str, str]]:
        return [
            ("smithy-protocol", PROTOCOL_HEADER),
            ("Content-Type", CONTENT_TYPE),
            ("x-amzn-RequestId", new_request_id()),
        ]
