"""AWS Query (awsQuery): ``Action=<Operation>&Version=<apiVersion>&...`` requests, XML responses, as STS speaks it.

Mirrors botocore's ``QuerySerializer`` (what clients send) and ``QueryParser`` (what they read back).

Requests are form parameters: a POST's ``application/x-www-form-urlencoded`` body, or the query string (a GET,
as presigned URLs are). ``Action`` names the operation and ``Version`` must be the model's ``apiVersion``.
The input members are keys of dotted paths, named by their ``locationName``:

* a structure's members: ``Name.Member``;
* lists: ``Name.member.N`` (the item's ``locationName`` instead of ``member``), 1-based; a flattened list
  ``Name.N`` (the item's ``locationName`` instead of ``Name``, as botocore writes it; both are read);
  an empty list is ``Name=``;
* maps: ``Name.entry.N.key`` and ``Name.entry.N.value`` (the key's and value's ``locationName``);
  flattened ``Name.N.key``;
* scalars as text: timestamps ISO 8601 unless the model says otherwise, booleans ``true``/``false``,
  blobs base64.

The values are then checked by the same typed reader (and so the same constraints) as REST's text values.

Responses are ``<OperationResponse xmlns="<the model's xmlNamespace>">``, holding the output's members in the
element its ``resultWrapper`` names, then ``<ResponseMetadata><RequestId>``; members are written by the
REST-XML codec's encoder (lists wrapped in ``member`` items, maps in ``entry`` elements, ISO 8601
timestamps). Errors are ``<ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
<RequestId/></ErrorResponse>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel, Shape

from . import register
from .base import Codec, new_request_id
from .rest import TypedReader, text_converter
from .rest_xml import XmlEncoder, escape_attribute, escape_text
from ..errors import SerializationError, ServiceError, UnknownOperation, ValidationFailed
from ..wire import Request, Response

CONTENT_TYPE = "text/xml"
FORM_TYPE = "application/x-www-form-urlencoded"

# Parameters that are the protocol's or the signature's, never input members.
_RESERVED = frozenset({"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                       "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"})
_INDEX = re.compile(r"[1-9][0-9]{0,8}")
# More parameters than any operation's input could use: a request beyond it is refused, not walked.
_MAX_PARAMETERS = 10_000

DecodeFn = Callable[["_Node"], Any]


# --------------------------------------------------------------------------------------------------------
# Parameters


def form_pairs(request: Request, strict: bool = True) -> list[tuple[str, str]]:
    """The request's parameters: its query string, then a form body. ``strict``: text that is not UTF-8
    (raw or percent-encoded) is a SerializationError, else it is read with replacement characters."""
    errors = "strict" if strict else "replace"
    pairs = []
    try:
        if request.query_string:
            pairs += parse_qsl(request.query_string, keep_blank_values=True, errors=errors,
                               max_num_fields=_MAX_PARAMETERS)
        content_type = request.headers.get("content-type", FORM_TYPE).split(";")[0].strip().lower()
        if request.body and content_type == FORM_TYPE:
            body = bytes(request.body).decode("utf-8", errors)
            pairs += parse_qsl(body, keep_blank_values=True, errors=errors, max_num_fields=_MAX_PARAMETERS)
    except UnicodeDecodeError:
        raise SerializationError("The request's parameters are not UTF-8") from None
    except ValueError:
        raise SerializationError(f"More than {_MAX_PARAMETERS} parameters") from None
    if len(pairs) > _MAX_PARAMETERS:
        raise SerializationError(f"More than {_MAX_PARAMETERS} parameters")
    return pairs


class _Node:
    """One dotted path's step: the value given for the path itself (the first, if given twice) and the
    paths below it."""

    __slots__ = ("value", "children")

    def __init__(self):
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def parameter_tree(pairs: list[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in pairs:
        if key in _RESERVED:
            continue
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        if node.value is None:
            node.value = value
    return root


def _indexed(container: _Node, what: str) -> list[_Node]:
    """A list's items or a map's entries, by their 1-based index."""
    items = []
    for key, child in container.children.items():
        if not _INDEX.fullmatch(key):
            raise SerializationError(f"'{key}' is not a valid index of {what}")
        items.append((int(key), child))
    items.sort(key=lambda item: item[0])
    return [child for _, child in items]


# --------------------------------------------------------------------------------------------------------
# Reading: parameter trees -> the typed values TypedReader validates


class QueryDecoder:
    """Compiles input shapes into ``decode(node)`` closures producing plain Python values: structures as
    dicts keyed by member name, lists, maps, and scalars converted from text per the model."""

    def __init__(self):
        self._cache: dict[tuple, DecodeFn] = {}

    def compile(self, shape: Shape) -> DecodeFn:
        key = (shape.name, shape.serialization.get("timestampFormat"))
        fn = self._cache.get(key)
        if fn is None:
            fn = self._build(shape, key)
            self._cache[key] = fn
        return fn

    def _build(self, shape: Shape, key) -> DecodeFn:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, key)
        if kind == "list":
            return self._list(shape, flattened=False)
        if kind == "map":
            return self._map(shape, flattened=False)
        convert = text_converter(shape, "querystring")
        return lambda node: None if node.value is None else convert(node.value)

    def _structure(self, shape: Shape, key) -> DecodeFn:
        fields: list[tuple[str, tuple[str, ...], DecodeFn]] = []   # member, wire names, decoder

        def decode(node):
            out = {}
            children = node.children
            for name, wire_names, decoder in fields:
                for wire_name in wire_names:
                    child = children.get(wire_name)
                    if child is not None:
                        value = decoder(child)
                        if value is not None:
                            out[name] = value
                        break
            return out

        self._cache[key] = decode   # before the members, for recursive shapes
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name)
            flattened = bool(member.serialization.get("flattened"))
            if member.type_name == "list" and flattened:
                # botocore names a flattened list's items after the list member's locationName, if it has one.
                item_name = member.member.serialization.get("name")
                wire_names = (item_name, wire_name) if item_name and item_name != wire_name else (wire_name,)
                fields.append((name, wire_names, self._list(member, flattened=True)))
            elif member.type_name == "map" and flattened:
                fields.append((name, (wire_name,), self._map(member, flattened=True)))
            else:
                fields.append((name, (wire_name,), self.compile(member)))
        return decode

    def _list(self, shape: Shape, flattened: bool) -> DecodeFn:
        item_name = shape.member.serialization.get("name", "member")
        item = self.compile(shape.member)
        what = f"the list {shape.name}"

        def decode(node):
            container = node if flattened else node.children.get(item_name)
            if container is None:
                return []   # ``Name=``: the empty list
            return [item(child) for child in _indexed(container, what)]

        return decode

    def _map(self, shape: Shape, flattened: bool) -> DecodeFn:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        key_decoder, value_decoder = self.compile(shape.key), self.compile(shape.value)
        what = f"the map {shape.name}"

        def decode(node):
            container = node if flattened else node.children.get("entry")
            out = {}
            if container is None:
                return out
            for entry in _indexed(container, what):
                key_node, value_node = entry.children.get(key_tag), entry.children.get(value_tag)
                k = key_decoder(key_node) if key_node is not None else None
                if k is None:
                    raise SerializationError(f"An entry of {what} has no {key_tag}")
                out[k] = value_decoder(value_node) if value_node is not None else None
            return out

        return decode


# --------------------------------------------------------------------------------------------------------
# The codec


@register
class QueryCodec(Codec):
    protocol = "query"
    reader_class = TypedReader      # the decoder turns parameters into typed values first

    def __init__(self, service_model: ServiceModel):
        super().__init__(service_model)
        self.version = service_model.metadata.get("apiVersion", "")
        namespace = service_model.metadata.get("xmlNamespace", "")
        self.xmlns = f' xmlns="{escape_attribute(namespace)}"' if namespace else ""
        self._operations = frozenset(service_model.operation_names)
        self.decoder = QueryDecoder()
        self.encoder = XmlEncoder()
        self._decoders: dict[str, DecodeFn | None] = {}
        self._encoders: dict[str, tuple] = {}

    # --- routing ----------------------------------------------------------------------------------------

    def _action_and_version(self, request: Request) -> tuple[str | None, str]:
        try:
            pairs = form_pairs(request, strict=False)
        except SerializationError:
            return None, ""
        params: dict[str, str] = {}
        for key, value in pairs:
            if key in ("Action", "Version"):
                params.setdefault(key, value)
        return params.get("Action") or None, params.get("Version", "")

    def operation_for(self, request: Request) -> str | None:
        # Operations are found by name within the API version the request names, as AWS looks them up.
        action, version = self._action_and_version(request)
        if action in self._operations and version == self.version:
            return action
        return None

    def unknown_operation(self, request: Request) -> UnknownOperation:
        action, version = self._action_and_version(request)
        return UnknownOperation(action, False, version)

    # --- input ------------------------------------------------------------------------------------------

    def parse(self, operation: OperationModel, request: Request) -> dict:
        try:
            decode = self._decoders[operation.name]
        except KeyError:
            shape = operation.input_shape
            decode = self._decoders[operation.name] = self.decoder.compile(shape) if shape is not None else None
        if decode is None:
            return {}
        tree = parameter_tree(form_pairs(request))
        try:
            value = decode(tree)
        except (SerializationError, ValidationFailed):
            raise
        except Exception as exc:   # whatever odd input trips is still bad input, never a 500
            raise SerializationError(f"Unable to read request: {exc}") from None
        return self.read_input(operation, value)

    # --- output -----------------------------------------------------------------------------------------

    def _encoder(self, operation: OperationModel) -> tuple:
        """(root element, result element or None, members writer or None), compiled once per operation."""
        parts = self._encoders.get(operation.name)
        if parts is None:
            shape = operation.output_shape
            wrapper = members = None
            if shape is not None:
                wrapper = shape.serialization.get("resultWrapper")
                members = self.encoder.structure_parts(shape)[1]
            parts = self._encoders[operation.name] = (f"{operation.name}Response", wrapper, members)
        return parts

    def serialize(self, operation: OperationModel, output: dict | None) -> Response:
        root, wrapper, members = self._encoder(operation)
        request_id = new_request_id()
        out = [f"<{root}{self.xmlns}>"]
        if members is not None:
            if wrapper:
                out.append(f"<{wrapper}>")
            members(output or {}, out)
            if wrapper:
                out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{root}>")
        return Response(200, self._headers(request_id), "".join(out).encode("utf-8"))

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        request_id = new_request_id()
        code = self.wire_error_code(error)
        shape = self.error_shape(error.code)
        members = shape.members if shape is not None else {}
        out = [f"<ErrorResponse{self.xmlns}><Error>",
               f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>",
               f"<Code>{escape_text(code)}</Code>"]
        if error.message is not None:
            out.append(f"<Message>{escape_text(str(error.message))}</Message>")
        for name, value in error.extra.items():
            if value is None or name in ("Type", "Code", "Message"):
                continue
            member = members.get(name)
            if member is not None:
                self.encoder.compile(member)(value, member.serialization.get("name", name), out)
            else:
                out.append(f"<{name}>{escape_text(str(value))}</{name}>")
        out.append(f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return Response(error.status, self._headers(request_id), "".join(out).encode("utf-8"))

    @staticmethod
    def _headers(request_id: str) -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", request_id), ("Content-Type", CONTENT_TYPE)]
