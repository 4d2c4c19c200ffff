"""A seeded request fuzzer driven by the botocore models of every service jobyard serves.

``Fuzzer(seed, ...).cases(n)`` yields ``Case``s: raw HTTP requests (method, target, headers as bytes, body)
for the operations of S3, S3 Control, Glacier, Snowball (AWS JSON 1.1 and Smithy RPC v2 CBOR), Data Exchange
and STS. Each starts as what botocore's own serializer puts on the wire for inputs generated from the
operation's input shape, then maybe gets one mutation:

* of the inputs: wrong types, numbers out of range, bad enums and patterns, missing required and unknown
  members, deep nesting, huge strings;
* of the body: garbage, truncated, deeply nested JSON / CBOR / XML, huge bodies, the wrong content type;
* of the request line and head: odd paths (``//``, ``%FF%FE``, ``;params``, ``..``), bad query strings, unknown
  methods, non-UTF-8 and garbage headers, another service's ``X-Amz-Target`` or RPC v2 path on a REST path.

``send`` puts a case on a raw HTTP connection (``http.client`` with its own checks of the request line
switched off, so bytes no SDK sends still go out), and ``verdict`` says what is wrong with an answer: a 5xx
(a 501 only passes when it names a real AWS operation jobyard does not serve), or a traceback in the body.

Plain ``random.Random(seed)``: the same seed gives the same cases, so a failure is reproduced by its index.
"""

from __future__ import annotations

import datetime
import http.client
import os
import random
import re
import socket
import string
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import boto3
import botocore.session
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence
from sqlalchemy import select

from jobyard.services import all_services
from jobyard.store.schema import file_journal, meta, resources

REGION = "us-east-1"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "bogus-1", "")

# (model name, protocol to speak, SigV4 signing name): Snowball is fuzzed in both of its protocols.
TARGETS = (
    ("s3", "rest-xml", "s3"),
    ("s3control", "rest-xml", "s3"),
    ("glacier", "rest-json", "glacier"),
    ("snowball", "json", "snowball"),
    ("snowball", "smithy-rpc-v2-cbor", "snowball"),
    ("dataexchange", "rest-json", "dataexchange"),
    ("sts", "query", "sts"),
)

# Features (not operations) jobyard answers 501 for: S3 Select restores, which AWS no longer offers new
# customers, and tags of S3 resources other than jobs (access points, Storage Lens...), which exist on AWS but
# not in jobyard. Any other 501 must name a real AWS operation that jobyard does not serve.
FEATURE_501 = ("Restore with S3 Select", "keeps tags for S3 Batch Operations jobs only")

_TRACEBACK = re.compile(rb"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")

MUTATIONS = ("valid", "wrong_type", "out_of_range", "bad_enum", "bad_pattern", "missing_required",
             "unknown_member", "deep_value", "huge_string", "garbage_body", "truncated_body", "deep_body",
             "huge_body", "wrong_content_type", "odd_path", "bad_query", "unknown_method", "other_method",
             "bad_header", "non_utf8_header", "cross_target", "no_auth", "bad_auth", "empty_body")


@dataclass
class Case:
    index: int
    service: str
    protocol: str
    operation: str
    mutation: str
    method: str
    target: str                      # path and query, as sent (may hold bytes past ASCII, as latin-1)
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    served: bool = True              # jobyard serves this operation

    def describe(self) -> str:
        return (f"#{self.index} {self.service}/{self.protocol} {self.operation} [{self.mutation}] "
                f"{self.method} {self.target[:200]!r} body={len(self.body)}B")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None = None         # the connection failed (reset, timeout) instead of answering

    @property
    def code(self) -> str | None:
        match = re.search(rb"<Code>([^<]+)</Code>|\"__type\"\s*:\s*\"([^\"]+)\"", self.body)
        if match:
            return (match.group(1) or match.group(2)).decode("utf-8", "replace").rsplit("#", 1)[-1]
        return self.headers.get("x-amzn-errortype", "").split(":")[0] or None


def _models():
    session = botocore.session.get_session()
    return {name: session.get_service_model(name) for name in {t[0] for t in TARGETS}}


def served_operations() -> dict[str, set[str]]:
    return {service.model_name: set(service.operations) for service in all_services()}


# -- values from shapes ---------------------------------------------------------------------------------------

_ALNUM = string.ascii_lowercase + string.digits


class Values:
    """Inputs for a shape: mostly valid (lengths, ranges, enums, and names the caller seeded in ``pool``)."""

    def __init__(self, rng: random.Random, pool: dict[str, list[str]]):
        self.rng, self.pool = rng, {k.lower(): v for k, v in pool.items()}

    def of(self, shape, name: str = "", depth: int = 0):
        rng, kind = self.rng, shape.type_name
        known = self.pool.get(name.lower())
        if known and kind == "string" and rng.random() < 0.8:
            return rng.choice(known)
        if kind == "structure":
            out = {}
            if depth > 4:
                return out
            required = set(shape.required_members)
            for member, member_shape in shape.members.items():
                if member in required or rng.random() < 0.35:
                    out[member] = self.of(member_shape, member, depth + 1)
            if shape.metadata.get("union") and out:
                keep = rng.choice(list(out))
                out = {keep: out[keep]}
            return out
        if kind == "list":
            if depth > 4:
                return []
            low = shape.metadata.get("min", 0)
            return [self.of(shape.member, name, depth + 1) for _ in range(max(low, rng.randint(0, 3)))][:max(low, 3)]
        if kind == "map":
            if depth > 4:
                return {}
            return {self.string(1, 12): self.of(shape.value, name, depth + 1) for _ in range(rng.randint(0, 3))}
        if kind == "string":
            enum = shape.enum
            if enum:
                return rng.choice(enum)
            low = shape.metadata.get("min", 1)
            high = min(shape.metadata.get("max", 32), max(low, 32))
            return self.string(low, high)
        if kind in ("integer", "long"):
            low = shape.metadata.get("min", 0)
            high = shape.metadata.get("max", low + 1000)
            return rng.randint(int(low), int(min(high, low + 10**6)))
        if kind in ("float", "double"):
            return rng.uniform(0, 1000)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            return datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
                seconds=rng.randint(-10**8, 10**8))
        if kind == "blob":
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        return None

    def string(self, low: int, high: int) -> str:
        n = self.rng.randint(max(low, 1), max(low, high, 1))
        return "".join(self.rng.choice(_ALNUM) for _ in range(n))


def _members(shape, params, path=()):
    """Every (path, shape) of the generated ``params`` (nested members included)."""
    found = [(path, shape)] if path else []
    if shape.type_name == "structure" and isinstance(params, dict):
        for name, value in params.items():
            if name in shape.members:
                found += _members(shape.members[name], value, path + (name,))
    elif shape.type_name == "list" and isinstance(params, list):
        for i, value in enumerate(params):
            found += _members(shape.member, value, path + (i,))
    elif shape.type_name == "map" and isinstance(params, dict):
        for key, value in params.items():
            found += _members(shape.value, value, path + (key,))
    return found


def _set(params, path, value):
    target = params
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()

_WRONG_TYPES = (lambda r: r.randint(-5, 5), lambda r: "not-a-number", lambda r: ["a", 1], lambda r: {"x": 1},
                lambda r: True, lambda r: None, lambda r: 1.5e300, lambda r: "")


# -- the fuzzer ---------------------------------------------------------------------------------------------

class Fuzzer:
    def __init__(self, seed: int, account: str, host: str = "127.0.0.1", pool: dict | None = None,
                 unserved_share: float = 0.05):
        self.rng = random.Random(seed)
        self.account, self.host = account, host
        self.models = _models()
        self.served = served_operations()
        self.values = Values(self.rng, {"AccountId": [account], **(pool or {})})
        self.unserved_share = unserved_share
        self._serializers = {p: create_serializer(p, include_validation=False) for _, p, _ in TARGETS}

    def cases(self, n: int, start: int = 0):
        for index in range(start, start + n):
            yield self.case(index)

    def case(self, index: int) -> Case:
        rng = self.rng
        service, protocol, signing = rng.choice(TARGETS)
        model = self.models[service]
        served = sorted(self.served.get(service, ()))
        unserved = sorted(set(model.operation_names) - set(served))
        pick_unserved = unserved and (not served or rng.random() < self.unserved_share)
        operation = rng.choice(unserved if pick_unserved else served)
        mutation = rng.choice(MUTATIONS)
        op_model = model.operation_model(operation)
        params = self.values.of(op_model.input_shape) if op_model.input_shape is not None else {}
        if op_model.input_shape is not None and mutation in _PARAM_MUTATIONS:
            params = self._mutate_params(mutation, op_model.input_shape, params)
        try:
            serialized = self._serializers[protocol].serialize_to_request(params, op_model)
            case = self._wire(index, service, protocol, signing, operation, mutation, serialized)
        except Exception:   # botocore cannot write some wrong types: send the valid inputs mutated on the wire
            params = self.values.of(op_model.input_shape) if op_model.input_shape is not None else {}
            serialized = self._serializers[protocol].serialize_to_request(params, op_model)
            case = self._wire(index, service, protocol, signing, operation, mutation, serialized)
        case.served = operation in self.served.get(service, ())
        mutate = _WIRE_MUTATIONS.get(mutation)
        if mutate is not None:
            mutate(self, case)
        # The body's true length (an input member may have named another: the server would wait for the rest).
        _replace_header(case, b"content-length", str(len(case.body)).encode()
                        if case.body or case.method in ("POST", "PUT") else None)
        return case

    # -- input mutations ------------------------------------------------------------------------------

    def _mutate_params(self, mutation, shape, params):
        rng = self.rng
        members = _members(shape, params)
        if mutation == "missing_required":
            required = [m for m in shape.required_members if m in params]
            if required:
                del params[rng.choice(required)]
            return params
        if mutation == "unknown_member":
            params["Fuzz" + self.values.string(1, 8)] = rng.choice(["x", 1, {"a": [1]}, None])
            return params
        if not members:
            return params
        path, member = rng.choice(members)
        kind = member.type_name
        if mutation == "wrong_type":
            _set(params, path, rng.choice(_WRONG_TYPES)(rng))
        elif mutation == "out_of_range":
            if kind in ("integer", "long", "float", "double"):
                _set(params, path, rng.choice([-1, -2**31 - 1, 2**31, 2**63, 2**64 + 1, -2**63 - 1,
                                               member.metadata.get("max", 10**9) + 1,
                                               member.metadata.get("min", 0) - 1]))
            elif kind == "string":
                _set(params, path, "x" * (member.metadata.get("max", 1024) + 1) if rng.random() < 0.5 else "")
            elif kind == "list":
                _set(params, path, [] if rng.random() < 0.5 else [self.values.of(member.member)] * 1001)
            elif kind == "timestamp":
                _set(params, path, rng.choice([datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc),
                                               datetime.datetime(9999, 12, 31, tzinfo=datetime.timezone.utc)]))
        elif mutation == "bad_enum":
            enum_members = [(p, m) for p, m in members if m.type_name == "string" and m.enum] or members
            path, member = rng.choice(enum_members)
            _set(params, path, rng.choice(["NOT_AN_ENUM", "", "standard", "é", "\x00"]))
        elif mutation == "bad_pattern":
            _set(params, path, rng.choice(["../../etc/passwd", "a b", "\u0000", "é\u202e", "%FF", "<x/>", "'\"",
                                           "arn:aws:s3:::", "arn:aws:s3:us-east-1:111122223333:job/",
                                           "-1", "a" * 300, "\ud7ff\ue000", "{}", "*", "?"]))
        elif mutation == "deep_value":
            value = "x"
            for _ in range(rng.choice([50, 500, 2000])):
                value = {"a": value} if rng.random() < 0.5 else [value]
            _set(params, path, value)
        elif mutation == "huge_string":
            _set(params, path, "y" * rng.choice([10_000, 100_000, 1_000_000]))
        return params

    # -- the wire ----------------------------------------------------------------------------------------

    def _wire(self, index, service, protocol, signing, operation, mutation, serialized) -> Case:
        path, _, template_query = serialized["url_path"].partition("?")
        query = serialized["query_string"]
        query = percent_encode_sequence(query) if query else ""
        query = "&".join(part for part in (template_query, query) if part)
        body = serialized["body"]
        if isinstance(body, dict):
            body = urlencode(body, doseq=True)
        body = body.encode() if isinstance(body, str) else bytes(body or b"")
        region = REGION if self.rng.random() < 0.9 else self.rng.choice(REGIONS)
        headers = [(b"host", f"{self.host}".encode())]
        headers.append((b"authorization", (f"AWS4-HMAC-SHA256 Credential={self.account}/20250101/{region}/{signing}/"
                                           "aws4_request, SignedHeaders=host, Signature=0").encode()))
        headers.append((b"x-amz-date", b"20250101T000000Z"))
        for name, value in serialized["headers"].items():
            value = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            headers.append((name.lower().encode(), value))
        target = path + ("?" + query if query else "")
        return Case(index, service, protocol, operation, mutation, serialized["method"], target, headers, body)


_PARAM_MUTATIONS = {"wrong_type", "out_of_range", "bad_enum", "bad_pattern", "missing_required", "unknown_member",
                    "deep_value", "huge_string"}


def _content_type(case: Case) -> bytes:
    return next((v for k, v in case.headers if k == b"content-type"), b"")


def _replace_header(case: Case, name: bytes, value: bytes | None) -> None:
    case.headers = [(k, v) for k, v in case.headers if k != name]
    if value is not None:
        case.headers.append((name, value))


def _garbage(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _garbage_body(fz: Fuzzer, case: Case) -> None:
    rng = fz.rng
    choices = [_garbage(rng, rng.randint(1, 256)), b"{", b"[1,2", b"null", b"\"str\"", b"{\"a\":}", b"<", b"<?xml",
               b"<a><b></a>", b"\xff\xfe\x00", b"\xbf", b"\x9f\x01", b"\xa1\x61", b"\xfb\x00", b"\x1b" + b"\xff" * 8,
               b"{\"__proto__\":1}", b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
               b"Action=&Version=", b"\xc1\xff", b"\x5f\x41a\xff", b"\x7f\x61a", b"\xd8\x18\x41\x00"]
    case.body = rng.choice(choices)


def _truncated_body(fz: Fuzzer, case: Case) -> None:
    if len(case.body) > 1:
        case.body = case.body[:fz.rng.randint(1, len(case.body) - 1)]
    else:
        _garbage_body(fz, case)


def _deep_body(fz: Fuzzer, case: Case) -> None:
    depth = fz.rng.choice([100, 1000, 10_000, 100_000])
    kind = fz.rng.choice(["json", "cbor", "xml", "form"])
    if case.protocol == "smithy-rpc-v2-cbor" and fz.rng.random() < 0.7:
        kind = "cbor"
    if kind == "json":
        case.body = b"[" * depth + b"]" * depth if fz.rng.random() < 0.5 else b"{\"a\":" * depth + b"1" + b"}" * depth
    elif kind == "cbor":
        case.body = b"\xa1\x61a" * depth + b"\x01" if fz.rng.random() < 0.5 else b"\x81" * depth + b"\x01"
    elif kind == "xml":
        case.body = b"<a>" * depth + b"</a>" * depth
    else:
        case.body = ("Action=GetCallerIdentity&Version=2011-06-15&" + "&".join(
            f"A{'.member.1' * 50}=x" for _ in range(min(depth, 2000)))).encode()


def _huge_body(fz: Fuzzer, case: Case) -> None:
    size = fz.rng.choice([300_000, 2 * 1024 * 1024 + 1, 3 * 1024 * 1024])
    fill = fz.rng.choice([b"a", b"[", b"<a>", b"\x81", b" "])
    case.body = (fill * (size // len(fill) + 1))[:size]


def _wrong_content_type(fz: Fuzzer, case: Case) -> None:
    _replace_header(case, b"content-type", fz.rng.choice([
        b"application/json", b"application/cbor", b"application/xml", b"text/plain", b"application/x-amz-json-1.0",
        b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b"\xff\xfe", b""]))


def _odd_path(fz: Fuzzer, case: Case) -> None:
    rng = fz.rng
    path, sep, query = case.target.partition("?")
    tricks = [lambda p: p.replace("/", "//", 1), lambda p: p + "//", lambda p: "//" + p.lstrip("/"),
              lambda p: p + "/%FF%FE", lambda p: p.replace("/", "/%FF%FE/", 1), lambda p: p + ";params=1",
              lambda p: p + ";", lambda p: p + "/..", lambda p: p + "/../..", lambda p: "/../" + p.lstrip("/"),
              lambda p: p + "/%2e%2e/%2e%2e", lambda p: p + "%00", lambda p: p + "%", lambda p: p + "%G1",
              lambda p: p + "/\xff\xfe", lambda p: p + "/" + "a" * 2000, lambda p: p.rstrip("/") + "/./",
              lambda p: "*", lambda p: "", lambda p: p.upper(), lambda p: p + "#frag",
              lambda p: "http://" + fz.account + ".localhost" + p, lambda p: p + "/%2F%2F",
              lambda p: p.replace("/", "/;x=y/", 1), lambda p: "/_jobyard" + p, lambda p: "/_jobyard/..%2F" + p]
    path = rng.choice(tricks)(path)
    case.target = path + (sep + query if query else "")


def _bad_query(fz: Fuzzer, case: Case) -> None:
    rng = fz.rng
    path, _, query = case.target.partition("?")
    bad = rng.choice(["a=%ZZ", "&&&", "=", "==", "%FF%FE=%FF", "uploads", "uploadId", "partNumber=x&uploadId=1",
                      "partNumber=-1&uploadId=1", "partNumber=99999999999999999999&uploadId=x", "max-keys=-5",
                      "max-keys=abc", "max-keys=99999999999999999999999", "limit=0", "limit=x", "maxResults=-1",
                      "list-type=2&continuation-token=%FF", "versionId=", "tagging&tagging", "acl=%00",
                      "Action=GetCallerIdentity&Action=AssumeRole", "Action=", "Version=1999-01-01",
                      "marker=\xff", "x-id=Nope", "prefix=" + "a" * 5000, "delete", "restore&select",
                      "X-Amz-Credential=a/b", "X-Amz-Credential=" + fz.account + "/20250101/us-east-1/s3/aws4_request",
                      "AWSAccessKeyId=&Signature=", "nextToken=AAAA", "nextToken=%FF", "NextToken=.", "marker=..",
                      "completed=maybe", "statuscode=Nope", "jobStatuses=Bogus", "state=;"])
    case.target = path + "?" + ("&".join(p for p in (query, bad) if p) if rng.random() < 0.5 else bad)


_UNKNOWN_METHODS = ("FOO", "PROPFIND", "get", "TRACE", "CONNECT", "OPTIONS", "PATCH", "M-SEARCH", "BREW", "X" * 40)


def _unknown_method(fz: Fuzzer, case: Case) -> None:
    case.method = fz.rng.choice(_UNKNOWN_METHODS)


def _other_method(fz: Fuzzer, case: Case) -> None:
    case.method = fz.rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])


def _bad_header(fz: Fuzzer, case: Case) -> None:
    rng = fz.rng
    name, value = rng.choice([
        (b"x-amz-target", b"AWSIESnowballJobManagementService.Nope"), (b"x-amz-target", b"Nope"),
        (b"x-amz-target", b"."), (b"smithy-protocol", b"rpc-v2-cbor"), (b"smithy-protocol", b"nope"),
        (b"x-amz-content-sha256", b"nothex"), (b"x-amz-content-sha256", b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        (b"x-amz-content-sha256", b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"), (b"content-encoding", b"aws-chunked"),
        (b"x-amz-decoded-content-length", b"-1"), (b"x-amz-decoded-content-length", b"abc"),
        (b"content-md5", b"!!!"), (b"content-md5", b"AAAAAAAAAAAAAAAAAAAAAA=="), (b"x-amz-checksum-crc32", b"zz"),
        (b"x-amz-checksum-sha256", b"AAAA"), (b"x-amz-sdk-checksum-algorithm", b"NOPE"),
        (b"x-amz-trailer", b"x-amz-checksum-crc32"), (b"x-amz-account-id", b"abc"),
        (b"x-amz-account-id", b"999999999999"), (b"x-amz-sha256-tree-hash", b"zz"),
        (b"x-amz-glacier-version", b"1999-01-01"), (b"range", b"bytes=9-1"), (b"range", b"bytes=a-b"),
        (b"range", b"bytes=0-1,3-4"), (b"if-match", b"\"x\""), (b"if-modified-since", b"yesterday"),
        (b"x-amz-copy-source", b"/"), (b"x-amz-copy-source", b"%FF/%FE"), (b"x-amz-copy-source-range", b"bytes=x"),
        (b"x-amz-date", b"notadate"), (b"x-amz-meta-" + b"m" * 100, b"v" * 3000), (b"expect", b"100-continue"),
        (b"transfer-encoding", b"gzip"), (b"content-type", b"application/x-amz-json-1.1; charset=\xff"),
        (b"x-amz-bucket-object-lock-enabled", b"maybe"), (b"x-amz-acl", b"nope"), (b"x-amz-tagging", b"a=%ZZ&&b"),
        (b"x-amz-object-lock-retain-until-date", b"never"), (b"x-amz-mfa", b""), (b"host", b""),
        (b"host", b"..localhost"), (b"host", b"bucket.s3.amazonaws.com"), (b"host", b"[::1]:1"),
        (b"host", b"fuzz-bucket.localhost"), (b"authorization", b"AWS "), (b"authorization", b"AWS key:sig"),
        (b"x-amz-security-token", b"\x00")])
    _replace_header(case, name, value)


def _non_utf8_header(fz: Fuzzer, case: Case) -> None:
    rng = fz.rng
    name = rng.choice([b"authorization", b"x-amz-target", b"content-type", b"x-amz-meta-a", b"x-amz-account-id",
                       b"host", b"x-amz-content-sha256", b"range", b"x-amz-copy-source", b"x-fuzz", b"content-md5",
                       b"x-amz-tagging", b"smithy-protocol", b"x-amz-date"])
    value = bytes(rng.choice(range(0x80, 0x100)) for _ in range(rng.randint(1, 20)))
    if rng.random() < 0.5:
        value = b"ok" + value
    _replace_header(case, name, value)


def _cross_target(fz: Fuzzer, case: Case) -> None:
    """Another service's way of naming an operation, on this request (an X-Amz-Target on a REST path...)."""
    rng = fz.rng
    trick = rng.randrange(5)
    if trick == 0:
        _replace_header(case, b"x-amz-target", rng.choice([
            b"AWSIESnowballJobManagementService.DescribeJob", b"AWSIESnowballJobManagementService.Nope",
            b"AWSIESnowballJobManagementService.CreateJob", b"AWSSecurityTokenServiceV20110615.GetCallerIdentity",
            b"DataExchange.ListDataSets", b"Glacier.ListVaults"]))
    elif trick == 1:
        _replace_header(case, b"smithy-protocol", b"rpc-v2-cbor")
        case.target = rng.choice(["/service/AWSIESnowballJobManagementService/operation/Nope",
                                  "/service/Nope/operation/DescribeJob", "/service//operation/",
                                  "/service/AWSIESnowballJobManagementService/operation/ListJobs"])
    elif trick == 2:
        signing = rng.choice(["s3", "glacier", "snowball", "dataexchange", "sts", "s3express", "ec2", "nope"])
        _replace_header(case, b"authorization", (f"AWS4-HMAC-SHA256 Credential={fz.account}/20250101/us-east-1/"
                                                 f"{signing}/aws4_request, SignedHeaders=host, Signature=0").encode())
    elif trick == 3:
        case.target = rng.choice(["/v20180820/jobs", "/v20180820/", "/v20180820/tags/arn%3Aaws%3As3%3A%3A%3Ax",
                                  "/v20180820/tags/" + quote("arn:aws:s3:us-east-1:" + fz.account + ":job/nope",
                                                             safe=""), "/-/vaults", "/v1/data-sets", "/"]) \
            + ("?" + case.target.partition("?")[2] if "?" in case.target else "")
    else:
        _replace_header(case, b"content-type", b"application/x-amz-json-1.1")
        _replace_header(case, b"x-amz-target", b"AWSIESnowballJobManagementService.ListJobs")
        case.body = b"{}"


def _no_auth(fz: Fuzzer, case: Case) -> None:
    _replace_header(case, b"authorization", None)


def _bad_auth(fz: Fuzzer, case: Case) -> None:
    _replace_header(case, b"authorization", fz.rng.choice([
        b"AWS4-HMAC-SHA256 Credential=/20250101//s3/aws4_request", b"Bearer x", b"AWS4-HMAC-SHA256",
        b"AWS4-HMAC-SHA256 Credential=" + b"9" * 12 + b"/20250101/us-east-1/s3/aws4_request",
        b"AWS4-HMAC-SHA256 Credential=abc/2025/us-east-1/glacier/aws4_request", b"AWS :", b"\t"]))


def _empty_body(fz: Fuzzer, case: Case) -> None:
    case.body = b""


_WIRE_MUTATIONS = {"garbage_body": _garbage_body, "truncated_body": _truncated_body, "deep_body": _deep_body,
                   "huge_body": _huge_body, "wrong_content_type": _wrong_content_type, "odd_path": _odd_path,
                   "bad_query": _bad_query, "unknown_method": _unknown_method, "other_method": _other_method,
                   "bad_header": _bad_header, "non_utf8_header": _non_utf8_header, "cross_target": _cross_target,
                   "no_auth": _no_auth, "bad_auth": _bad_auth, "empty_body": _empty_body}


# -- state ------------------------------------------------------------------------------------------------

def seed_pool(url: str, account: str) -> dict[str, list[str]]:
    """A few real resources, whose names the fuzzer uses, so that requests reach past "not found"."""
    s3 = _client("s3", url, account)
    s3.create_bucket(Bucket="fuzz-bucket")
    s3.put_object(Bucket="fuzz-bucket", Key="fuzz-key", Body=b"fuzz")
    upload = s3.create_multipart_upload(Bucket="fuzz-bucket", Key="fuzz-key")["UploadId"]
    glacier = _client("glacier", url, account)
    glacier.create_vault(vaultName="fuzz-vault")
    archive = glacier.upload_archive(vaultName="fuzz-vault", body=b"fuzz")["archiveId"]
    dataexchange = _client("dataexchange", url, account)
    data_set = dataexchange.create_data_set(AssetType="S3_SNAPSHOT", Description="fuzz", Name="fuzz")["Id"]
    snowball = _client("snowball", url, account)
    address = snowball.create_address(Address={
        "Name": "Fuzz", "Street1": "1 Main St", "City": "Seattle", "StateOrProvince": "WA",
        "PostalCode": "98101", "Country": "US", "PhoneNumber": "555-0100"})["AddressId"]
    return {"Bucket": ["fuzz-bucket"], "Key": ["fuzz-key"], "UploadId": [upload], "vaultName": ["fuzz-vault"],
            "archiveId": [archive], "DataSetId": [data_set], "AddressId": [address], "accountId": ["-", account]}


def snapshot(emulator, data_dir: str):
    """Every stored row (resources, meta, the file journal) and every stored file: what a failed request must
    leave as it was."""
    with emulator.store.engine.connect() as conn:
        rows = [tuple(r) for table in (resources, meta, file_journal)
                for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(data_dir, "files")) for f in fs
                   if ".pending" not in d)
    return rows, files


def _client(service: str, url: str, account: str):
    return boto3.session.Session().client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=account,
                                          aws_secret_access_key="secret")


# -- sending ---------------------------------------------------------------------------------------------------

class _RawConnection(http.client.HTTPConnection):
    """http.client without its checks of the request line: odd methods and bytes past ASCII go out as they are."""

    def _validate_method(self, method):
        pass

    def _validate_path(self, url):
        pass

    def _validate_host(self, host):
        pass

    def _encode_request(self, request):
        return request.encode("latin-1")


class Sender:
    """One keep-alive connection, opened again whenever the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: _RawConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, case: Case) -> Answer:
        reused = self.conn is not None
        answer = self._send(case)
        if reused and answer.error and "RemoteDisconnected" in answer.error:
            answer = self._send(case)   # the server closed an idle keep-alive connection: as any client, again
        return answer

    def _send(self, case: Case) -> Answer:
        if self.conn is None:
            self.conn = _RawConnection(self.host, self.port, timeout=self.timeout)
        conn = self.conn
        try:
            try:
                conn.putrequest(case.method, case.target or "/", skip_host=True, skip_accept_encoding=True)
                for name, value in case.headers:
                    conn.putheader(name, value)
                conn.endheaders()
                if case.body:
                    conn.send(case.body)
            except (BrokenPipeError, ConnectionResetError):
                pass   # the server answered from the head and closed: its answer is still to be read
            response = conn.getresponse()
            body = response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close or headers.get("connection", "").lower() == "close":
                self.close()
            return Answer(response.status, headers, body)
        except (socket.timeout, TimeoutError) as error:
            self.close()
            return Answer(0, {}, b"", f"timeout: {error}")
        except (http.client.HTTPException, OSError) as error:
            self.close()
            return Answer(0, {}, b"", f"{type(error).__name__}: {error}")


def _unserved_names(models, served) -> set[str]:
    return {op for name, model in models.items() for op in model.operation_names if op not in served.get(name, ())}


class Judge:
    """What is wrong with an answer, if anything."""

    def __init__(self):
        self.unserved = _unserved_names(_models(), served_operations())

    def verdict(self, case: Case, answer: Answer) -> str | None:
        if answer.error is not None:
            # A body past the server's limit or an unparseable request line may be cut off by design; a
            # timeout never is.
            if answer.error.startswith("timeout") or case.mutation not in ("huge_body", "deep_body"):
                return f"no answer ({answer.error})"
            return None
        if _TRACEBACK.search(answer.body):
            return f"traceback in a {answer.status} answer"
        if answer.status == 501:
            text = answer.body.decode("utf-8", "replace")
            words = set(re.findall(r"[A-Za-z0-9]+", text))
            if words & self.unserved or any(feature in text for feature in FEATURE_501):
                return None
            return f"501 naming no unserved AWS operation: {text[:300]}"
        if answer.status >= 500:
            return f"{answer.status}: {answer.body[:300]!r}"
        return None

