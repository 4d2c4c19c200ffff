"""Signature Version 4: who sent a request, proven by its signature (``jobyard serve --auth sigv4``).

The keys come from a file in AWS's shared-credentials format, one profile per key::

    [team-a]
    aws_access_key_id = AKIAEXAMPLEA
    aws_secret_access_key = ...
    aws_account_id = 111111111111

``Verifier.verify`` checks a request's signature in either form AWS accepts — the ``Authorization`` header
or a presigned URL's ``X-Amz-*`` query parameters — and, for S3's streaming uploads
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``), every chunk's and the trailer's signature too. It
returns the key, whose account the router then uses. Failures raise ``errors.Unauthenticated``; each
service's ``ErrorTable`` writes the answer its protocol gives.

The canonical request follows the SigV4 specification as AWS's SDKs sign it (botocore is the reference):
the path is used as sent for S3 (whose signers do not encode it twice) and normalized and encoded once more
for every other service; query names and values are decoded and re-encoded, then sorted; header values have
their runs of white space collapsed. The payload hash is the ``x-amz-content-sha256`` a client declares where
the protocol's codec checks it against the body (REST; S3's placeholders such as ``UNSIGNED-PAYLOAD`` for S3
only), else the body's SHA-256 — so a JSON body cannot be changed under a declared hash. S3's presigned URLs
sign ``UNSIGNED-PAYLOAD``.

Time: a signature's date is compared with the real clock (``time.time``), never the simulated one, as
clients sign with their own clock: a test may move the simulated clock by days and keep signing requests.
AWS allows 15 minutes of skew; ``--clock-skew`` widens it. SigV2 is refused.
"""

from __future__ import annotations

import calendar
import configparser
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import quote, unquote


from .errors import Unauthenticated
from .wire import Request

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DEFAULT_SKEW = 15 * 60            # seconds, as AWS allows
MAX_EXPIRES = 7 * 24 * 3600       # a presigned URL's longest life (X-Amz-Expires)

_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_S3_SIGNING_NAMES = ("s3", "s3express")   # signed by S3's rules (botocore's S3 signers and their subclasses)
_ACCOUNT = re.compile(r"\d{12}")
_QUERY_FORM = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
               "X-Amz-Expires")


@dataclass(frozen=True)
class Key:
    access_key: str
    secret: str
    account: str


class CredentialsError(ValueError):
    """The credentials file cannot be used (the message names the file and what is wrong)."""


def load_credentials(path: str) -> dict[str, Key]:
    """Every profile of an AWS shared-credentials file, by access key id."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        with open(path, encoding="utf-8") as file:
            parser.read_file(file)
    except OSError as error:
        raise CredentialsError(f"cannot read {path}: {error.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as error:
        raise CredentialsError(f"{path} is not an AWS credentials file: {str(error).splitlines()[0]}") from None
    keys: dict[str, Key] = {}
    for name in parser.sections():
        profile = parser[name]
        values = {field: profile.get(field, "").strip()
                  for field in ("aws_access_key_id", "aws_secret_access_key", "aws_account_id")}
        missing = [field for field, value in values.items() if not value]
        if missing:
            raise CredentialsError(f"{path}: profile [{name}] has no {', '.join(missing)}")
        if not _ACCOUNT.fullmatch(values["aws_account_id"]):
            raise CredentialsError(f"{path}: profile [{name}]: aws_account_id must be 12 digits")
        key_id = values["aws_access_key_id"]
        if key_id in keys:
            raise CredentialsError(f"{path}: access key id {key_id} is in two profiles")
        keys[key_id] = Key(key_id, values["aws_secret_access_key"], values["aws_account_id"])
    if not keys:
        raise CredentialsError(f"{path} has no profiles")
    return keys


@dataclass
class _Signed:
    """What a request's signature claims, from its header or its query."""
    access_key: str
    date: str
    region: str
    service: str
    timestamp: str
    signed_headers: list[str]
    signature: str
    presigned: bool
    expires: int = 0

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


class Verifier:
    def __init__(self, keys: dict[str, Key], skew: float = DEFAULT_SKEW, now: Callable[[], float] = time.time):
        self.keys = keys
        self.skew = skew
        self.now = now   # the real clock: clients sign with theirs

    def verify(self, request: Request, *, body_checked: bool) -> Key:
        """The key that signed ``request``, or ``Unauthenticated``. ``body_checked``: the protocol's codec
        checks a declared ``x-amz-content-sha256`` against the body itself (the REST codecs do). A body of
        signed chunks is checked from the request's whole body."""
        key, chain = self._verify(request, body_checked)
        if chain is not None:
            feed_chunks(request.body, chain)
            chain.check()
        return key

    def verify_head(self, request: Request) -> "ChunkChain | None":
        """Check a REST request's signature before its body is read (it covers the declared payload hash,
        which the codec checks against the body). For a body of signed chunks, the ``ChunkChain`` that the
        chunk decoder feeds as the body arrives, so that the body is never held whole."""
        return self._verify(request, body_checked=True)[1]

    def _verify(self, request: Request, body_checked: bool) -> "tuple[Key, ChunkChain | None]":
        signed = _claims(request)
        key = self.keys.get(signed.access_key)
        if key is None:
            raise Unauthenticated(Unauthenticated.UNKNOWN_KEY,
                                  "The security token included in the request is invalid.",
                                  access_key=signed.access_key, presigned=signed.presigned)
        self._check_time(signed)
        canonical = canonical_request(request, signed, body_checked)
        string_to_sign = "\n".join((ALGORITHM, signed.timestamp, signed.scope,
                                    hashlib.sha256(canonical.encode("utf-8")).hexdigest()))
        signing_key = _signing_key(key.secret, signed)
        expected = _hex_hmac(signing_key, string_to_sign)
        if not hmac.compare_digest(expected, signed.signature):
            raise _mismatch(signed, string_to_sign, canonical)
        declared = request.headers.get("x-amz-content-sha256", "")
        if not signed.presigned and declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            return key, ChunkChain(signed, signing_key, trailer=declared == STREAMING_SIGNED_TRAILER)
        return key, None

    def _check_time(self, signed: _Signed) -> None:
        now = self.now()
        signed_at = calendar.timegm(time.strptime(signed.timestamp, "%Y%m%dT%H%M%SZ"))
        details = dict(request_time=signed.timestamp, server_time=_iso(now), max_skew_ms=str(int(self.skew * 1000)),
                       access_key=signed.access_key, presigned=signed.presigned)
        earliest = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - self.skew))
        minutes = f"{self.skew / 60:g} min."
        if signed.presigned:
            if now > signed_at + signed.expires:
                raise Unauthenticated(Unauthenticated.EXPIRED, "Signature expired: the presigned request expired at "
                                      f"{_iso(signed_at + signed.expires)}", expires=_iso(signed_at + signed.expires),
                                      expires_seconds=str(signed.expires), **details)
            if signed_at - now > self.skew:
                raise Unauthenticated(Unauthenticated.SKEWED, f"Signature not yet current: {signed.timestamp} is "
                                      f"still later than {_later(now, self.skew)} ({_basic(now)} + {minutes})",
                                      **details)
            return
        if now - signed_at > self.skew:
            raise Unauthenticated(Unauthenticated.SKEWED, f"Signature expired: {signed.timestamp} is now earlier "
                                  f"than {earliest} ({_basic(now)} - {minutes})", **details)
        if signed_at - now > self.skew:
            raise Unauthenticated(Unauthenticated.SKEWED, f"Signature not yet current: {signed.timestamp} is still "
                                  f"later than {_later(now, self.skew)} ({_basic(now)} + {minutes})", **details)


# -- the claims -------------------------------------------------------------------------------------------

def _incomplete(message: str, presigned: bool = False) -> Unauthenticated:
    return Unauthenticated(Unauthenticated.INCOMPLETE, message, presigned=presigned)


def _first_values(query_string: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in query_string.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            values.setdefault(unquote(name), unquote(value))
    return values


def _claims(request: Request) -> _Signed:
    header = request.headers.get("authorization", "").strip()
    query = _first_values(request.query_string) if request.query_string else {}
    if header:
        return _header_claims(request, header)
    if any(name in query for name in _QUERY_FORM):
        return _query_claims(query)
    if "AWSAccessKeyId" in query and "Signature" in query:
        raise Unauthenticated(Unauthenticated.SIGV2, "Signature version 2 is not supported; sign requests with "
                              "AWS4-HMAC-SHA256 (Signature Version 4).", presigned=True)
    raise Unauthenticated(Unauthenticated.MISSING, "Missing Authentication Token")


def _header_claims(request: Request, header: str) -> _Signed:
    algorithm, _, rest = header.partition(" ")
    if algorithm == "AWS":
        raise Unauthenticated(Unauthenticated.SIGV2, "Signature version 2 is not supported; sign requests with "
                              "AWS4-HMAC-SHA256 (Signature Version 4).")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported Authorization Type: {algorithm!r}; only {ALGORITHM} is accepted.")
    parts = {}
    for item in rest.split(","):
        name, equals, value = item.strip().partition("=")
        if equals:
            parts[name.strip()] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise _incomplete(" ".join(f"Authorization header requires '{name}' parameter." for name in missing))
    timestamp = request.headers.get("x-amz-date", "").strip()
    if not timestamp and request.headers.get("date"):
        try:
            timestamp = parsedate_to_datetime(request.headers["date"]).strftime("%Y%m%dT%H%M%SZ")
        except (TypeError, ValueError):
            timestamp = ""
    if not timestamp:
        raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    return _claimed(parts["Credential"], timestamp, parts["SignedHeaders"], parts["Signature"], presigned=False)


def _query_claims(query: dict[str, str]) -> _Signed:
    if any(not query.get(name) for name in _QUERY_FORM):
        raise _incomplete("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                          "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.", True)
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f"X-Amz-Algorithm only supports \"{ALGORITHM}\"", True)
    expires = query["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
        raise _incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800 (seven days)", True)
    signed = _claimed(query["X-Amz-Credential"], query["X-Amz-Date"], query["X-Amz-SignedHeaders"],
                      query["X-Amz-Signature"], presigned=True)
    signed.expires = int(expires)
    return signed


def _claimed(credential: str, timestamp: str, signed_headers: str, signature: str, presigned: bool) -> _Signed:
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise _incomplete(f"the Credential '{credential}' is not <access key id>/<date>/<region>/<service>/"
                          "aws4_request", presigned)
    if not _TIMESTAMP.fullmatch(timestamp):
        raise _incomplete(f"X-Amz-Date must be in the ISO8601 basic format (yyyyMMdd'T'HHmmss'Z'), not "
                          f"'{timestamp}'", presigned)
    if scope[1] != timestamp[:8]:
        raise _incomplete(f"Invalid credential date. Date is not the same as X-Amz-Date: '{scope[1]}' is not "
                          f"'{timestamp[:8]}'", presigned)
    headers = [name.strip().lower() for name in signed_headers.split(";")]
    if "host" not in headers:
        raise _incomplete("'Host' must be a signed header", presigned)
    return _Signed(scope[0], scope[1], scope[2], scope[3], timestamp, headers, signature, presigned)


# -- the canonical request --------------------------------------------------------------------------------

def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_request(request: Request, signed: _Signed, body_checked: bool) -> str:
    raw_path = request.raw_path or "/"
    # S3's signers sign the path as they send it; every other service's path is normalized and encoded again.
    if signed.service in _S3_SIGNING_NAMES:
        path = raw_path
    else:
        from botocore.utils import normalize_url_path   # with its module, only when a request is checked

        path = quote(normalize_url_path(raw_path), safe="/~")
    pairs = []
    for pair in request.query_string.split("&") if request.query_string else ():
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name, value = _encode(unquote(name)), _encode(unquote(value))
        if signed.presigned and name == "X-Amz-Signature":
            continue
        pairs.append((name, value))
    query = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    lines = []
    for name in signed.signed_headers:
        value = request.headers.get(name)
        if value is None and name == "host":
            value = request.host
        lines.append(f"{name}:{' '.join((value or '').split())}\n")
    return "\n".join((request.method.upper(), path, query, "".join(lines), ";".join(signed.signed_headers),
                      _payload_hash(request, signed, body_checked)))


def _payload_hash(request: Request, signed: _Signed, body_checked: bool) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    # A hex hash the codec compares with the body; S3's own placeholders (UNSIGNED-PAYLOAD, STREAMING-...) only
    # where S3 signs with them.
    if declared and body_checked and (signed.service in _S3_SIGNING_NAMES or _HEX_SHA256.fullmatch(declared)):
        return declared
    if signed.presigned and signed.service in _S3_SIGNING_NAMES:
        return UNSIGNED_PAYLOAD
    # The hash of what arrived: a declared hash that differs from it fails the signature.
    return hashlib.sha256(request.body).hexdigest()


# -- signatures -------------------------------------------------------------------------------------------

def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _hex_hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _signing_key(secret: str, signed: _Signed) -> bytes:
    key = _hmac(f"AWS4{secret}".encode("utf-8"), signed.date)
    for part in (signed.region, signed.service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _mismatch(signed: _Signed, string_to_sign: str, canonical: str) -> Unauthenticated:
    return Unauthenticated(
        Unauthenticated.SIGNATURE,
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
        access_key=signed.access_key, string_to_sign=string_to_sign, canonical_request=canonical,
        signature=signed.signature, presigned=signed.presigned)


class ChunkChain:
    """The signatures of an aws-chunked body: each chunk's chains on the one before it, starting from the
    request's (the seed), and a signed trailer's on the last. Fed chunk by chunk as the body is decoded
    (``protocols.payload.ChunkedDecoder``), so the body is never held whole; ``check`` raises what failed.

    A body whose framing breaks off is left to the codec, which refuses it (IncompleteBody); here only what
    the framing carries is checked."""

    def __init__(self, signed: _Signed, signing_key: bytes, trailer: bool):
        self.signed, self.signing_key, self.trailer = signed, signing_key, trailer
        self.previous = signed.signature
        self.ended = False
        self.failure: Unauthenticated | None = None

    def chunk(self, extension: str, data_sha256: str) -> None:
        """One chunk: its header's extension (``chunk-signature=...``) and the SHA-256 of its bytes."""
        if self.failure is not None:
            return
        name, _, chunk_signature = extension.partition("=")
        if name.strip() != "chunk-signature" or not chunk_signature:
            self.failure = _chunk_mismatch(self.signed, "a chunk carries no chunk-signature")
            return
        signed = self.signed
        expected = _hex_hmac(self.signing_key, f"AWS4-HMAC-SHA256-PAYLOAD\n{signed.timestamp}\n{signed.scope}\n"
                                               f"{self.previous}\n{EMPTY_SHA256}\n{data_sha256}")
        if not hmac.compare_digest(expected, chunk_signature.strip()):
            self.failure = _chunk_mismatch(signed, "a chunk's signature does not match its bytes")
        self.previous = expected

    def trailers(self, lines: list[tuple[str, str]]) -> None:
        """The trailing ``name:value`` lines after the last (empty) chunk, in their order."""
        self.ended = True
        if self.failure is not None or not self.trailer:
            return
        canonical, provided = [], None
        for name, value in lines:
            if name.strip().lower() == "x-amz-trailer-signature":
                provided = value.strip()
            else:
                canonical.append(f"{name.strip().lower()}:{value.strip()}\n")
        if provided is None:
            self.failure = _chunk_mismatch(self.signed, "the trailer carries no x-amz-trailer-signature")
            return
        signed = self.signed
        digest = hashlib.sha256("".join(canonical).encode("latin-1")).hexdigest()
        expected = _hex_hmac(self.signing_key, f"AWS4-HMAC-SHA256-TRAILER\n{signed.timestamp}\n{signed.scope}\n"
                                               f"{self.previous}\n{digest}")
        if not hmac.compare_digest(expected, provided):
            self.failure = _chunk_mismatch(signed, "the trailer's signature does not match it")

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure


def feed_chunks(body: bytes, chain: ChunkChain) -> None:
    """Feed ``chain`` from a whole framed body (a request built in process, with its body already in it)."""
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return
        size_text, _, extension = body[pos:end].partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            return
        data = body[end + 2:end + 2 + size]
        if len(data) != size:
            return
        chain.chunk(extension.decode("latin-1"), hashlib.sha256(data).hexdigest())
        pos = end + 2 + size
        if size == 0:
            break
        pos += 2   # the CRLF after the chunk's bytes
    lines = [line.decode("latin-1").partition(":")[::2] for line in body[pos:].split(b"\r\n") if line]
    chain.trailers(lines)


def _chunk_mismatch(signed: _Signed, why: str) -> Unauthenticated:
    failure = _mismatch(signed, "", "")
    failure.details.update(string_to_sign=None, canonical_request=None)
    failure.message = f"{failure.message} ({why})"
    return failure


# -- times ------------------------------------------------------------------------------------------------

def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _basic(seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def _later(now: float, skew: float) -> str:
    return _basic(now + skew)
