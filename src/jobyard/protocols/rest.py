"""The HTTP binding that REST-JSON and REST-XML share: URI templates, labels, query strings, headers, status codes.

Mirrors botocore's ``BaseRestSerializer`` (what clients send) and ``BaseRestParser`` (what they read back).
An operation is found by method and its ``http.requestUri`` template; its input members come from path
labels (``location: uri``), the query string (``querystring``), headers (``header``, and ``headers``
prefix maps) and the body, which the subclass decodes (JSON or XML). Output members go back the same
way, plus ``location: statusCode``. Everything is compiled once per operation into plans; a request
only runs the plans.

Values outside the body arrive as text and are converted per the model before the shared validation:
timestamps default to ISO 8601 in labels and query strings and to RFC 822 in headers, booleans are
``true``/``false``, ``jsonvalue`` headers are base64-encoded JSON, header lists are comma-separated.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel, Shape

from . import payload
from .base import Codec, ShapeReader, camel, format_timestamp, mismatch, new_request_id, parse_timestamp, ISO8601, RFC822
from ..errors import SerializationError, UnknownOperation, ValidationFailed, Violation
from ..blobs import Blob
from ..outputs import STARTED
from ..wire import Request, Response

_LABEL = re.compile(r"\{([^}]+)\}")
_INTEGER = re.compile(r"[+-]?\d+")
_INTEGER_TYPES = ("integer", "long", "byte", "short")

# Default timestamp formats outside the body, as botocore writes them.
_TEXT_TIMESTAMP_FORMATS = {"uri": ISO8601, "querystring": ISO8601, "header": RFC822, "headers": RFC822,
                           "body": ISO8601}  # "body": element text of an XML document

# SigV4 presigning travels in the query string: it is authentication, never input.
_PRESIGN_PARAMETERS = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                 "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"})

# Statuses whose responses carry no body by HTTP's rules.
_NO_BODY_STATUSES = frozenset({204, 304})


# --------------------------------------------------------------------------------------------------------
# Routes


class UriTemplate:
    """One operation's route, compiled: its method, ``requestUri`` template and the input members it requires.

    ``{Label}`` matches one path segment, ``{Label+}`` any run of characters including '/'; both match the
    raw (percent-encoded) path, so an encoded '/' inside a plain label stays inside it, and are decoded
    after matching. Static query parameters of the template (``?operation=add``) must be present.

    Operations that share a method and path (S3's PutObject, CopyObject, UploadPart and UploadPartCopy on
    ``PUT /{Bucket}/{Key+}``) differ in the query parameters and headers their input requires
    (``partNumber`` and ``uploadId``, ``x-amz-copy-source``): ``required_query`` and ``required_headers``.
    """

    __slots__ = ("operation", "method", "regex", "labels", "static_query", "segments", "greedy", "specificity",
                 "required_query", "required_headers")

    def __init__(self, operation: str, method: str, template: str,
                 required_query: tuple[str, ...] = (), required_headers: tuple[str, ...] = ()):
        self.operation = operation
        self.method = method.upper()
        self.required_query, self.required_headers = required_query, required_headers
        path, _, query = template.partition("?")
        # A key alone (``?uploads``) only has to be present; ``key=value`` has to have that value.
        self.static_query = tuple(parse_qsl(query, keep_blank_values=True)) if query else ()
        path = path.rstrip("/")
        self.labels: dict[str, str] = {}     # regex group -> label name (as in the template)
        parts = []
        static_segments = static_chars = 0
        self.greedy = False
        segments = path.split("/")[1:] if path else []
        for segment in segments:
            pieces, last, has_label = [], 0, False
            for match in _LABEL.finditer(segment):
                pieces.append(re.escape(segment[last:match.start()]))
                static_chars += match.start() - last
                name = match.group(1)
                group = f"g{len(self.labels)}"
                if name.endswith("+"):
                    name = name[:-1]
                    self.greedy = True
                    pieces.append(f"(?P<{group}>.+)")
                else:
                    pieces.append(f"(?P<{group}>[^/]+)")
                self.labels[group] = name
                last, has_label = match.end(), True
            pieces.append(re.escape(segment[last:]))
            static_chars += len(segment) - last
            static_segments += not has_label
            parts.append("".join(pieces))
        # One trailing slash is tolerated, as AWS's front ends do.
        self.regex = re.compile("^/" + "/".join(parts) + "/?$" if parts else "^/?$")
        self.segments = len(segments)
        # Most specific first: more literal segments, then more literal text, then more static query
        # keys, then non-greedy over greedy. Routes equal in all of these share a URI.
        self.specificity = (static_segments, static_chars, len(self.static_query), not self.greedy)

    def match(self, raw_path: str, segments: int, query: dict[str, list[str]]) -> re.Match | None:
        if self.greedy:
            if segments < self.segments:
                return None
        elif segments != self.segments:
            return None
        for key, value in self.static_query:
            values = query.get(key)
            if values is None or (value and value not in values):
                return None
        return self.regex.match(raw_path)

    def satisfied_by(self, query: dict[str, list[str]], headers: dict[str, str]) -> bool:
        """Whether the request carries every query parameter and header this operation requires."""
        return all(key in query for key in self.required_query) and all(
            name in headers for name in self.required_headers)

    def labels_of(self, match: re.Match) -> dict[str, str]:
        return {name: unquote(match.group(group)) for group, name in self.labels.items()}


def _segment_count(raw_path: str) -> int:
    path = raw_path.rstrip("/")
    return path.count("/")


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    # parse_qsl reads '+' as a space like a form would; botocore encodes spaces as %20 and '+' as %2B.
    return parse_qsl(query_string, keep_blank_values=True)


def _query_dict(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _decodes(raw_path: str) -> bool:
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _required_locations(operation: OperationModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The query keys and (lower-case) header names of the members an operation's input requires."""
    shape = operation.input_shape
    if shape is None:
        return (), ()
    query, headers = [], []
    for name in shape.required_members:
        serialization = shape.members[name].serialization
        location, wire = serialization.get("location"), serialization.get("name", name)
        if location == "querystring" and shape.members[name].type_name != "map":
            query.append(wire)
        elif location == "header":
            headers.append(wire.lower())
    return tuple(query), tuple(headers)


class UriTemplates:
    """Every operation's route, grouped by method, most specific first.

    A request goes to the most specific route its method and path match. Among routes that share a URI,
    the one requiring the most of the request's query parameters and headers wins, provided the request
    has them all (as LocalStack's ``op_router`` ranks them); then a current operation over a deprecated one
    on the same URI (GetBucketLifecycleConfiguration over GetBucketLifecycle), then the model's order. When none of the
    routes sharing the URI has all it requires, the first one still gets the request, so that a missing
    required member is answered as the validation error it is. A JavaScript SDK's ``x-id`` query
    parameter, which names the operation, is taken at its word when that operation's route matches.
    """

    def __init__(self, service_model: ServiceModel):
        self.by_operation: dict[str, UriTemplate] = {}
        self.by_method: dict[str, list[UriTemplate]] = {}
        current: dict[str, bool] = {}
        for name in service_model.operation_names:
            operation = service_model.operation_model(name)
            http = operation.http
            if "requestUri" not in http:
                continue
            template = UriTemplate(name, http.get("method", "POST"), http["requestUri"], *_required_locations(operation))
            self.by_operation[name] = template
            self.by_method.setdefault(template.method, []).append(template)
            current[name] = not operation.deprecated
        for templates in self.by_method.values():
            templates.sort(key=lambda t: (t.specificity, len(t.required_query) + len(t.required_headers),
                                          current[t.operation]), reverse=True)

    def match(self, request: Request) -> UriTemplate | None:
        templates = self.by_method.get(request.method.upper())
        if not templates:
            return None
        raw_path = request.raw_path or request.path
        if "%" in raw_path and not _decodes(raw_path):
            return None   # a label that is not UTF-8 once decoded names nothing an operation can take
        segments = _segment_count(raw_path)
        query = _query_dict(query_pairs(request.query_string)) if request.query_string else {}
        named = query.get("x-id")
        if named:
            template = self.by_operation.get(named[0])
            if template is not None and template.method == request.method.upper() and template.match(
                    raw_path, segments, query) is not None:
                return template
        first = None
        for template in templates:
            if first is not None and template.specificity != first.specificity:
                break   # past the routes that share the first match's URI
            if template.match(raw_path, segments, query) is None:
                continue
            if template.satisfied_by(query, request.headers):
                return template
            first = first or template
        return first


# --------------------------------------------------------------------------------------------------------
# Text values (labels, query strings, headers)

TextFn = Callable[[str], Any]


def text_integer(target: str) -> TextFn:
    def convert(text: str) -> int:
        text = text.strip()
        if not _INTEGER.fullmatch(text):
            raise mismatch(text, target)
        return int(text)
    return convert


def text_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise mismatch(text, "Double") from None
    return value


def text_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise mismatch(text, "Boolean")


def text_blob(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError("Base64 encoded value expected for a blob") from None


def text_jsonvalue(text: str):
    try:
        return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SerializationError("Header value is not base64-encoded JSON") from None


def split_header_list(text: str) -> list[str]:
    """A comma-separated header list; items with commas or quotes come double-quoted (botocore's
    ``_escape_header_list_string``)."""
    items, current, quoted, escaped, was_quoted = [], [], False, False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted:
            if char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"' and not "".join(current).strip():
            quoted, was_quoted, current = True, True, []
        elif char == ",":
            item = "".join(current)
            items.append(item if was_quoted else item.strip())
            current, was_quoted = [], False
        else:
            if not (was_quoted and char.isspace()):
                current.append(char)
    item = "".join(current)
    items.append(item if was_quoted else item.strip())
    return items


def text_converter(shape: Shape, location: str) -> TextFn:
    """Text from a label, query value, header or XML element -> the typed value the shape's reader expects."""
    kind = shape.type_name
    if kind == "string":
        if location in ("header", "headers") and shape.serialization.get("jsonvalue"):
            return text_jsonvalue
        return str
    if kind in _INTEGER_TYPES:
        return text_integer("Long" if kind == "long" else "Integer")
    if kind in ("float", "double"):
        return text_float
    if kind == "boolean":
        return text_boolean
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat") or _TEXT_TIMESTAMP_FORMATS[location]
        return lambda text: parse_timestamp(text.strip(), fmt)
    if kind == "blob":
        return text_blob
    if kind == "list":
        item = text_converter(shape.member, location)
        if location == "header":
            return lambda text: [item(part) for part in split_header_list(text)]
        return lambda text: [item(text)]
    if kind == "map":
        value = text_converter(shape.value, location)
        return lambda text: value(text)
    return str


def format_float(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def text_formatter(shape: Shape, location: str) -> Callable[[Any], str]:
    """An output value -> the text of a header."""
    kind = shape.type_name
    if kind == "string":
        if shape.serialization.get("jsonvalue"):
            return lambda value: base64.b64encode(
                json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")
        return str
    if kind == "boolean":
        return lambda value: "true" if value else "false"
    if kind in ("float", "double"):
        return format_float
    if kind == "timestamp":
        fmt = (shape.serialization.get("timestampFormat") or _TEXT_TIMESTAMP_FORMATS[location]).lower()
        return lambda value: str(format_timestamp(value, fmt))
    if kind == "blob":
        return lambda value: base64.b64encode(
            value.encode("utf-8") if isinstance(value, str) else bytes(value)).decode("ascii")
    if kind == "list":
        item = text_formatter(shape.member, location)
        quote = shape.member.type_name == "string"
        return lambda value: ",".join(_quote_header_item(item(v)) if quote else item(v)
                                      for v in value if v is not None)
    if kind in _INTEGER_TYPES:
        return lambda value: str(int(value))
    return str


def _quote_header_item(text: str) -> str:
    if '"' in text or "," in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class TypedReader(ShapeReader):
    """Validates values already converted to Python types (from text or XML): blobs are bytes, timestamps
    datetimes, structures dicts keyed by member name."""

    location_names = False


# --------------------------------------------------------------------------------------------------------
# Plans


class RequestPlan:
    """How one operation's input is read: which member comes from where, and its converter and reader."""

    __slots__ = ("template", "labels", "query", "query_map", "headers", "header_maps", "payload",
                 "payload_kind", "body_fields", "required", "has_body", "decoder", "checksums")

    def __init__(self):
        self.template: UriTemplate | None = None
        self.labels: list[tuple[str, str, str, TextFn, Callable]] = []   # member, label, path, convert, read
        self.query: dict[str, tuple[str, str, TextFn, Callable, bool]] = {}  # key -> member, path, convert, read, is_list
        self.query_map: tuple[str, str, TextFn, Callable, bool] | None = None
        self.headers: list[tuple[str, str, str, TextFn, Callable | None]] = []
        self.header_maps: list[tuple[str, str, str, TextFn, Callable]] = []
        self.payload: str | None = None
        self.payload_kind = ""          # "structure", "blob", "string" or another type name
        self.body_fields: dict[str, tuple[str, str, Callable]] = {}   # body key -> member, path, read
        self.required: list[tuple[str, str]] = []
        self.has_body = False
        self.decoder: Any = None        # the protocol's compiled body reader (see compile_decoder)
        self.checksums = payload.CHECKSUMS_IGNORED   # what the model's httpChecksum trait asks of the body


class ResponsePlan:
    """How one operation's output is written."""

    __slots__ = ("status", "status_member", "range_member", "headers", "header_maps", "payload", "payload_kind",
                 "payload_shape", "body_members", "shape", "encoder")

    def __init__(self, status: int):
        self.status = status
        self.status_member: str | None = None
        self.range_member: str | None = None   # the member sent as Content-Range: set, the answer is partial
        self.headers: list[tuple[str, str, Callable[[Any], str]]] = []
        self.header_maps: list[tuple[str, str, Callable[[Any], str]]] = []
        self.payload: str | None = None
        self.payload_kind = ""
        self.payload_shape: Shape | None = None
        self.body_members: list[str] = []
        self.shape: Shape | None = None
        self.encoder: Any = None        # the protocol's compiled body writer (see compile_encoder)


# --------------------------------------------------------------------------------------------------------
# The codec


class RestCodec(Codec):
    """REST binding; subclasses say how bodies and errors look (JSON or XML).

    Subclass hooks: ``body_key`` (how a body member is named in what ``decode_body`` returns),
    ``compile_decoder`` / ``decode_body`` (bytes -> dict of body values) / ``decode_structure`` (a payload
    structure), ``compile_encoder`` / ``encode_body`` / ``encode_structure`` (output members -> bytes),
    ``body_content_type`` and ``serialize_error``.
    """

    body_content_type = "application/json"

    def __init__(self, service_model: ServiceModel):
        super().__init__(service_model)
        self.templates = UriTemplates(service_model)
        self.typed_reader = TypedReader()
        self._request_plans: dict[str, RequestPlan] = {}
        self._response_plans: dict[str, ResponsePlan] = {}

    # --- routing ----------------------------------------------------------------------------------------

    def operation_for(self, request: Request) -> str | None:
        template = self.templates.match(request)
        return template.operation if template is not None else None

    def unknown_operation(self, request: Request) -> UnknownOperation:
        """A REST request names its operation by method and URI alone: what it asked for is its path (always
        read as one, even an odd request target such as ``*``), never a header such as ``X-Amz-Target``."""
        path = request.path if request.path.startswith("/") else "/" + request.path
        return UnknownOperation(path, self.wrong_method(request))

    def wrong_method(self, request: Request) -> bool:
        return any(self.templates.match(replace(request, method=method)) is not None
                   for method in self.templates.by_method if method != request.method.upper())

    # --- input ------------------------------------------------------------------------------------------

    def parse(self, operation: OperationModel, request: Request) -> dict:
        plan = self._request_plans.get(operation.name)
        if plan is None:
            plan = self._request_plans[operation.name] = self.compile_request(operation)
        request = payload.unframe(request)
        payload.verify(request, plan.checksums)
        try:
            return self._parse(plan, request)
        except (SerializationError, ValidationFailed):
            raise
        except Exception as exc:   # whatever odd input trips is still bad input, never a 500
            raise SerializationError(f"Unable to read request: {exc}") from None

    def _parse(self, plan: RequestPlan, request: Request) -> dict:
        out: dict = {}
        violations: list[Violation] = []

        if plan.labels:
            raw_path = request.raw_path or request.path
            match = plan.template.regex.match(raw_path) if plan.template is not None else None
            if match is None:
                raise SerializationError("Request path does not match the operation")
            labels = plan.template.labels_of(match)
            for name, label, path, convert, read in plan.labels:
                value = labels.get(label)
                if value is not None:
                    out[name] = read(convert(value), path, violations)

        if (plan.query or plan.query_map) and request.query_string:
            self._parse_query(plan, request.query_string, out, violations)

        headers = request.headers
        for name, header, path, convert, read in plan.headers:
            text = headers.get(header)
            # An empty header means nothing for any type but a string.
            if text is None or (not text and convert is not str):
                continue
            value = convert(text)
            out[name] = value if read is None else read(value, path, violations)
        for name, prefix, path, convert, read in plan.header_maps:
            found = {key[len(prefix):]: convert(text) for key, text in headers.items() if key.startswith(prefix)}
            if found:
                out[name] = read(found, path, violations)

        if plan.payload is not None:
            self._parse_payload(plan, request, out, violations)
        elif plan.has_body:
            body = request.body
            if body and not body.isspace():
                fields = plan.body_fields
                for key, value in self.decode_body(plan, body).items():
                    field = fields.get(key)
                    if field is None or value is None:
                        continue
                    name, path, read = field
                    out[name] = read(value, path, violations)

        for name, path in plan.required:
            if name not in out:
                violations.append(Violation(path, "required", None))
        if violations:
            raise ValidationFailed(violations)
        return out

    def _parse_query(self, plan: RequestPlan, query_string: str, out: dict, violations: list) -> None:
        static = {key for key, _ in plan.template.static_query} if plan.template is not None else set()
        collected: dict[str, list[str]] = {}
        leftovers: dict[str, list[str]] = {}
        for key, value in query_pairs(query_string):
            if key in plan.query:
                collected.setdefault(key, []).append(value)
            elif key not in static and key not in _PRESIGN_PARAMETERS:
                leftovers.setdefault(key, []).append(value)
        for key, values in collected.items():
            name, path, convert, read, is_list = plan.query[key]
            # A scalar given more than once: the first value counts.
            value = [convert(v) for v in values] if is_list else convert(values[0])
            out[name] = read(value, path, violations)
        if plan.query_map is not None and leftovers:
            name, path, convert, read, values_are_lists = plan.query_map
            if values_are_lists:
                found = {key: [convert(v) for v in values] for key, values in leftovers.items()}
            else:
                found = {key: convert(values[0]) for key, values in leftovers.items()}
            out[name] = read(found, path, violations)

    def _parse_payload(self, plan: RequestPlan, request: Request, out: dict, violations: list) -> None:
        name, kind = plan.payload, plan.payload_kind
        path, read = plan.body_fields[name][1:]
        if kind == "blob":
            # Always present, empty for an empty body: streaming uploads read it whatever its size. The body
            # itself (a ``wire.Body``, maybe spooled to a file), so the byte store can take it over.
            out[name] = read(request.payload, path, violations)
            return
        body = request.body
        if not body:
            return
        if kind == "string":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise SerializationError("Request body is not valid UTF-8") from None
            out[name] = read(text, path, violations)
            return
        if body.isspace():
            return
        out[name] = read(self.decode_structure(plan, body), path, violations)

    # --- compiling ---------------------------------------------------------------------------------------

    def compile_request(self, operation: OperationModel) -> RequestPlan:
        plan = RequestPlan()
        plan.template = self.templates.by_operation.get(operation.name)
        plan.checksums = payload.checksum_policy(operation)
        shape = operation.input_shape
        if shape is None:
            return plan
        plan.payload = shape.serialization.get("payload")
        typed = self.typed_reader
        for name, member in shape.members.items():
            serialization = member.serialization
            location = serialization.get("location")
            wire = serialization.get("name", name)
            path = camel(name)
            if location == "uri":
                plan.labels.append((name, wire, path, text_converter(member, "uri"), typed.compile(member)))
            elif location == "querystring":
                if member.type_name == "map":
                    values_are_lists = member.value.type_name == "list"
                    item_shape = member.value.member if values_are_lists else member.value
                    plan.query_map = (name, path, text_converter(item_shape, "querystring"),
                                      typed.compile(member), values_are_lists)
                else:
                    is_list = member.type_name == "list"
                    item_shape = member.member if is_list else member
                    plan.query[wire] = (name, path, text_converter(item_shape, "querystring"),
                                        typed.compile(member), is_list)
            elif location == "header":
                jsonvalue = member.type_name == "string" and serialization.get("jsonvalue")
                read = None if jsonvalue else typed.compile(member)   # a JSON value is any value
                plan.headers.append((name, wire.lower(), path, text_converter(member, "header"), read))
            elif location == "headers":
                plan.header_maps.append((name, wire.lower(), path, text_converter(member.value, "headers"),
                                         typed.compile(member)))
            elif location is None:
                if name == plan.payload:
                    plan.payload_kind = member.type_name
                    reader = typed if member.type_name in ("blob", "string") else self.reader
                    plan.body_fields[name] = (name, path, reader.compile(member))
                else:
                    plan.has_body = True
                    plan.body_fields[self.body_key(name, member)] = (name, path, self.reader.compile(member))
            # statusCode and other locations carry nothing for input.
        plan.required = [(name, camel(name)) for name in shape.required_members]
        plan.decoder = self.compile_decoder(operation, plan)
        return plan

    def compile_response(self, operation: OperationModel) -> ResponsePlan:
        plan = ResponsePlan(int(operation.http.get("responseCode", 200)))
        shape = operation.output_shape
        plan.shape = shape
        if shape is None:
            return plan
        plan.payload = shape.serialization.get("payload")
        for name, member in shape.members.items():
            serialization = member.serialization
            location = serialization.get("location")
            wire = serialization.get("name", name)
            if location == "statusCode":
                plan.status_member = name
            elif location == "header":
                plan.headers.append((name, wire, text_formatter(member, "header")))
                if wire.lower() == "content-range":
                    plan.range_member = name
            elif location == "headers":
                plan.header_maps.append((name, wire, text_formatter(member.value, "headers")))
            elif location is None:
                if name == plan.payload:
                    plan.payload_kind = member.type_name
                    plan.payload_shape = member
                else:
                    plan.body_members.append(name)
        plan.encoder = self.compile_encoder(plan)
        return plan

    # --- output ------------------------------------------------------------------------------------------

    def serialize(self, operation: OperationModel, output: dict | None) -> Response:
        plan = self._response_plans.get(operation.name)
        if plan is None:
            plan = self._response_plans[operation.name] = self.compile_response(operation)
        output = output or {}
        headers = self.response_headers()
        status = plan.status
        if plan.status_member is not None and output.get(plan.status_member) is not None:
            status = int(output[plan.status_member])
        elif plan.range_member is not None and output.get(plan.range_member) is not None:
            status = 206   # RFC 9110: a Content-Range on a success is a Partial Content answer
        elif output.get(STARTED):
            status = 202
        for name, header, fmt in plan.headers:
            value = output.get(name)
            if value is not None:
                headers.append((header, fmt(value)))
        for name, prefix, fmt in plan.header_maps:
            for key, value in (output.get(name) or {}).items():
                if value is not None:
                    headers.append((prefix + key, fmt(value)))

        body, content_type = b"", None
        if plan.payload is not None:
            value = output.get(plan.payload)
            kind = plan.payload_kind
            if value is None:
                pass
            elif kind == "blob":
                # A Blob (an object's or archive's bytes in the byte store) is streamed by the server.
                body = value.encode("utf-8") if isinstance(value, str) else (
                    value if isinstance(value, Blob) else bytes(value))
                content_type = "application/octet-stream"
            elif kind == "string":
                body = value.encode("utf-8") if isinstance(value, str) else bytes(value)
                content_type = "text/plain"
            else:
                body = self.encode_structure(plan, value)
                content_type = self.body_content_type
        elif plan.body_members:
            body = self.encode_body(plan, output)
            content_type = self.body_content_type

        if status in _NO_BODY_STATUSES:
            body = b""
        if body and content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", content_type))
        return Response(status, headers, body)

    def response_headers(self) -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", new_request_id())]

    # --- protocol hooks ------------------------------------------------------------------------------------

    def body_key(self, name: str, member: Shape) -> str:
        raise NotImplementedError

    def compile_decoder(self, operation: OperationModel, plan: RequestPlan):
        """Whatever ``decode_body`` and ``decode_structure`` need, compiled once per operation."""
        return None

    def decode_body(self, plan: RequestPlan, body: bytes) -> dict:
        raise NotImplementedError

    def decode_structure(self, plan: RequestPlan, body: bytes):
        raise NotImplementedError

    def compile_encoder(self, plan: ResponsePlan):
        """Whatever ``encode_body`` and ``encode_structure`` need, compiled once per operation."""
        return None

    def encode_body(self, plan: ResponsePlan, output: dict) -> bytes:
        raise NotImplementedError

    def encode_structure(self, plan: ResponsePlan, value) -> bytes:
        raise NotImplementedError
