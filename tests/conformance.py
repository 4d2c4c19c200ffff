"""Check jobyard's wire responses against the botocore service models.

botocore's parsers are lenient: they silently drop members the model lacks,
never check enums, patterns or lengths on output, and pass through whatever
scalar types the wire carried.  Stricter SDKs (and code written against the
documented API) break on such responses, so every response the tests receive
is compared against the model here.

Public API:
    check_output / assert_conforms    -- a parsed successful response
    check_wire                        -- its raw body, for members botocore drops
    check_error / assert_error_conforms -- a ClientError (or its .response)
    attach(client)                    -- check every response a client receives
    cbor_client(session, service)     -- a client forced onto smithy-rpc-v2-cbor
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import re
from xml.etree import ElementTree

import boto3
import botocore.session
import cbor2
from botocore.exceptions import ClientError
from botocore.loaders import Loader

# Codes any AWS service may answer with although no operation models them.
GENERIC_ERROR_CODES = (
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
    "AccessDeniedException",
    "ThrottlingException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "IncompleteSignature",
)

CBOR_PROTOCOL = "smithy-rpc-v2-cbor"

# Model patterns that no value can match as written.  dataexchange's
# AwsAccountId wraps a JavaScript regex literal in `.*/.../.*`; the evident
# intent is a 12-digit account id, which is what AWS returns.
_PATTERN_FIXES = {r".*/^[\d]{12}$/.*": r"\d{12}"}


@functools.lru_cache(maxsize=None)
def _compile(pattern: str) -> re.Pattern | None:
    """Compile a model pattern once; None when it is Java-only syntax.

    Some model patterns use constructs Python's `re` lacks (\\p{L}, surrogate
    ranges); skipping them beats failing tests over the checker itself.
    """
    try:
        return re.compile(_PATTERN_FIXES.get(pattern, pattern))
    except re.error:
        return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value) -> str:
    return type(value).__name__


def _check_range(shape, size, what, path, problems):
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        problems.append(f"{path}: {what} {size!r} below min {low}")
    if high is not None and size > high:
        problems.append(f"{path}: {what} {size!r} above max {high}")


def _is_stream(value) -> bool:
    return callable(getattr(value, "read", None))


def _check(shape, value, path, problems):
    """Append to `problems` every way `value` departs from `shape`."""
    where = path or "<output>"
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:  # free-form JSON by definition
            return
        if not isinstance(value, dict):
            problems.append(f"{where}: expected structure (dict), got {_type_name(value)}")
            return
        for key in value.keys() - shape.members.keys():
            problems.append(f"{_join(path, key)}: unknown member of {shape.name}")
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{_join(path, name)}: required member missing")
        if shape.is_tagged_union and len(value) != 1:
            problems.append(f"{where}: union {shape.name} must set exactly one member, got {sorted(value)}")
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], _join(path, name), problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{where}: expected list, got {_type_name(value)}")
            return
        _check_range(shape, len(value), "length", where, problems)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected map (dict), got {_type_name(value)}")
            return
        _check_range(shape, len(value), "length", where, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key {key!r}>", problems)
            _check(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected string, got {_type_name(value)}")
            return
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} not in enum {shape.name} {enum}")
        pattern = shape.metadata.get("pattern")
        regex = _compile(pattern) if pattern else None
        if regex is not None and not regex.fullmatch(value):
            problems.append(f"{where}: {value!r} does not match pattern {pattern!r}")
        _check_range(shape, len(value), "length", where, problems)
    elif kind in ("integer", "long"):
        # bool is an int subclass; a JSON true where a number belongs is a bug.
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: expected {kind}, got {_type_name(value)}")
            return
        _check_range(shape, value, "value", where, problems)
    elif kind in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: expected {kind}, got {_type_name(value)}")
            return
        _check_range(shape, value, "value", where, problems)
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected boolean, got {_type_name(value)}")
    elif kind == "timestamp":
        if not isinstance(value, datetime.datetime):
            problems.append(f"{where}: expected timestamp (datetime), got {_type_name(value)}")
    elif kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            problems.append(f"{where}: expected blob (bytes), got {_type_name(value)}")
            return
        _check_range(shape, len(value), "length", where, problems)


def check_output(operation_model, parsed: dict, *, skip_streaming: bool = False) -> list[str]:
    """Problems of a parsed successful response; empty when it conforms.

    `ResponseMetadata` is ignored.  A streaming payload must be bytes or a
    readable body; with `skip_streaming` it is not looked at at all, so a
    body the caller still has to read is left untouched.
    """
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    shape = operation_model.output_shape
    if shape is None:
        return [f"{key}: operation {operation_model.name} has no output" for key in body]
    problems: list[str] = []
    streaming = operation_model.get_streaming_output()
    if streaming is not None:
        name = shape.serialization["payload"]
        if name in body:
            value = body.pop(name)
            if not skip_streaming and not isinstance(value, (bytes, bytearray)) and not _is_stream(value):
                problems.append(f"{name}: expected streaming body, got {_type_name(value)}")
    if operation_model.has_event_stream_output:
        # An EventStream can only be checked by consuming it.
        body.pop(shape.event_stream_name, None)
    _check(shape, body, "", problems)
    return problems


def check_wire(operation_model, body: bytes) -> list[str]:
    """Members a successful response body carries that the model lacks.

    botocore's parsers walk the model, not the body, so unknown members never
    reach the parsed dict that check_output sees; this looks at the bytes.
    Streaming and event-stream outputs are not bodies of members: pass those
    operations no body.
    """
    shape = operation_model.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload is not None:
        shape = shape.members[payload]
    if shape is None or shape.type_name != "structure" or not body.strip():
        return []
    protocol = operation_model.service_model.resolved_protocol
    problems: list[str] = []
    try:
        if protocol in ("json", "rest-json"):
            _wire_tree(shape, json.loads(body), "", problems)
        elif protocol == CBOR_PROTOCOL:
            _wire_tree(shape, cbor2.loads(body), "", problems)
        elif protocol == "rest-xml":
            _wire_xml(shape, ElementTree.fromstring(body), "", problems)
        elif protocol == "query":
            _wire_query(operation_model, shape, ElementTree.fromstring(body), problems)
    except (ValueError, ElementTree.ParseError, cbor2.CBORDecodeError) as exc:
        problems.append(f"<body>: not a valid {protocol} body: {exc}")
    return problems


def _body_members(shape, wire_name):
    """Wire name -> member name for the members a structure keeps in its body."""
    return {
        wire_name(member, name): name
        for name, member in shape.members.items()
        if "location" not in member.serialization and not member.serialization.get("xmlAttribute")
    }


def _json_name(member, name):
    return member.serialization.get("name", name)


def _wire_tree(shape, node, path, problems):
    """JSON and CBOR bodies: dicts, lists and scalars."""
    kind = shape.type_name
    if kind == "structure" and isinstance(node, dict) and not shape.is_document_type:
        members = _body_members(shape, _json_name)
        for key, value in node.items():
            if key not in members:
                problems.append(f"{_join(path, key)}: unknown member of {shape.name} on the wire")
            else:
                name = members[key]
                _wire_tree(shape.members[name], value, _join(path, name), problems)
    elif kind == "list" and isinstance(node, list):
        for i, item in enumerate(node):
            _wire_tree(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "map" and isinstance(node, dict):
        for key, value in node.items():
            _wire_tree(shape.value, value, f"{path}[{key!r}]", problems)


def _xml_name(member, name):
    # As botocore's RestXMLParser._member_key_name: a flattened list repeats
    # its item element directly inside the parent, named by the item's
    # locationName if it has one, else by the member's own.
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name is not None:
            return item_name
    return member.serialization.get("name", name)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _wire_xml(shape, node, path, problems):
    kind = shape.type_name
    if kind == "structure":
        members = _body_members(shape, _xml_name)
        seen: dict[str, int] = {}
        for child in node:
            tag = _local(child.tag)
            if tag not in members:
                problems.append(f"{_join(path, tag)}: unknown member of {shape.name} on the wire")
                continue
            name = members[tag]
            member = shape.members[name]
            if member.type_name == "list" and member.serialization.get("flattened"):
                index = seen[name] = seen.get(name, -1) + 1
                _wire_xml(member.member, child, f"{_join(path, name)}[{index}]", problems)
            elif member.type_name == "map" and member.serialization.get("flattened"):
                _wire_map_entry(member, child, _join(path, name), problems)   # each entry repeats the member
            else:
                _wire_xml(member, child, _join(path, name), problems)
    elif kind == "list":
        item = shape.member.serialization.get("name", "member")
        for i, child in enumerate(node):
            if _local(child.tag) != item:
                problems.append(f"{path}[{i}]: list item element <{_local(child.tag)}>, expected <{item}>")
            else:
                _wire_xml(shape.member, child, f"{path}[{i}]", problems)
    elif kind == "map":
        for entry in node:
            if _local(entry.tag) != "entry":
                problems.append(f"{path}: map entry <{_local(entry.tag)}>, expected <entry>")
            else:
                _wire_map_entry(shape, entry, path, problems)


def _wire_map_entry(shape, entry, path, problems):
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    parts = {_local(part.tag): part for part in entry}
    if parts.keys() != {key_tag, value_tag}:
        problems.append(f"{path}: malformed map entry <{_local(entry.tag)}> {sorted(parts)}")
    else:
        key = parts[key_tag].text
        _wire_xml(shape.value, parts[value_tag], f"{path}[{key!r}]", problems)


def _wire_query(operation_model, shape, root, problems):
    """``<OpResponse><OpResult>members</OpResult><ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>``."""
    expected = f"{operation_model.name}Response"
    if _local(root.tag) != expected:
        problems.append(f"<root>: <{_local(root.tag)}>, expected <{expected}>")
    wrapper = shape.serialization.get("resultWrapper")
    children = {_local(child.tag): child for child in root}
    unexpected = set(children) - {wrapper, "ResponseMetadata"}
    if wrapper and unexpected:
        problems.append(f"<root>: unexpected elements {sorted(unexpected)}")
    metadata = children.get("ResponseMetadata")
    if metadata is None or not metadata.findtext("{*}RequestId"):
        problems.append("ResponseMetadata.RequestId: missing")
    if wrapper and wrapper in children:
        _wire_xml(shape, children[wrapper], "", problems)


def assert_conforms(operation_model, parsed: dict, **kwargs) -> None:
    problems = check_output(operation_model, parsed, **kwargs)
    if problems:
        raise AssertionError(_report(operation_model, "output", problems))


def check_error(operation_model, error_response, allowed_generic=GENERIC_ERROR_CODES) -> list[str]:
    """Problems of an error response (a ClientError or its `.response`)."""
    if isinstance(error_response, ClientError):
        error_response = error_response.response
    problems = []
    error = error_response.get("Error") or {}
    status = (error_response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    code = error.get("Code")
    modelled = {s.name: s for s in operation_model.error_shapes}
    modelled.update({s.error_code: s for s in operation_model.error_shapes if s.error_code})
    if code in modelled:
        # A modelled httpStatusCode is part of the contract (rest protocols
        # route on it, and SDKs surface it).
        expected = modelled[code].metadata.get("error", {}).get("httpStatusCode")
        if expected is not None and status != expected:
            problems.append(f"HTTPStatusCode: {code} is modelled as {expected}, got {status!r}")
    elif code not in allowed_generic:
        problems.append(
            f"Error.Code: {code!r} is neither modelled for {operation_model.name} "
            f"{sorted(modelled)} nor generic"
        )
    message = error.get("Message")
    if not isinstance(message, str) or not message:
        problems.append(f"Error.Message: expected non-empty string, got {message!r}")
    if not isinstance(status, int) or status < 400:
        problems.append(f"ResponseMetadata.HTTPStatusCode: expected >= 400, got {status!r}")
    return problems


def assert_error_conforms(operation_model, error_response, allowed_generic=GENERIC_ERROR_CODES) -> None:
    problems = check_error(operation_model, error_response, allowed_generic)
    if problems:
        raise AssertionError(_report(operation_model, "error", problems))


def _report(operation_model, what, problems) -> str:
    service = operation_model.service_model.service_name
    lines = "\n  ".join(problems)
    return f"{service}.{operation_model.name} {what} does not conform to the model:\n  {lines}"


def attach(client, *, check_errors: bool = False, allowed_generic=GENERIC_ERROR_CODES) -> list[str]:
    """Conformance-check every response `client` receives from now on.

    Successful responses go through check_output and check_wire.  A
    nonconforming response makes the client call itself raise
    AssertionError: botocore emits `after-call` inside `_make_api_call` and
    does not catch handler exceptions.  Each failure is also appended to the
    returned list, so a fixture can assert it empty at teardown and catch
    failures a test swallowed with a broad `except`.

    Error responses are only checked with `check_errors=True`.
    """
    failures: list[str] = []

    def after_call(http_response, parsed, model, **kwargs):
        if http_response.status_code >= 300:
            if not check_errors:
                return
            problems, what = check_error(model, parsed, allowed_generic), "error"
        else:
            problems, what = check_output(model, parsed, skip_streaming=True), "output"
            if not (model.has_streaming_output or model.has_event_stream_output):
                problems += check_wire(model, http_response.content)
        if problems:
            report = _report(model, what, problems)
            failures.append(report)
            raise AssertionError(report)

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"after-call.{service_id}", after_call)
    return failures


class _ProtocolForcingLoader(Loader):
    """A Loader that rewrites one service's model to a single protocol.

    botocore picks the first protocol of its own priority list that the model
    offers (json before smithy-rpc-v2-cbor), so the only way to get a CBOR
    client is to offer nothing else.
    """

    def __init__(self, service_name: str, protocol: str, **kwargs):
        super().__init__(**kwargs)
        self._forced = (service_name, protocol)

    def load_service_model(self, service_name, type_name, api_version=None):
        model = super().load_service_model(service_name, type_name, api_version=api_version)
        forced_service, protocol = self._forced
        if service_name != forced_service or type_name != "service-2":
            return model
        supported = model["metadata"].get("protocols") or [model["metadata"]["protocol"]]
        if protocol not in supported:
            raise ValueError(f"{service_name} does not support {protocol} (only {supported})")
        # Copy rather than mutate: the parent's cache hands out this dict.
        metadata = {**model["metadata"], "protocol": protocol, "protocols": [protocol]}
        return {**model, "metadata": metadata}


@contextlib.contextmanager
def checked(client):
    """``attach`` for a fixture's lifetime: any response that broke its model fails the test at teardown,
    even one whose AssertionError the test itself swallowed."""
    failures = attach(client)
    yield client
    assert not failures, "\n".join(failures)


def cbor_client(session=None, service_name: str = "snowball", **client_kwargs):
    """A boto3 client for `service_name` that speaks smithy-rpc-v2-cbor.

    The forced model lives in a fresh botocore session, so clients made from
    `session` (a boto3 or botocore Session, or None) are unaffected.  Only the
    credentials and region of `session` carry over; its event handlers do not.
    """
    core = botocore.session.get_session()
    # Registered before boto3.Session() exists: it appends its own data path
    # to whatever loader the session holds at construction.
    core.register_component(
        "data_loader",
        _ProtocolForcingLoader(service_name, CBOR_PROTOCOL, extra_search_paths=_data_paths(core)),
    )
    region = None
    if session is not None:
        credentials = session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            core.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)
        region = getattr(session, "region_name", None) or _botocore_region(session)
    client_kwargs.setdefault("region_name", region)
    return boto3.Session(botocore_session=core).client(service_name, **client_kwargs)


def _data_paths(core) -> list[str]:
    # Mirrors botocore.loaders.create_loader so AWS_DATA_PATH still applies.
    raw = core.get_config_variable("data_path")
    if not raw:
        return []
    return [os.path.expanduser(os.path.expandvars(p)) for p in raw.split(os.pathsep)]


def _botocore_region(session):
    get = getattr(session, "get_config_variable", None)
    return get("region") if get else None
