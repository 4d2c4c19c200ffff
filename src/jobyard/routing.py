"""Which service, protocol, account and region a request is for — decided from the request alone.

In order: the SigV4 credential scope (``Authorization`` header or presigned ``X-Amz-Credential``) names the
signing service and region; ``X-Amz-Target`` names a JSON-RPC service; ``/service/<Name>/operation/<Op>``
with ``smithy-protocol: rpc-v2-cbor`` names an RPC v2 CBOR service; path prefixes settle the rest
(``/v20180820/`` is S3 Control, which signs as ``s3``); an unsigned request whose form body or query string
names an ``Action`` of a query-protocol service (STS) is that service's. The account comes from the access
key id: a 12-digit key is the account, or, when signatures are checked, the credentials file says whose each
key is.

Virtual hosting. A service may let clients name the first label of its URIs in the Host instead of the
path (S3's buckets: ``bucket.s3.amazonaws.com/key`` for ``/bucket/key``, also as an absolute-form target
when jobyard serves as the client's HTTP proxy). A request for such a service is read as virtual-hosted
when its host is

* ``<bucket>.s3.amazonaws.com`` or a regional / dual-stack / accelerate form of it
  (``<bucket>.s3.us-west-2.amazonaws.com``, ``<bucket>.s3-us-west-2.amazonaws.com``), or
* ``<bucket>.localhost`` (what botocore builds for ``endpoint_url=http://localhost:port``), or
* any other host of two or more labels whose first label is an existing bucket of the caller, which the
  predicate handed to the router answers (one indexed read, only for such hosts).

Anything else (an IP address, ``localhost``, ``s3.amazonaws.com`` itself, a host whose first label is no
bucket of the caller) is path-style. The routed request then has the bucket in its path, where the
service's URI templates expect it.

Host prefixes. Some operations' models put a prefix before the endpoint's host (S3 Control's
``{AccountId}.``, Data Exchange SendApiAsset's ``api-fulfill.``); requests are accepted whatever the Host
says, and ``endpoint_url`` takes the prefix off again, so URLs the server hands out name the endpoint itself.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Mapping
from urllib.parse import parse_qs, parse_qsl, quote

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import ServiceModel

from .wire import Request

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT_KEY = re.compile(r"^\d{12}$")
_V2_AUTHORIZATION = re.compile(r"AWS ([^:\s]+):")
_RPC_V2_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")
_AWS_BUCKET_HOST = re.compile(r"(?P<bucket>.+?)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")
_LOCALHOST_BUCKET = re.compile(r"(?P<bucket>.+)\.localhost")

# Whether ``account`` has a bucket (or other first URI label) of this name.
LabelExists = Callable[[str, str], bool]


@dataclass(frozen=True)
class Route:
    service: str          # botocore model name (snowball, glacier, s3control, dataexchange)
    protocol: str         # botocore protocol name of the codec to use
    account: str
    region: str
    access_key: str
    foreign_account: bool = False  # the request names an account other than the one its key belongs to
    request: Request | None = None  # the request as the codec is to read it (a virtual-hosted bucket in the path)
    signing: str | None = None      # the SigV4 signing name the client used (s3, s3express...)


@dataclass(frozen=True)
class _Entry:
    model: ServiceModel
    path_prefixes: tuple[str, ...]


class Router:
    def __init__(self, models: Mapping[str, ServiceModel], signing_names: dict[str, tuple[str, ...]],
                 path_prefixes: dict[str, tuple[str, ...]] | None = None, default_account: str = DEFAULT_ACCOUNT,
                 virtual_hosts: dict[str, LabelExists] | None = None, key_accounts: dict[str, str] | None = None):
        """``virtual_hosts`` names the services whose first URI label may travel in the Host, each with the
        predicate that tells whether an account has such a label (S3: a bucket). ``key_accounts``, when
        given (signatures are checked), alone decides each access key's account.

        ``models`` may load each model when it is first asked for (the server's do): what routing needs of
        them (target prefixes, protocols, a query service's actions) is derived at the first request that
        needs it, not here, so a server answers its first request without having read any model."""
        self.default_account = default_account
        self._key_accounts = key_accounts
        self._virtual_hosts = virtual_hosts or {}
        self._models = models
        self._by_signing: dict[str, list[str]] = {}
        for name, signing in signing_names.items():
            for s in signing:
                self._by_signing.setdefault(s, []).append(name)
        self._prefixes = sorted(((p, name) for name, ps in (path_prefixes or {}).items() for p in ps),
                                key=lambda item: -len(item[0]))
        self._protocol_lists: dict[str, list[str]] = {}

    def prepare(self) -> None:
        """Derive now what the first request would (reading every model): a server warming up after start."""
        for name in self._models:
            self._protocols(name)
        self._by_target, self._by_action

    @cached_property
    def _by_target(self) -> dict[str, str]:
        return {m.metadata.get("targetPrefix"): name for name, m in self._models.items()
                if m.metadata.get("targetPrefix")}

    @cached_property
    def _by_action(self) -> dict[str, str]:
        """Actions of query-protocol services, for requests that carry no signature to name their service."""
        by_action: dict[str, str] = {}
        for name in sorted(self._models):
            if "query" in self._protocols(name):
                for action in self._models[name].operation_names:
                    by_action.setdefault(action, name)
        return by_action

    def credentials(self, request: Request) -> tuple[str, str | None, str | None]:
        """(access key id, region, signing service) from the SigV4 credential scope, where present."""
        match = _CREDENTIAL.search(request.headers.get("authorization", ""))
        if match:
            return match.group(1), match.group(2), match.group(3)
        if "X-Amz-Credential" in request.query_string:
            values = parse_qs(request.query_string).get("X-Amz-Credential")
            if values:
                parts = values[0].split("/")
                if len(parts) == 5:
                    return parts[0], parts[2], parts[3]
        # Signature version 2 (``Authorization: AWS key:sig``, presigned ``?AWSAccessKeyId=``) is S3's alone;
        # boto3 still presigns S3 URLs with it by default. It names no region.
        v2 = _V2_AUTHORIZATION.match(request.headers.get("authorization", ""))
        if v2:
            return v2.group(1), None, "s3"
        if "AWSAccessKeyId=" in request.query_string:
            values = parse_qs(request.query_string).get("AWSAccessKeyId")
            if values:
                return values[0], None, "s3"
        return "", None, None

    def account_for(self, access_key: str) -> str:
        """A 12-digit access key id is the account itself; any other key maps to the default account. With
        credentials, the key's own account (an unknown key is refused before any account is used)."""
        if self._key_accounts is not None:
            return self._key_accounts.get(access_key, self.default_account)
        return access_key if _ACCOUNT_KEY.match(access_key) else self.default_account

    def resolve(self, request: Request) -> Route | None:
        access_key, region, signing = self.credentials(request)
        account, region = self.account_for(access_key), region or DEFAULT_REGION
        service, protocol = self._service_and_protocol(request, signing)
        if service is None:
            return None
        # Some APIs (S3 Control) also name the account in a header: with a key that maps to the default
        # account the header chooses the account; a key that is an account may not act for another.
        claimed = request.headers.get("x-amz-account-id")
        foreign = False
        if claimed:
            if self._key_accounts is not None or _ACCOUNT_KEY.match(access_key):
                foreign = claimed != account
            else:
                account = claimed
        exists = self._virtual_hosts.get(service)
        if exists is not None:
            label = virtual_label(request.host, lambda name: exists(account, name))
            if label is not None:
                request = with_label_in_path(request, label)
        return Route(service, protocol, account, region, access_key, foreign, request, signing)

    def _service_and_protocol(self, request: Request, signing: str | None) -> tuple[str | None, str]:
        # A target or an RPC v2 path names a JSON / CBOR service's operation, unless the credential scope names
        # another service: then the request is that service's (a stray header on a REST request changes nothing).
        candidates = self._by_signing.get(signing or "", [])
        target = request.headers.get("x-amz-target")
        if target:
            name = self._by_target.get(target.rsplit(".", 1)[0])
            if name and "json" in self._protocols(name) and (not candidates or name in candidates):
                return name, "json"
        rpc = _RPC_V2_PATH.match(request.path)
        if rpc and request.headers.get("smithy-protocol", "").lower() == "rpc-v2-cbor":
            name = self._by_target.get(rpc.group(1))
            if name and "smithy-rpc-v2-cbor" in self._protocols(name) and (not candidates or name in candidates):
                return name, "smithy-rpc-v2-cbor"
        for prefix, name in self._prefixes:
            if request.path.startswith(prefix) and (not candidates or name in candidates):
                return name, self.rest_protocol(name)
        for name in candidates:
            if not any(name == n for _, n in self._prefixes):
                return name, self.rest_protocol(name)
        if signing is None and self._by_action:
            name = self._by_action.get(query_action(request) or "")
            if name is not None:
                return name, "query"
        return None, ""

    def _protocols(self, name: str) -> list[str]:
        protocols = self._protocol_lists.get(name)
        if protocols is None:
            meta = self._models[name].metadata
            self._protocol_lists[name] = protocols = list(meta.get("protocols") or [meta["protocol"]])
        return protocols

    def rest_protocol(self, name: str) -> str:
        """The protocol to answer in when the request itself does not say (REST, else JSON, else the first)."""
        protocols = self._protocols(name)
        return next((p for p in protocols if p.startswith("rest")),
                    "json" if "json" in protocols else protocols[0])


def query_action(request: Request) -> str | None:
    """The ``Action`` a query-protocol request names in its query string or form body, if any."""
    sources = [request.query_string] if "Action=" in request.query_string else []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method.upper() == "POST" and content_type == "application/x-www-form-urlencoded" \
            and b"Action=" in request.body:
        sources.append(bytes(request.body).decode("utf-8", "replace"))
    for text in sources:
        for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
            if key == "Action":
                return value
    return None


# -- virtual hosting -------------------------------------------------------------------------------------

def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def virtual_label(host: str, exists: Callable[[str], bool]) -> str | None:
    """The bucket a Host names (see the module docstring), or None for a path-style request."""
    name = _hostname(host)
    if not name or _is_ip(name) or "." not in name:
        return None
    for pattern in (_AWS_BUCKET_HOST, _LOCALHOST_BUCKET):
        match = pattern.fullmatch(name)
        if match:
            return match.group("bucket")
    first = name.partition(".")[0]
    return first if exists(first) else None


def with_label_in_path(request: Request, label: str) -> Request:
    path = "" if request.path == "/" else request.path
    raw_path = "" if (request.raw_path or "/") == "/" else request.raw_path
    return replace(request, path=f"/{label}{path}", raw_path=f"/{quote(label, safe='')}{raw_path}")


# -- host prefixes ---------------------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"\{([^}]+)\}")


def endpoint_url(request: Request, host_prefix: str | None, params: dict) -> str:
    """Where the client reaches the server, without the operation's ``host_prefix`` (rendered with the
    request's own input members, so that only the prefix the client was told to add is taken off)."""
    labels = _HOST_LABEL.findall(host_prefix or "")
    if host_prefix and all(params.get(label) is not None for label in labels):
        prefix = _HOST_LABEL.sub(lambda m: str(params[m.group(1)]), host_prefix).lower()
        host = request.host.lower()
        if host.startswith(prefix) and len(host) > len(prefix):
            return f"{request.scheme}://{request.host[len(prefix):]}"
    return request.base_url
