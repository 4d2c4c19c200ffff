"""The ASGI application: admin routes (signed URLs among them), then route → codec → service → codec."""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property

import botocore.session

from . import admin
from .clock import Clock
from .config import Config
from .context import Runtime
from .auth import Verifier
from .errors import (ForeignAccount, SerializationError, ServiceError, Unauthenticated, UnknownOperation,
                     ValidationFailed)
from .lifecycle import Lifecycle
from .objects import layer_for
from .protocols import build_codec
from .routing import Router, endpoint_url
from .services import Service, all_services
from .store import FileStore, Store, TokenSigner
from .store.tokens import load_or_create_secret
from .wire import Request, Response

log = logging.getLogger("jobyard")

_NOT_FOUND = Response(404, [("content-type", "application/json")],
                      b'{"__type":"UnknownServiceException","message":"No service matches this request"}')

_MISSING_AUTHENTICATION = Response(
    403, [("content-type", "application/json"), ("x-amzn-errortype", "MissingAuthenticationTokenException")],
    b'{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}')

# Failures that are the client's: answered without logging a traceback.
_CLIENT_FAILURES = (ServiceError, ValidationFailed, SerializationError, UnknownOperation, ForeignAccount,
                    Unauthenticated)


class Emulator:
    def __init__(self, config: Config):
        self.config = config
        os.makedirs(config.data_dir, exist_ok=True)
        self.store = Store(config.resolved_store_url())
        self.files = FileStore(os.path.join(config.data_dir, "files"))
        with self.store.transaction() as tx:
            self.signer = TokenSigner(load_or_create_secret(tx))
            self.clock = Clock.load(tx, scale=config.time_scale)
        self.lifecycle = Lifecycle()
        self.objects = layer_for(config.s3_endpoint, self.store, self.files, self.signer)
        self.runtime = Runtime(self.store, self.files, self.signer, self.objects, self.lifecycle, self.clock)
        for kind, handler in self.objects.transitions().items():
            self.lifecycle.register(kind, handler)
        session = botocore.session.get_session()
        self.services: dict[str, Service] = {}
        models = {}
        for service in all_services():
            self.services[service.model_name] = service
            models[service.model_name] = session.get_service_model(service.model_name)
            for kind, handler in service.transitions().items():
                self.lifecycle.register(kind, handler, service.model_name, service.errors)
            self.runtime.urls.register(service.model_name, service.signed_urls(), service.errors)
        self.models = models
        self.router = Router(
            models,
            {s.model_name: s.signing_names for s in self.services.values()},
            {s.model_name: s.path_prefixes for s in self.services.values()},
            default_account=config.default_account,
            virtual_hosts={s.model_name: self.objects.has_bucket for s in self.services.values() if s.virtual_hosted},
            key_accounts=None if config.credentials is None else {
                key.access_key: key.account for key in config.credentials.values()},
        )
        # With credentials every AWS request must be signed by one of them; without, the server is open.
        self.verifier = None if config.credentials is None else Verifier(config.credentials, config.clock_skew)
        self._codecs: dict[tuple[str, str], object] = {}
        # What a killed process left half-done is settled in the background: the server answers at once.
        self.sweeper = threading.Thread(target=self._sweep, name="jobyard-sweep", daemon=True)
        self.sweeper.start()

    def _sweep(self) -> None:
        try:
            settled = self.files.sweep(self.store)
            if settled:
                log.info("settled %d file operation(s) left by stopped processes", settled)
        except Exception:
            log.exception("the file sweep failed; it runs again at the next start")

    def close(self) -> None:
        self.sweeper.join(timeout=30)
        self.files.close()
        self.store.close()

    def codec(self, service: str, protocol: str):
        key = (service, protocol)
        codec = self._codecs.get(key)
        if codec is None:
            codec = self._codecs[key] = build_codec(self.models[service], protocol)
        return codec

    # -- one request ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_jobyard/"):
            return admin.handle(self, request)
        route = self.router.resolve(request)
        if route is None:
            # An unsigned request names no signing service, so for some services nothing else tells which it
            # is for: with auth on, what it lacks is said first, as AWS's front door does.
            if self.verifier is not None and not self.router.credentials(request)[0]:
                return self._unsigned(request)
            return _NOT_FOUND
        service = self.services[route.service]
        codec = self.codec(route.service, route.protocol)
        # The signature covers the request as sent; the codec reads it as the service's routes expect it.
        signed, request = request, route.request
        name = operation_model = None
        try:
            if self.verifier is not None:   # before anything else: AWS authenticates first
                self.verifier.verify(signed, body_checked=route.protocol.startswith("rest"))
            name = codec.operation_for(request)
            name = service.signed_operations.get((route.signing, name), name)
            if name is None:
                raise UnknownOperation(request.headers.get("x-amz-target") or request.path, codec.wrong_method(request))
            operation_model = self.models[route.service].operation_model(name)
            if route.foreign_account:
                raise ForeignAccount()
            params = codec.parse(operation_model, request)
            base_url = endpoint_url(request, (operation_model.endpoint or {}).get("hostPrefix"), params)
            with self.runtime.unit(route.account, route.region, name, service=route.service, errors=service.errors,
                                   base_url=base_url) as ctx:
                output = service.call(ctx, name, params)
            return codec.serialize(operation_model, output)
        except Exception as failure:
            if not isinstance(failure, _CLIENT_FAILURES):   # a defect of ours: log it, never leak a traceback
                log.exception("internal error on %s %s", request.method, request.path)
            return codec.serialize_error(service.errors.translate(failure, name), operation_model)

    def _unsigned(self, request: Request) -> Response:
        """An unsigned request that names no service by itself (no target, no signing scope): the REST service
        whose URIs it matches answers that authentication is missing, in its own layout. Services whose first
        URI label may be any name (S3's buckets) match nearly every path, so they are asked last."""
        failure = Unauthenticated(Unauthenticated.MISSING, "Missing Authentication Token")
        for name, service in sorted(self.services.items(), key=lambda item: item[1].virtual_hosted):
            protocol = self.router.rest_protocol(name)
            if protocol.startswith("rest") and self.codec(name, protocol).operation_for(request) is not None:
                return self.codec(name, protocol).serialize_error(service.errors.translate(failure, None))
        return _MISSING_AUTHENTICATION

    # -- ASGI ---------------------------------------------------------------------------------------

    @cached_property
    def asgi(self):
        return ASGIApp(self)


def _request_from_scope(scope, body: bytes) -> Request:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    path = scope["path"]
    raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
    host = headers.get("host", "")
    # Absolute-form targets (a client using us as its HTTP proxy): the authority is in the target.
    for prefix in ("http://", "https://"):
        if raw_path.startswith(prefix):
            host, _, rest = raw_path[len(prefix):].partition("/")
            raw_path = "/" + rest
            path = "/" + path[len(prefix):].partition("/")[2] if path.startswith(prefix) else path
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return Request(method=scope["method"], path=path, raw_path=raw_path,
                   query_string=scope.get("query_string", b"").decode("latin-1"), headers=headers,
                   body=body, scheme=scope.get("scheme", "http"), host=host)


class ASGIApp:
    def __init__(self, emulator: Emulator):
        self.emulator = emulator

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.emulator.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        request = _request_from_scope(scope, b"".join(chunks))
        try:
            response = self.emulator.handle(request)
        except Exception:
            log.exception("unhandled error")
            response = Response(500, [("content-type", "application/json")],
                                b'{"__type":"InternalFailure","message":"An internal error occurred."}')
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        body = response.body
        if response.status in (204, 304):   # HTTP: these never have a body
            body = b""
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        elif response.header("content-length") is None:
            headers.append((b"content-length", str(len(body)).encode()))
        if request.method == "HEAD":   # no body either; its Content-Length still tells the size
            body = b""
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(config: Config | None = None) -> ASGIApp:
    return Emulator(config or Config()).asgi
