"""REST-XML (restXml): the REST binding of ``rest.py`` with XML bodies, as S3 Control speaks it.

Mirrors botocore's ``RestXMLSerializer`` / ``RestXMLParser``: the body is one element (the input shape's
``locationName``, or the payload member's) whose children are the members, named by ``locationName``;
lists are wrapped in their member's element with items named by the list member's ``locationName``
(default ``member``) unless ``flattened``; maps are ``<entry><key/><value/></entry>``; timestamps are
ISO 8601 and blobs base64 unless the model says otherwise; ``xmlAttribute`` members are attributes.
Errors are S3's ``<Error><Code/><Message/><RequestId/><HostId/></Error>``.
"""

from __future__ import annotations

import base64
import os
import re
from typing import TYPE_CHECKING, Any, Callable
from xml.etree import ElementTree

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel, Shape

from . import register
from .base import ISO8601, format_timestamp
from .rest import ResponsePlan, RestCodec, TypedReader, format_float, text_converter
from ..errors import SerializationError, ServiceError
from ..outputs import SEQUENCE
from ..wire import Response

CONTENT_TYPE = "application/xml"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

DecodeFn = Callable[[ElementTree.Element], Any]
EncodeFn = Callable[[Any, str, list], None]    # (value, element name, output pieces)


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


# Characters XML 1.0 cannot carry at all, even as references; they go out as U+FFFD rather than
# making the whole document unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Any character ``escape_text`` changes: text with none of them (nearly all) goes out as it is.
_ESCAPED = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_text(text: str) -> str:
    if _ESCAPED.search(text) is None:
        return text
    # '\r' as a reference, or XML parsers normalise it away.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _NOT_XML.sub("\ufffd", text)


def escape_attribute(text: str) -> str:
    return escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def namespace_attribute(serialization: dict) -> str:
    """``xmlns="..."`` (or ``xmlns:prefix="..."``) for a shape's ``xmlNamespace`` trait, as botocore writes it."""
    namespace = serialization.get("xmlNamespace")
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f' xmlns="{escape_attribute(namespace)}"'
    prefix = namespace.get("prefix")
    name = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {name}="{escape_attribute(namespace.get("uri", ""))}"'


def parse_xml(body: bytes) -> ElementTree.Element:
    # No DTDs at all: entity definitions are the way to XML bombs, and AWS bodies never carry one.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise SerializationError("XML document type declarations are not allowed")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise SerializationError(f"The XML you provided was not well-formed: {exc}") from None


def _flattened_item_names(name: str, member: Shape) -> tuple[str, ...]:
    """Element names a flattened list's items go by: botocore's serializer repeats the member's own
    name, its parser looks for the list member's ``locationName`` first; accept both."""
    item_name = member.member.serialization.get("name")
    own = member.serialization.get("name", name)
    return (item_name, own) if item_name and item_name != own else (own,)


# --------------------------------------------------------------------------------------------------------
# Reading: elements -> the typed values TypedReader validates


class XmlDecoder:
    """Compiles shapes into ``decode(element)`` closures producing plain Python values: structures as
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
            item = self.compile(shape.member)
            return lambda element: [item(child) for child in element]
        if kind == "map":
            entry = self._map_entry(shape)
            return lambda element: dict(entry(child) for child in element)
        return self._scalar(shape)

    def _structure(self, shape: Shape, key) -> DecodeFn:
        children: dict[str, tuple[str, DecodeFn, str]] = {}   # tag -> (member, decoder, grouping)
        attributes: dict[str, tuple[str, DecodeFn]] = {}     # local attribute name -> (member, converter)

        def decode(element):
            out: dict = {}
            for child in element:
                field = children.get(local_name(child.tag))
                if field is None:
                    continue
                name, decoder, grouping = field
                if grouping == "flat-list":
                    out.setdefault(name, []).append(decoder(child))
                elif grouping == "flat-map":
                    k, v = decoder(child)
                    out.setdefault(name, {})[k] = v
                else:
                    out[name] = decoder(child)
            if attributes:
                for attribute, text in element.attrib.items():
                    field = attributes.get(local_name(attribute))
                    if field is not None:
                        out[field[0]] = field[1](text)
            return out

        self._cache[key] = decode   # before the members, for recursive shapes
        for name, member in shape.members.items():
            serialization = member.serialization
            if serialization.get("location"):
                continue   # headers, labels and query values are not in the body
            if serialization.get("xmlAttribute"):
                attribute = serialization.get("name", name).rpartition(":")[2]
                attributes[attribute] = (name, self._text(member))
            elif member.type_name == "list" and serialization.get("flattened"):
                item = self.compile(member.member)
                for tag in _flattened_item_names(name, member):
                    children[tag] = (name, item, "flat-list")
            elif member.type_name == "map" and serialization.get("flattened"):
                children[serialization.get("name", name)] = (name, self._map_entry(member), "flat-map")
            else:
                children[serialization.get("name", name)] = (name, self.compile(member), "")
        return decode

    def _map_entry(self, shape: Shape) -> Callable:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        key_decoder, value_decoder = self.compile(shape.key), self.compile(shape.value)

        def entry(element):
            k = v = None
            for part in element:
                tag = local_name(part.tag)
                if tag == key_tag:
                    k = key_decoder(part)
                elif tag == value_tag:
                    v = value_decoder(part)
            if k is None:
                raise SerializationError("Map entry without a key")
            return k, v

        return entry

    def _scalar(self, shape: Shape) -> DecodeFn:
        convert = self._text(shape)
        return lambda element: convert(element.text or "")

    @staticmethod
    def _text(shape: Shape) -> Callable[[str], Any]:
        return text_converter(shape, "body")


# --------------------------------------------------------------------------------------------------------
# Writing: output values -> XML text


class XmlEncoder:
    """Compiles shapes into ``encode(value, name, out)`` closures that append XML text to ``out``."""

    def __init__(self):
        self._cache: dict[tuple, EncodeFn] = {}

    def compile(self, shape: Shape) -> EncodeFn:
        serialization = shape.serialization
        key = (shape.name, serialization.get("timestampFormat"), namespace_attribute(serialization))
        fn = self._cache.get(key)
        if fn is None:
            fn = self._build(shape, key)
            self._cache[key] = fn
        return fn

    def _build(self, shape: Shape, key) -> EncodeFn:
        kind = shape.type_name
        xmlns = namespace_attribute(shape.serialization)
        if kind == "structure":
            attributes, members = self.structure_parts(shape, key)

            def structure(value, name, out):
                out.append(f"<{name}{xmlns}{attributes(value)}>")
                members(value, out)
                out.append(f"</{name}>")

            self._cache[key] = structure
            return structure
        if kind == "list":
            item_name = shape.member.serialization.get("name", "member")
            item = self.compile(shape.member)

            def wrapped_list(value, name, out):
                out.append(f"<{name}{xmlns}>")
                for entry in value:
                    if entry is not None:
                        item(entry, item_name, out)
                out.append(f"</{name}>")

            return wrapped_list
        if kind == "map":
            entries = self._map_entries(shape)

            def wrapped_map(value, name, out):
                out.append(f"<{name}{xmlns}>")
                entries(value, "entry", out)
                out.append(f"</{name}>")

            return wrapped_map
        text = self.text(shape)

        def scalar(value, name, out):
            out.append(f"<{name}{xmlns}>{text(value)}</{name}>")

        return scalar

    def structure_parts(self, shape: Shape, key=None) -> tuple[Callable[[dict], str], Callable[[dict, list], None]]:
        """(attributes text, members writer) of a structure, for the root element and nested ones."""
        fields: list[tuple[str, str, EncodeFn]] = []
        attribute_fields: list[tuple[str, str, Callable]] = []

        def attributes(value) -> str:
            if not attribute_fields:
                return ""
            parts = []
            for name, attribute, text in attribute_fields:
                item = value.get(name)
                if item is not None:
                    parts.append(f' {attribute}="{escape_attribute(text(item))}"')
            return "".join(parts)

        flat_items: dict[str, tuple[str, EncodeFn]] = {}   # flattened lists: their items' tag and writer

        # Scalar members: their element's opening and closing tags, made once.
        scalars: dict[str, tuple[str, Callable, str]] = {}

        def members(value, out):
            sequence = value.get(SEQUENCE) if flat_items else None
            together = {member for member, _ in sequence} if sequence else ()
            for name, tag, encode in fields:
                if name in together:
                    # The sequenced lists go out as one, where the first of them would.
                    for member, item in sequence or ():
                        item_tag, write = flat_items[member]
                        write(item, item_tag, out)
                    sequence = None
                    continue
                item = value.get(name)
                if item is not None:
                    scalar = scalars.get(name)
                    if scalar is None:
                        encode(item, tag, out)
                    else:
                        opening, text, closing = scalar
                        out.append(f"{opening}{text(item)}{closing}")

        if key is not None:
            # Recursive shapes: a member of this shape's own type finds the writer under construction.
            xmlns = namespace_attribute(shape.serialization)

            def placeholder(value, name, out):
                out.append(f"<{name}{xmlns}{attributes(value)}>")
                members(value, out)
                out.append(f"</{name}>")

            self._cache[key] = placeholder
        for name, member in shape.members.items():
            serialization = member.serialization
            if serialization.get("location"):
                continue
            tag = serialization.get("name", name)
            if serialization.get("xmlAttribute"):
                attribute_fields.append((name, tag, self.text(member)))
            elif member.type_name == "list" and serialization.get("flattened"):
                fields.append((name, _flattened_item_names(name, member)[0], self._flat_list(member)))
                flat_items[name] = (fields[-1][1], self.compile(member.member))
            elif member.type_name == "map" and serialization.get("flattened"):
                fields.append((name, tag, self._map_entries(member)))
            else:
                fields.append((name, tag, self.compile(member)))
                if member.type_name not in ("structure", "list", "map"):
                    scalars[name] = (f"<{tag}{namespace_attribute(serialization)}>", self.text(member), f"</{tag}>")
        return attributes, members

    def _flat_list(self, shape: Shape) -> EncodeFn:
        item = self.compile(shape.member)

        def flat_list(value, name, out):
            for entry in value:
                if entry is not None:
                    item(entry, name, out)

        return flat_list

    def _map_entries(self, shape: Shape) -> EncodeFn:
        """Each pair as ``<name><key/><value/></name>``: ``entry`` inside a wrapped map, the member's
        own name when flattened."""
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        key_encoder, value_encoder = self.compile(shape.key), self.compile(shape.value)

        def entries(value, name, out):
            for k, v in value.items():
                if v is None:
                    continue
                out.append(f"<{name}>")
                key_encoder(k, key_tag, out)
                value_encoder(v, value_tag, out)
                out.append(f"</{name}>")

        return entries

    @staticmethod
    def text(shape: Shape) -> Callable[[Any], str]:
        kind = shape.type_name
        if kind == "boolean":
            return lambda value: "true" if value else "false"
        if kind in ("integer", "long", "byte", "short"):
            return lambda value: str(int(value))
        if kind in ("float", "double"):
            return format_float
        if kind == "timestamp":
            fmt = (shape.serialization.get("timestampFormat") or ISO8601).lower()
            # Digits, letters and punctuation XML leaves alone: nothing to escape.
            return lambda value: str(format_timestamp(value, fmt))
        if kind == "blob":
            return lambda value: base64.b64encode(
                value.encode("utf-8") if isinstance(value, str) else bytes(value)).decode("ascii")
        return lambda value: escape_text(str(value))


def service_namespace(service_model: ServiceModel) -> str:
    """The namespace AWS puts on this service's response roots (S3 Control:
    ``http://awss3control.amazonaws.com/doc/2018-08-20/``); the models only carry it on input shapes."""
    for name in service_model.operation_names:
        shape = service_model.operation_model(name).input_shape
        if shape is None:
            continue
        candidates = [shape.serialization] + [m.serialization for m in shape.members.values()]
        for serialization in candidates:
            namespace = serialization.get("xmlNamespace")
            if isinstance(namespace, dict) and namespace.get("uri"):
                return namespace["uri"]
            if isinstance(namespace, str) and namespace:
                return namespace
    return ""


# Root elements of responses whose output shape the models leave unnamed (S3 API reference response
# syntax): clients that read by element name (the AWS SDK for Java 1.x) look for these.
RESPONSE_ROOTS = {
    ("s3", "ListBucketsOutput"): "ListAllMyBucketsResult",
    ("s3", "ListObjectsOutput"): "ListBucketResult",
    ("s3", "ListObjectsV2Output"): "ListBucketResult",
    ("s3", "ListObjectVersionsOutput"): "ListVersionsResult",
    ("s3", "GetObjectTaggingOutput"): "Tagging",
    ("s3", "GetObjectAclOutput"): "AccessControlPolicy",
    ("s3", "GetBucketVersioningOutput"): "VersioningConfiguration",
    ("s3", "DeleteObjectsOutput"): "DeleteResult",
    ("s3", "CreateMultipartUploadOutput"): "InitiateMultipartUploadResult",
    ("s3", "CompleteMultipartUploadOutput"): "CompleteMultipartUploadResult",
    ("s3", "ListMultipartUploadsOutput"): "ListMultipartUploadsResult",
    ("s3", "ListPartsOutput"): "ListPartsResult",
}

# Outputs whose whole body is one element holding their only member's value as its text, which the models
# cannot express (botocore reads it in a handler: ``parse_get_bucket_location``): output -> member.
TEXT_ROOTS = {("s3", "GetBucketLocationOutput"): "LocationConstraint"}


# --------------------------------------------------------------------------------------------------------
# The codec


@register
class RestXmlCodec(RestCodec):
    protocol = "rest-xml"
    reader_class = TypedReader      # the decoder turns XML into typed values first
    body_content_type = CONTENT_TYPE

    def __init__(self, service_model: ServiceModel):
        super().__init__(service_model)
        self.decoder = XmlDecoder()
        self.encoder = XmlEncoder()
        self.namespace = service_namespace(service_model)

    # --- input ------------------------------------------------------------------------------------------

    def body_key(self, name: str, member: Shape) -> str:
        return name

    def compile_decoder(self, operation: OperationModel, plan):
        shape = operation.input_shape
        if plan.payload is not None:
            payload = shape.members[plan.payload]
            return None if payload.type_name in ("blob", "string") else self.decoder.compile(payload)
        # The whole input shape: its decoder skips the members that have a location.
        return self.decoder.compile(shape) if plan.has_body else None

    def decode_body(self, plan, body: bytes) -> dict:
        return plan.decoder(parse_xml(body))

    def decode_structure(self, plan, body: bytes):
        return plan.decoder(parse_xml(body))

    # --- output -----------------------------------------------------------------------------------------

    def response_headers(self) -> list[tuple[str, str]]:
        return self._s3_headers(new_request_id_s3(), host_id())

    @staticmethod
    def _s3_headers(request_id: str, host: str) -> list[tuple[str, str]]:
        # botocore reads x-amzn-RequestId first; S3 clients know x-amz-request-id and x-amz-id-2.
        return [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id), ("x-amz-id-2", host)]

    def compile_encoder(self, plan: ResponsePlan):
        if plan.payload is not None:
            shape = plan.payload_shape
            if shape.type_name != "structure":
                return None
            root = shape.serialization.get("name") or shape.name
        elif plan.shape is not None:
            shape = plan.shape
            text_member = TEXT_ROOTS.get((self.service_model.service_name, shape.name))
            if text_member is not None:
                return self._text_root(shape.members[text_member], text_member)
            known = RESPONSE_ROOTS.get((self.service_model.service_name, shape.name))
            root = shape.serialization.get("name") or known or shape.name
        else:
            return None
        attributes, members = self.encoder.structure_parts(shape)
        xmlns = namespace_attribute(shape.serialization)
        if not xmlns and self.namespace:
            xmlns = f' xmlns="{escape_attribute(self.namespace)}"'
        return root, xmlns, attributes, members

    def _text_root(self, member: Shape, name: str):
        """The encoder parts of a TEXT_ROOTS output: ``<Member xmlns="...">value</Member>``."""
        text = self.encoder.text(member)
        xmlns = f' xmlns="{escape_attribute(self.namespace)}"' if self.namespace else ""

        def members(value, out):
            if value.get(name) is not None:
                out.append(text(value[name]))

        return member.serialization.get("name", name), xmlns, lambda value: "", members

    def _document(self, plan: ResponsePlan, value: dict) -> bytes:
        root, xmlns, attributes, members = plan.encoder
        out = [XML_DECLARATION, f"<{root}{xmlns}{attributes(value)}>"]
        members(value, out)
        out.append(f"</{root}>")
        return "".join(out).encode("utf-8")

    def encode_body(self, plan: ResponsePlan, output: dict) -> bytes:
        return self._document(plan, output)

    def encode_structure(self, plan: ResponsePlan, value) -> bytes:
        return self._document(plan, value)

    # --- errors -----------------------------------------------------------------------------------------

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        code = self.wire_error_code(error)
        request_id, host = new_request_id_s3(), host_id()
        headers = self._s3_headers(request_id, host)
        headers.append(("Content-Type", CONTENT_TYPE))
        headers.extend(getattr(error, "headers", ()))
        shape = self.error_shape(error.code)
        members = shape.members if shape is not None else {}
        out = [XML_DECLARATION, "<Error>", f"<Code>{escape_text(code)}</Code>"]
        if error.message is not None:
            out.append(f"<Message>{escape_text(str(error.message))}</Message>")
        for name, value in error.extra.items():
            if value is None or name in ("Code", "Message", "RequestId", "HostId"):
                continue
            member = members.get(name)
            if member is not None:
                self.encoder.compile(member)(value, member.serialization.get("name", name), out)
            else:
                out.append(f"<{name}>{escape_text(str(value))}</{name}>")
        out.append(f"<RequestId>{request_id}</RequestId><HostId>{host}</HostId></Error>")
        return Response(error.status, headers, "".join(out).encode("utf-8"))


def new_request_id_s3() -> str:
    """S3-style request id: 16 upper-case hex digits."""
    return os.urandom(8).hex().upper()


def host_id() -> str:
    return base64.b64encode(os.urandom(48)).decode("ascii")
