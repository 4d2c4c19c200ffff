"""Which service, protocol, account and region a request is for — decided from the request alone.

In order: the SigV4 credential scope (``Authorization`` header or presigned ``X-Amz-Credential``) names the
signing service and region; ``X-Amz-Target`` names a JSON-RPC service; ``/service/<Name>/operation/<Op>``
with ``smithy-protocol: rpc-v2-cbor`` names an RPC v2 CBOR service; path prefixes settle the rest
(``/v20180820/`` is S3 Control, which signs as ``s3``). The account comes from the access key id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from botocore.model import ServiceModel

from .wire import Request

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT_KEY = re.compile(r"^\d{12}$")
_V2_AUTHORIZATION = re.compile(r"AWS ([^:\s]+):")
_RPC_V2_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")


@dataclass(frozen=True)
class Route:
    service: str          # botocore model name (snowball, glacier, s3control, dataexchange)
    protocol: str         # botocore protocol name of the codec to use
    account: str
    region: str
    access_key: str
    foreign_account: bool = False  # the request names an account other than the one its key belongs to


@dataclass(frozen=True)
class _Entry:
    model: ServiceModel
    path_prefixes: tuple[str, ...]


class Router:
    def __init__(self, models: dict[str, ServiceModel], signing_names: dict[str, tuple[str, ...]],
                 path_prefixes: dict[str, tuple[str, ...]] | None = None, default_account: str = DEFAULT_ACCOUNT):
        self.default_account = default_account
        self._models = models
        self._by_target = {m.metadata.get("targetPrefix"): name for name, m in models.items()
                           if m.metadata.get("targetPrefix")}
        self._by_signing: dict[str, list[str]] = {}
        for name, signing in signing_names.items():
            for s in signing:
                self._by_signing.setdefault(s, []).append(name)
        self._prefixes = sorted(((p, name) for name, ps in (path_prefixes or {}).items() for p in ps),
                                key=lambda item: -len(item[0]))

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
        """A 12-digit access key id is the account itself; any other key maps to the default account."""
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
            if _ACCOUNT_KEY.match(access_key):
                foreign = claimed != access_key
            else:
                account = claimed
        return Route(service, protocol, account, region, access_key, foreign)

    def _service_and_protocol(self, request: Request, signing: str | None) -> tuple[str | None, str]:
        target = request.headers.get("x-amz-target")
        if target:
            name = self._by_target.get(target.rsplit(".", 1)[0])
            if name and "json" in self._protocols(name):
                return name, "json"
        rpc = _RPC_V2_PATH.match(request.path)
        if rpc and request.headers.get("smithy-protocol", "").lower() == "rpc-v2-cbor":
            name = self._by_target.get(rpc.group(1))
            if name and "smithy-rpc-v2-cbor" in self._protocols(name):
                return name, "smithy-rpc-v2-cbor"
        candidates = self._by_signing.get(signing or "", [])
        for prefix, name in self._prefixes:
            if request.path.startswith(prefix) and (not candidates or name in candidates):
                return name, self._rest_protocol(name)
        for name in candidates:
            if not any(name == n for _, n in self._prefixes):
                return name, self._rest_protocol(name)
        return None, ""

    def _protocols(self, name: str) -> list[str]:
        meta = self._models[name].metadata
        return list(meta.get("protocols") or [meta["protocol"]])

    def _rest_protocol(self, name: str) -> str:
        """The protocol to answer in when the request itself does not say (REST, else JSON, else the first)."""
        protocols = self._protocols(name)
        return next((p for p in protocols if p.startswith("rest")),
                    "json" if "json" in protocols else protocols[0])
