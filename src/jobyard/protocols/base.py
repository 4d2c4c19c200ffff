"""What every codec offers, and the shape machinery they share (walking, validation, timestamps).

Shapes are compiled into small closures, once per shape, and cached on the codec:

* ``ShapeReader`` turns a decoded wire value (from JSON, CBOR, ...) into service input. It checks types
  (a mismatch is a ``SerializationError``, as AWS answers ``SerializationException``), converts timestamps
  and blobs, and collects every broken model constraint as a ``Violation`` (required, min/max, enum,
  pattern), which ``Codec.read_input`` raises together as ``ValidationFailed``.
* ``ShapeWriter`` turns a service's output dict into the plain values a wire encoder can dump.

Protocols differ only in how blobs, timestamps and special floats look on the wire and in whether
members go by their ``locationName``; subclasses override the ``read_*`` / ``write_*`` hooks for that.
"""

from __future__ import annotations

import random
import re
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import OperationModel, ServiceModel, Shape

from ..blobs import Blob
from ..errors import SerializationError, ServiceError, UnknownOperation, ValidationFailed, Violation
from ..wire import Request, Response

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Formats as botocore names them in ``timestampFormat`` (compared lower-cased).
EPOCH_SECONDS = "unixtimestamp"
ISO8601 = "iso8601"
RFC822 = "rfc822"

ReadFn = Callable[[Any, str, list], Any]   # (wire value, member path, violations) -> input value
WriteFn = Callable[[Any], Any]             # output value -> wire value

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def new_request_id() -> str:
    """A version 4 UUID's text, as AWS's request ids look (from ``random``: an id, not a secret; a third of
    ``uuid4``'s cost, which every response pays)."""
    h = "%032x" % (random.getrandbits(128) & _UUID_CLEAR | _UUID_V4)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR = ~(0xF << 76) & ~(0x3 << 62)   # the version nibble and the variant bits
_UUID_V4 = (0x4 << 76) | (0x2 << 62)        # version 4, RFC 4122 variant


def camel(name: str) -> str:
    """Member name as AWS writes it in validation messages: first letter lower-cased."""
    return name[:1].lower() + name[1:]


# --------------------------------------------------------------------------------------------------------
# Timestamps


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(seconds: int | float) -> datetime:
    # Adding a timedelta avoids the platform limits of fromtimestamp (pre-1970, far future).
    try:
        return EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise SerializationError(f"Timestamp out of range: {seconds!r}") from None


_ISO8601_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))?"
)


def _parse_iso8601(text: str) -> datetime | None:
    # By hand: before 3.11 fromisoformat knows neither 'Z' nor fractions other than 3 or 6 digits.
    match = _ISO8601_RE.fullmatch(text)
    try:
        if match is None:
            return as_utc(datetime.fromisoformat(text))   # date-only and other rarer forms
        year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        tz = UTC
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-offset if sign == "-" else offset)
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz)
        return as_utc(value)
    except (ValueError, OverflowError):
        return None


def _parse_rfc822(text: str) -> datetime | None:
    try:
        return as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _parse_epoch_text(text: str) -> datetime | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return from_epoch(seconds)


_TEXT_PARSERS = {ISO8601: _parse_iso8601, RFC822: _parse_rfc822, EPOCH_SECONDS: _parse_epoch_text}


def parse_timestamp(value, fmt: str | None = None) -> datetime:
    """A wire timestamp as an aware UTC datetime.

    Numbers are epoch seconds whatever the declared format; text is read in the declared ``fmt`` first,
    then in the other formats, since clients are not all strict about the format they send.
    """
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch(value)
    if isinstance(value, Decimal):
        return from_epoch(float(value))
    if isinstance(value, str):
        text = value.strip()
        first = _TEXT_PARSERS.get((fmt or "").lower())
        for parser in (first, _parse_iso8601, _parse_rfc822, _parse_epoch_text):
            if parser is not None:
                parsed = parser(text)
                if parsed is not None:
                    return parsed
        raise SerializationError(f"Unable to parse timestamp: {value!r}")
    raise SerializationError(mismatch_message(value, "Timestamp"))


def as_datetime(value) -> datetime:
    """What services hand out as a timestamp (datetime, naive meaning UTC, or epoch seconds) as aware UTC."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return from_epoch(float(value))
    if isinstance(value, str):
        return parse_timestamp(value)
    raise TypeError(f"not a timestamp: {value!r}")


def epoch_seconds(value) -> int | float:
    """Epoch seconds, an int when there is no fraction, else a float at AWS's millisecond precision."""
    if type(value) is datetime and value.tzinfo is UTC:   # what services hand out, taken first
        delta = value - EPOCH
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    else:
        delta = as_datetime(value) - EPOCH
    seconds = delta.days * 86400 + delta.seconds
    millis = delta.microseconds // 1000
    return seconds + millis / 1000 if millis else seconds


def format_timestamp(value, fmt: str | None) -> int | float | str:
    """Output a timestamp in ``fmt`` (epoch seconds when None)."""
    fmt = (fmt or EPOCH_SECONDS).lower()
    if fmt == EPOCH_SECONDS:
        return epoch_seconds(value)
    dt = value if type(value) is datetime and value.tzinfo is UTC else as_datetime(value)
    if fmt == RFC822:
        return format_datetime(dt.replace(microsecond=0), usegmt=True)
    # ISO 8601 with four-digit years (``isoformat`` pads them too), at AWS's millisecond precision, with
    # no fraction when it is zero: the fixed-width prefix of ``isoformat()`` (cheaper than asking it for a
    # ``timespec``: lists pay this once or twice a row).
    text = dt.isoformat()
    return f"{text[:23]}Z" if dt.microsecond >= 1000 else f"{text[:19]}Z"


# --------------------------------------------------------------------------------------------------------
# Patterns

_PATTERNS: dict[str, re.Pattern | None] = {}
# A JavaScript regex literal carried inside a model pattern (Data Exchange's AwsAccountId is
# ``.*/^[\d]{12}$/.*``): no value can match it as written, so the literal's own regex is meant.
_REGEX_LITERAL = re.compile(r"(?:\.\*)?/\^(.*)\$/(?:\.\*)?")


def compile_pattern(pattern: str) -> re.Pattern | None:
    """The model's (Java-style) regex compiled for ``fullmatch``, or None when Python's ``re`` cannot
    read it (``\\p{L}``, ``\\z``, ...): such a constraint is skipped rather than guessed at."""
    try:
        return _PATTERNS[pattern]
    except KeyError:
        pass
    literal = _REGEX_LITERAL.fullmatch(pattern)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and friends
            compiled = re.compile(literal.group(1) if literal else pattern)
    except (re.error, OverflowError, RecursionError):
        compiled = None
    _PATTERNS[pattern] = compiled
    return compiled


# --------------------------------------------------------------------------------------------------------
# Type mismatches

def _token(value) -> str:
    """The name Coral's JSON reader gives a value in its SerializationException messages."""
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, (int, float, Decimal)):
        return "NUMBER_VALUE"
    if isinstance(value, (bytes, bytearray)):
        return "BLOB_VALUE"
    if isinstance(value, datetime):
        return "TIMESTAMP_VALUE"
    return type(value).__name__.upper()


def mismatch_message(value, target: str) -> str:
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, (list, tuple)):
        return "Start of list found where not expected."
    return f"{_token(value)} can not be converted to {target}"


def mismatch(value, target: str) -> SerializationError:
    return SerializationError(mismatch_message(value, target))


# --------------------------------------------------------------------------------------------------------
# Reading input


def _cache_key(shape: Shape):
    # Member-level traits live on the member's shape; only timestampFormat changes how a shape converts.
    return shape.name, shape.serialization.get("timestampFormat")


class ShapeReader:
    """Compiles input shapes into ``read(value, path, violations)`` closures (see module docstring).

    ``path`` is the member path used in violation messages (``resources.s3Resources.1.member.bucketArn``:
    members camel-cased, list items 1-based followed by ``.member`` as Coral writes them, map values
    under their key). Unknown structure members are ignored, as AWS does.
    """

    timestamp_format = EPOCH_SECONDS   # protocol default when the model says nothing
    location_names = True              # members named on the wire by their locationName, if any
    undefined: Any = None              # a wire value that means "absent" besides None (CBOR undefined)

    def __init__(self):
        self._cache: dict[tuple, ReadFn] = {}

    # --- protocol hooks -------------------------------------------------------------------------------

    def read_blob(self, value) -> bytes:
        if isinstance(value, Blob):   # a streamed payload (``wire.Body``): kept as it is, not read into memory
            return value
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise mismatch(value, "Blob")

    def read_timestamp(self, value, fmt: str) -> datetime:
        return parse_timestamp(value, fmt)

    def read_float(self, value) -> float:
        if isinstance(value, float):
            return value
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return float(value)
        raise mismatch(value, "Double")

    # --- entry point ----------------------------------------------------------------------------------

    def compile(self, shape: Shape) -> ReadFn:
        key = _cache_key(shape)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._build(shape, key)
            self._cache[key] = fn
        return fn

    # --- compilers ------------------------------------------------------------------------------------

    def _build(self, shape: Shape, key) -> ReadFn:
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return lambda value, path, violations: value
            return self._structure(shape, key)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        if kind == "string":
            return self._string(shape)
        if kind in ("integer", "long", "byte", "short"):
            return self._integer(shape)
        if kind in ("float", "double"):
            return self._float(shape)
        if kind == "boolean":
            return self._boolean()
        if kind == "blob":
            return self._blob(shape)
        if kind == "timestamp":
            return self._timestamp(shape)
        return lambda value, path, violations: value

    def _structure(self, shape: Shape, key) -> ReadFn:
        fields: dict[str, tuple[str, str, ReadFn]] = {}   # wire name -> (member, camel name, reader)
        required: list[tuple[str, str]] = []
        undefined = self.undefined
        is_union = shape.is_tagged_union
        type_name = shape.name

        def read(value, path, violations):
            if not isinstance(value, dict):
                raise mismatch(value, "Structure")
            prefix = f"{path}." if path else ""
            out = {}
            for wire_name, item in value.items():
                field = fields.get(wire_name)
                if field is None or item is None or item is undefined:
                    continue
                name, label, reader = field
                out[name] = reader(item, prefix + label, violations)
            for name, label in required:
                if name not in out:
                    violations.append(Violation(prefix + label, "required", None))
            if is_union and len(out) != 1:
                raise SerializationError(f"Exactly one member of union {type_name} must be set")
            return out

        # Cached before the members compile, so recursive shapes find it.
        self._cache[key] = read
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name) if self.location_names else name
            fields[wire_name] = (name, camel(name), self.compile(member))
        required.extend((name, camel(name)) for name in shape.required_members)
        return read

    def _list(self, shape: Shape) -> ReadFn:
        item_reader = self.compile(shape.member)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        undefined = self.undefined

        def read(value, path, violations):
            if not isinstance(value, list):
                raise mismatch(value, "List")
            _check_length(value, len(value), low, high, path, violations)
            out = []
            for index, item in enumerate(value, 1):
                item_path = f"{path}.{index}.member"
                if item is None or item is undefined:
                    violations.append(Violation(item_path, "required", None))
                    continue
                out.append(item_reader(item, item_path, violations))
            return out

        return read

    def _map(self, shape: Shape) -> ReadFn:
        key_reader = self.compile(shape.key)
        value_reader = self.compile(shape.value)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        undefined = self.undefined

        def read(value, path, violations):
            if not isinstance(value, dict):
                raise mismatch(value, "Map")
            _check_length(value, len(value), low, high, path, violations)
            out = {}
            for k, v in value.items():
                if v is None or v is undefined:
                    continue
                # Key constraints are reported against the map itself, as AWS does.
                k = key_reader(k, path, violations)
                out[k] = value_reader(v, f"{path}.{k}", violations)
            return out

        return read

    def _string(self, shape: Shape) -> ReadFn:
        enum = list(shape.enum) if shape.enum else None
        enum_set = frozenset(enum) if enum else None
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        pattern = shape.metadata.get("pattern")
        regex = compile_pattern(pattern) if pattern else None
        # Accept-anything patterns cost a regex run per value for nothing (and Java and Python disagree
        # on which line terminators '.' skips, so leaving them out only avoids false rejections).
        if pattern in (".*", "^.*$", "[\\s\\S]*"):
            regex = None

        if enum_set is None and low is None and high is None and regex is None:
            def read_plain(value, path, violations):
                if not isinstance(value, str):
                    raise mismatch(value, "String")
                return value
            return read_plain

        def read(value, path, violations):
            if not isinstance(value, str):
                raise mismatch(value, "String")
            if enum_set is not None and value not in enum_set:
                violations.append(Violation(path, "enum", value, enum))
            _check_length(value, len(value), low, high, path, violations)
            if regex is not None and regex.fullmatch(value) is None:
                violations.append(Violation(path, "pattern", value, pattern))
            return value

        return read

    def _integer(self, shape: Shape) -> ReadFn:
        target = "Long" if shape.type_name == "long" else "Integer"
        lowest, highest = _INT_RANGES.get(shape.type_name, _INT_RANGES["long"])
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def read(value, path, violations):
            if type(value) is not int:   # bool is an int subclass: excluded here
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                elif isinstance(value, int) and not isinstance(value, bool):
                    value = int(value)
                else:
                    raise mismatch(value, target)
            if value < lowest or value > highest:
                raise SerializationError(f"Numeric value ({value}) out of range of {target}")
            _check_value(value, low, high, path, violations)
            return value

        return read

    def _float(self, shape: Shape) -> ReadFn:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        read_float = self.read_float

        def read(value, path, violations):
            value = read_float(value)
            _check_value(value, low, high, path, violations)
            return value

        return read

    @staticmethod
    def _boolean() -> ReadFn:
        def read(value, path, violations):
            if type(value) is not bool:
                raise mismatch(value, "Boolean")
            return value

        return read

    def _blob(self, shape: Shape) -> ReadFn:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        read_blob = self.read_blob

        def read(value, path, violations):
            data = read_blob(value)
            _check_length(data, len(data), low, high, path, violations)
            return data

        return read

    def _timestamp(self, shape: Shape) -> ReadFn:
        fmt = (shape.serialization.get("timestampFormat") or self.timestamp_format).lower()
        read_timestamp = self.read_timestamp

        def read(value, path, violations):
            return read_timestamp(value, fmt)

        return read


def _check_length(value, length, low, high, path, violations):
    if low is not None and length < low:
        violations.append(Violation(path, "min_length", value, low))
    if high is not None and length > high:
        violations.append(Violation(path, "max_length", value, high))


def _check_value(value, low, high, path, violations):
    if low is not None and value < low:
        violations.append(Violation(path, "min", value, low))
    if high is not None and value > high:
        violations.append(Violation(path, "max", value, high))


# --------------------------------------------------------------------------------------------------------
# Writing output


class ShapeWriter:
    """Compiles output shapes into ``write(value)`` closures producing plain wire values.

    ``compile`` returns None for shapes whose values pass through unchanged (strings, numbers, booleans,
    lists of them), so containers skip a call per item. None members are left out.
    """

    timestamp_format = EPOCH_SECONDS
    location_names = True

    def __init__(self):
        self._cache: dict[tuple, WriteFn | None] = {}

    # --- protocol hooks -------------------------------------------------------------------------------

    def write_blob(self, value):
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)

    def write_timestamp(self, value, fmt: str):
        return format_timestamp(value, fmt)

    def write_float(self, value):
        return float(value)

    # --- entry points ---------------------------------------------------------------------------------

    def write(self, shape: Shape, value):
        fn = self.compile(shape)
        return value if fn is None else fn(value)

    def compile(self, shape: Shape) -> WriteFn | None:
        key = _cache_key(shape)
        if key in self._cache:
            return self._cache[key]
        fn = self._build(shape, key)
        self._cache[key] = fn
        return fn

    def _build(self, shape: Shape, key) -> WriteFn | None:
        kind = shape.type_name
        if kind == "structure":
            return None if shape.is_document_type else self._structure(shape, key)
        if kind == "list":
            item_writer = self.compile(shape.member)
            if item_writer is None:
                return None
            return lambda value: [item if item is None else item_writer(item) for item in value]
        if kind == "map":
            value_writer = self.compile(shape.value)
            if value_writer is None:
                return None
            return lambda value: {k: value_writer(v) for k, v in value.items() if v is not None}
        if kind == "blob":
            return self.write_blob
        if kind == "timestamp":
            fmt = (shape.serialization.get("timestampFormat") or self.timestamp_format).lower()
            if fmt == EPOCH_SECONDS and type(self).write_timestamp is ShapeWriter.write_timestamp:
                return epoch_seconds
            write_timestamp = self.write_timestamp
            return lambda value: write_timestamp(value, fmt)
        if kind in ("float", "double"):
            return self.write_float
        return None

    def _structure(self, shape: Shape, key) -> WriteFn:
        plain: set[str] = set()   # members that go out as they are, under their own name
        fields: dict[str, tuple[str, WriteFn | None]] = {}   # the others: member -> (wire name, writer)

        def write(value):
            out = {}
            for name, item in value.items():
                if item is None:
                    continue
                if name in plain:
                    out[name] = item
                    continue
                field = fields.get(name)
                if field is None:
                    continue   # not in the model: clients would drop it anyway
                wire_name, writer = field
                out[wire_name] = item if writer is None else writer(item)
            return out

        self._cache[key] = write   # before members, for recursive shapes
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name) if self.location_names else name
            writer = self.compile(member)
            if writer is None and wire_name == name:
                plain.add(name)
            else:
                fields[name] = (wire_name, writer)
        return write


# --------------------------------------------------------------------------------------------------------
# Codecs


class Codec:
    """One wire protocol for one service model.

    ``operation_for`` names the operation a request addresses (or None), ``parse`` reads its input into a
    dict of members (timestamps as aware UTC datetimes, blobs as bytes), ``serialize`` writes an output
    dict, ``serialize_error`` writes a ServiceError. Per-operation work is compiled once and cached.
    """

    protocol: str = ""
    reader_class: type[ShapeReader] = ShapeReader
    writer_class: type[ShapeWriter] = ShapeWriter

    def __init__(self, service_model: ServiceModel):
        self.service_model = service_model
        self.reader = self.reader_class()
        self.writer = self.writer_class()
        self._readers: dict[str, ReadFn | None] = {}
        self._writers: dict[str, WriteFn | None] = {}
        self._error_shapes: dict[str, Shape] | None = None

    def operation_for(self, request: Request) -> str | None:
        raise NotImplementedError

    def wrong_method(self, request: Request) -> bool:
        """Whether a request no operation matches has the path of some, under other methods."""
        return False

    def unknown_operation(self, request: Request) -> UnknownOperation:
        """The failure that answers a request no operation matches: what it asked for, in this protocol's
        terms (its target or path here; a query request's Action and Version)."""
        return UnknownOperation(request.headers.get("x-amz-target") or request.path, self.wrong_method(request))

    def parse(self, operation: OperationModel, request: Request) -> dict:
        raise NotImplementedError

    def serialize(self, operation: OperationModel, output: dict) -> Response:
        raise NotImplementedError

    def serialize_error(self, error: ServiceError, operation: OperationModel | None = None) -> Response:
        raise NotImplementedError

    # --- shared helpers -------------------------------------------------------------------------------

    def read_input(self, operation: OperationModel, value) -> dict:
        """Decoded body -> input dict, compiled once per operation.

        Raises SerializationError for values of the wrong type, ValidationFailed for broken constraints.
        """
        try:
            reader = self._readers[operation.name]
        except KeyError:
            shape = operation.input_shape
            reader = self.reader.compile(shape) if shape is not None else None
            self._readers[operation.name] = reader
        if reader is None:
            return {}
        violations: list[Violation] = []
        try:
            result = reader(value, "", violations)
        except SerializationError:
            raise
        except Exception as exc:   # whatever odd input trips (deep documents...) is still bad input
            raise SerializationError(f"Unable to read request: {exc}") from None
        if violations:
            raise ValidationFailed(violations)
        return result

    def write_output(self, operation: OperationModel, output: dict | None) -> dict:
        """Output dict -> plain wire values, compiled once per operation."""
        try:
            writer = self._writers[operation.name]
        except KeyError:
            shape = operation.output_shape
            writer = self.writer.compile(shape) if shape is not None else None
            self._writers[operation.name] = writer
        if writer is None or not output:
            return {}
        return writer(output)

    def error_shape(self, code: str) -> Shape | None:
        """The modeled error shape for an error code (shape name or its query-compatible code)."""
        if self._error_shapes is None:
            shapes = {}
            for shape in self.service_model.error_shapes:
                shapes[shape.name] = shape
                query_code = shape.metadata.get("error", {}).get("code")
                if query_code:
                    shapes.setdefault(query_code, shape)
            self._error_shapes = shapes
        return self._error_shapes.get(code)

    def wire_error_code(self, error: ServiceError) -> str:
        """The code clients match exceptions on: the modeled shape's error code or name, else as raised."""
        shape = self.error_shape(error.code)
        if shape is None:
            return error.code
        return shape.metadata.get("error", {}).get("code") or shape.name

    def error_members(self, error: ServiceError) -> dict:
        """The error's members besides its type: ``message`` (botocore and the JS SDK read it), plus
        ``Message`` when the modeled shape names its member so (so the modeled field is filled too), plus
        the extras, written through the error shape when they are modeled."""
        shape = self.error_shape(error.code)
        body: dict = {}
        if error.message is not None:
            body["message"] = error.message
            if shape is not None and "Message" in shape.members:
                body["Message"] = error.message
        if error.extra:
            modeled = {}
            for name, value in error.extra.items():
                if value is None:
                    continue
                if shape is not None and name in shape.members:
                    modeled[name] = value
                else:
                    body[name] = value
            if modeled:
                body.update(self.writer.write(shape, modeled))
        return body

    def query_error_header(self, error: ServiceError) -> tuple[str, str] | None:
        """``x-amzn-query-error: Code;Sender`` for services migrated from the query protocol; botocore
        reports that code instead of the shape name."""
        if not self.service_model.is_query_compatible:
            return None
        shape = self.error_shape(error.code)
        code = error.code
        if shape is not None:
            code = shape.metadata.get("error", {}).get("code", code)
        return "x-amzn-query-error", f"{code};{'Sender' if error.sender_fault else 'Receiver'}"
