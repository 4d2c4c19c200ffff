"""The ASGI application: admin routes (signed URLs among them), then route → codec → service → codec."""

from __future__ import annotations

import logging
import os
import threading
from functools import cache, cached_property
from typing import TYPE_CHECKING, Iterator, Mapping

from . import admin
from .clock import SharedClock
from .config import Config
from .blobs import Blob
from .errors import (ForeignAccount, RequestTooLarge, SerializationError, ServiceError, Unauthenticated,
                     UnknownOperation, ValidationFailed)
from .protocols import payload
from .routing import endpoint_url
from .store import FileStore, Store, TokenSigner
from .store.tokens import load_or_create_secret
from .wire import Body, Request, Response, Spooler

# The services, the object layer, the unit of work, codecs and SigV4 are imported where they are first used
# (``Emulator.prepare`` and the calls below), not here: ``jobyard serve`` answers its health check before it
# needs them, and loads them right after.
if TYPE_CHECKING:
    from .services import Service

# Where signed URLs are served (``objects.urls.PATH``, checked in ``Emulator.prepare``): known here without
# importing the object layer, since every admin request, the health check included, is matched against it.
_SIGNED_URLS = "/_jobyard/objects/"

log = logging.getLogger("jobyard")

# The largest API body (JSON, CBOR, XML) read: the largest a served operation documents is S3's DeleteObjects,
# 1,000 keys of up to 1,024 bytes (about 1.1 MB of XML), and every other is far smaller. Uploads have their
# services' own limits (``Service.body_limits``).
API_BODY_LIMIT = 2 * 1024 * 1024

# The most a request's head (headers, path and query string) may hold. S3 answers a header section past
# 8 KB with RequestHeaderSectionTooLarge; jobyard allows twice that (a presigned URL with a session token
# and every metadata header still fits), and bounds what each request holds before its body.
HEAD_LIMIT = 16 * 1024

_NOT_FOUND = Response(404, [("content-type", "application/json")],
                      b'{"__type":"UnknownServiceException","message":"No service matches this request"}')

_MISSING_AUTHENTICATION = Response(
    403, [("content-type", "application/json"), ("x-amzn-errortype", "MissingAuthenticationTokenException")],
    b'{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}')

# Failures that are the client's: answered without logging a traceback.
_CLIENT_FAILURES = (ServiceError, ValidationFailed, SerializationError, UnknownOperation, ForeignAccount,
                    Unauthenticated)


# Service models and codecs depend on botocore's data alone, so the Emulators of a process share them: only
# the first pays for loading and compiling them (a test fixture's next server starts in milliseconds). Models
# are read-only, and each is loaded when a request (or routing) first needs it, not at start-up: botocore and a
# model cost a start more than everything else together. A codec compiles shapes as requests need them, for one
# thread at a time, so it is lent to one Emulator at a time: taken from the pool at its first use, given back
# when the Emulator closes.
_MODELS: dict[str, object] = {}
_CODEC_POOL: dict[tuple[str, str], list] = {}
_CACHE_LOCK = threading.Lock()
_MODEL_LOCK = threading.Lock()


class _Models(Mapping):
    """Every served service's botocore model, by name, each loaded at its first use (once per process)."""

    def __getitem__(self, name: str):
        model = _MODELS.get(name)
        if model is None:
            if name not in _served():
                raise KeyError(name)
            with _MODEL_LOCK:
                model = _MODELS.get(name)
                if model is None:
                    _MODELS[name] = model = _botocore_session().get_service_model(name)
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(_served())

    def __len__(self) -> int:
        return len(_served())


@cache
def _served() -> tuple[str, ...]:
    from .services import all_services

    return tuple(service.model_name for service in all_services())


@cache
def _botocore_session():
    import botocore.session   # imported at first use: it costs a start more than the rest of jobyard

    return botocore.session.get_session()


MODELS = _Models()


def service_models() -> dict[str, object]:
    """Every served service's botocore model, by name, all loaded."""
    return {name: MODELS[name] for name in MODELS}


def prepare_codecs() -> None:
    """Put a codec of each protocol of each served model in the pool: what a process's first requests would
    otherwise pay for (``jobyard.testing.warm``)."""
    from .protocols import build_codec

    for name, model in service_models().items():
        for protocol in model.metadata.get("protocols") or [model.metadata["protocol"]]:
            with _CACHE_LOCK:
                if _CODEC_POOL.get((name, protocol)):
                    continue
            try:
                codec = build_codec(model, protocol)
            except KeyError:   # a protocol of the model that no codec speaks
                continue
            with _CACHE_LOCK:
                _CODEC_POOL.setdefault((name, protocol), []).append(codec)


class Emulator:
    # What only requests other than the health check need, built by ``prepare``: at the first use of any of
    # these attributes (``__getattr__``), or by ``jobyard serve`` in the background once it answers.
    _PREPARED = frozenset({"lifecycle", "objects", "runtime", "services", "models", "router", "verifier"})

    def __init__(self, config: Config):
        self.config = config
        os.makedirs(config.data_dir, exist_ok=True)
        self.store = Store(config.resolved_store_url())
        self.files = FileStore(os.path.join(config.data_dir, "files"))
        self._tmp = os.path.join(config.data_dir, "tmp")
        with self.store.transaction() as tx:
            self.signer = TokenSigner(load_or_create_secret(tx))
        self.clock = SharedClock(self.store)   # read from the store's clock row, as every process does
        if config.time_scale is not None:
            self.clock.steer(scale=config.time_scale)
        self._codecs: dict[tuple[str, str], object] = {}   # lent by _CODEC_POOL until close()
        self._preparing = threading.Lock()
        if config.s3_endpoint:   # an external endpoint can be misconfigured: found out before the server answers
            self.prepare()
        # What a killed process left half-done is settled in the background: the server answers at once.
        self.sweeper = threading.Thread(target=self._sweep, name="jobyard-sweep", daemon=True)
        self.sweeper.start()

    def __getattr__(self, name: str):
        # Only called for an attribute not set yet: once prepared, these are plain attributes.
        if name in Emulator._PREPARED:
            self.prepare()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def prepare(self) -> None:
        """Register the services (their transitions and signed URLs) and build the object layer, the unit of
        work's runtime and the router: what every request but the health check needs. Once per Emulator;
        a request that comes first waits for it. Each attribute is set only when all are built."""
        with self._preparing:
            if "runtime" in self.__dict__:
                return
            from .auth import Verifier
            from .context import Runtime
            from .lifecycle import Lifecycle
            from .objects import layer_for, urls
            from .routing import Router
            from .services import all_services

            assert urls.PATH == _SIGNED_URLS
            config = self.config
            lifecycle = Lifecycle()
            objects = layer_for(config.s3_endpoint, self.store, self.files, self.signer)
            runtime = Runtime(self.store, self.files, self.signer, objects, lifecycle, self.clock)
            for kind, handler in objects.transitions().items():
                lifecycle.register(kind, handler)
            services: dict[str, Service] = {}
            for service in all_services():
                services[service.model_name] = service
                for kind, handler in service.transitions().items():
                    lifecycle.register(kind, handler, service.model_name, service.errors)
                runtime.urls.register(service.model_name, service.signed_urls(), service.errors)
            models = MODELS   # loaded as requests need them
            router = Router(
                models,
                {s.model_name: s.signing_names for s in services.values()},
                {s.model_name: s.path_prefixes for s in services.values()},
                default_account=config.default_account,
                virtual_hosts={s.model_name: objects.has_bucket for s in services.values() if s.virtual_hosted},
                key_accounts=None if config.credentials is None else {
                    key.access_key: key.account for key in config.credentials.values()},
            )
            # With credentials every AWS request must be signed by one of them; without, the server is open.
            verifier = None if config.credentials is None else Verifier(config.credentials, config.clock_skew)
            self.lifecycle, self.objects, self.services, self.models = lifecycle, objects, services, models
            self.router, self.verifier = router, verifier
            self.runtime = runtime   # last: it marks the Emulator prepared

    def warm(self) -> None:
        """Load and build now what the first requests would (botocore, every served model, the routing tables,
        a codec per protocol): ``jobyard serve`` calls it in the background once it answers, so it starts
        without paying for them and its first requests find them ready. A request that comes first loads what
        it needs itself; a model is loaded once either way."""
        self.router.prepare()   # every model first: what any first request routes by
        prepare_codecs()

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
        codecs, self._codecs = self._codecs, {}
        with _CACHE_LOCK:
            for key, codec in codecs.items():
                _CODEC_POOL.setdefault(key, []).append(codec)

    def spool_dir(self) -> str:
        """Where request bodies past ``wire.MEMORY_LIMIT`` are spooled (the byte store's, so a put takes the
        file over)."""
        return self.files.spool_dir() or self._tmp

    def codec(self, service: str, protocol: str):
        key = (service, protocol)
        codec = self._codecs.get(key)
        if codec is None:
            with _CACHE_LOCK:
                pool = _CODEC_POOL.get(key)
                codec = pool.pop() if pool else None
            if codec is None:
                from .protocols import build_codec
                codec = build_codec(self.models[service], protocol)
            self._codecs[key] = codec
        return codec

    # -- one request ------------------------------------------------------------------------------
    #
    # In two steps, so the body's limit is known before the body is read: ``begin`` decides from the head
    # alone (route, operation, limit), ``finish`` answers once the body is there.

    def begin(self, request: Request) -> "Exchange":
        if _named_in_body(request):   # decided in ``finish``, once the (API-sized) body is there
            exchange = Exchange(request, limit=API_BODY_LIMIT)
            exchange.deferred = True
        else:
            exchange = self._begin(request)
        head = _head_size(request)
        if head > HEAD_LIMIT:
            exchange.failure, exchange.refused = RequestTooLarge(head, HEAD_LIMIT, RequestTooLarge.HEAD), True
        return exchange

    def _begin(self, request: Request) -> "Exchange":
        if request.path.startswith("/_jobyard/"):
            exchange = Exchange(request, limit=API_BODY_LIMIT, admin=True)
            if request.path.startswith(_SIGNED_URLS):   # a signed URL's PUT takes what S3's PutObject takes
                from .objects.api import MAX_PUT_SIZE
                exchange.limit, exchange.upload = MAX_PUT_SIZE, True
            return exchange
        route = self.router.resolve(request)
        if route is None:
            exchange = Exchange(request, limit=API_BODY_LIMIT)
            # An unsigned request names no signing service, so for some services nothing else tells which it
            # is for: with auth on, what it lacks is said first, as AWS's front door does.
            if self.verifier is not None and not self.router.credentials(request)[0]:
                exchange.answer = self._unsigned(request)
            return exchange
        exchange = Exchange(route.request, route=route, service=self.services[route.service],
                            codec=self.codec(route.service, route.protocol))
        # The signature covers the request as sent; the codec reads it as the service's routes expect it.
        exchange.signed, request = request, route.request
        try:
            if self.verifier is not None and route.protocol.startswith("rest"):
                # AWS authenticates first. A REST signature covers the head and the declared payload hash
                # (which the codec checks against the body), so it is checked before the body is read.
                exchange.chain = self.verifier.verify_head(exchange.signed)
            name = exchange.codec.operation_for(request)
            exchange.name = name = exchange.service.signed_operations.get((route.signing, name), name)
            if name is None:
                raise exchange.codec.unknown_operation(request)
            exchange.operation_model = self.models[route.service].operation_model(name)
            if route.foreign_account:
                raise ForeignAccount()
        except Exception as failure:
            exchange.failure = failure
        limit = exchange.service.body_limits.get(exchange.name) if exchange.name else None
        exchange.limit, exchange.upload = (API_BODY_LIMIT, False) if limit is None else (limit, True)
        # aws-chunked framing is undone as the body arrives, for the REST protocols whose codecs read it.
        exchange.unframe = route.protocol in ("rest-xml", "rest-json") and payload.is_streaming(request.headers)
        return exchange

    def too_large(self, exchange: "Exchange", size: int = 0) -> Response:
        """The answer to a request over a limit: its head (``exchange.refused``), or its body (``size``
        bytes declared or received), in the protocol's manner."""
        failure = exchange.failure if exchange.refused else RequestTooLarge(
            size, exchange.limit, RequestTooLarge.UPLOAD if exchange.upload else RequestTooLarge.BODY)
        if exchange.admin and exchange.upload:   # a signed URL: S3's errors, as every refusal there
            return self.codec("s3", "rest-xml").serialize_error(self.services["s3"].errors.translate(failure, None))
        if exchange.admin or exchange.route is None:
            return admin.json_response(400, {"error": str(failure)})
        error = exchange.service.errors.translate(failure, exchange.name)
        return exchange.codec.serialize_error(error, exchange.operation_model)

    def finish(self, exchange: "Exchange") -> Response:
        """Answer a request whose body is in ``exchange.request.payload``."""
        if exchange.deferred:
            exchange = self._begin(exchange.request)
        request = exchange.request
        if exchange.admin:
            return admin.handle(self, request)
        if exchange.answer is not None:
            return exchange.answer
        if exchange.route is None:
            return _NOT_FOUND
        route, service, codec, name = exchange.route, exchange.service, exchange.codec, exchange.name
        operation_model = exchange.operation_model
        try:
            if exchange.failure is not None:
                raise exchange.failure
            if exchange.chain is not None:
                exchange.chain.check()
            if self.verifier is not None and not route.protocol.startswith("rest"):
                # The other protocols sign their body's hash: checked now that the (API-sized) body is here.
                exchange.signed.payload = request.payload
                self.verifier.verify(exchange.signed, body_checked=False)
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

    def handle(self, request: Request) -> Response:
        """Answer a request whose whole body is already in it (in-process callers)."""
        exchange = self.begin(request)
        exchange.request.payload = request.payload
        if exchange.chain is not None:
            from .auth import feed_chunks
            feed_chunks(request.body, exchange.chain)
        if exchange.refused:
            return self.too_large(exchange)
        if len(request.payload) > exchange.limit:
            return self.too_large(exchange, len(request.payload))
        return self.finish(exchange)
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


def _request_from_scope(scope) -> Request:
    """The request's head; its body is read afterwards (``ASGIApp._receive``)."""
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
                   scheme=scope.get("scheme", "http"), host=host)


def _named_in_body(request: Request) -> bool:
    """A form POST: AWS Query requests name their action (and, unsigned, their service) in the body."""
    return request.method == "POST" and request.headers.get("content-type", "").split(";")[0].strip().lower() \
        == "application/x-www-form-urlencoded"


def _head_size(request: Request) -> int:
    return len(request.raw_path) + len(request.query_string) + sum(
        len(name) + len(value) + 4 for name, value in request.headers.items())


class Exchange:
    """One request between ``Emulator.begin`` and ``Emulator.finish``: where it goes and what its body may be."""

    __slots__ = ("request", "route", "service", "codec", "name", "operation_model", "failure", "limit", "upload",
                 "admin", "unframe", "refused", "deferred", "signed", "chain", "answer")

    def __init__(self, request: Request, *, route=None, service=None, codec=None, limit: int = 0,
                 admin: bool = False):
        self.request, self.route, self.service, self.codec = request, route, service, codec
        self.name = self.operation_model = self.failure = None
        self.limit, self.upload, self.admin, self.unframe = limit, False, admin, False
        self.refused = False   # answered from the head alone (``failure``), the body unread
        self.deferred = False  # routed only once the body is read (``finish``)
        self.signed = request  # the request as sent, which its signature covers
        self.chain = None      # the signatures of a body of signed chunks (``auth.ChunkChain``), fed as it arrives
        self.answer = None     # an answer decided from the head alone


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
        request = _request_from_scope(scope)
        body = response = None
        try:
            exchange = self.emulator.begin(request)
            response, body = await self._receive(exchange, receive)
            if response is None:
                exchange.request.payload = body
                response = self.emulator.finish(exchange)
        except _Disconnected:
            return
        except Exception:
            log.exception("unhandled error")
            response = Response(500, [("content-type", "application/json")],
                                b'{"__type":"InternalFailure","message":"An internal error occurred."}')
        finally:
            if body is not None:
                body.close()   # its file, if spooled and not taken over by the byte store
        try:
            await self._send(request, response, send)
        finally:
            if isinstance(response.body, Blob):
                response.body.close()

    async def _receive(self, exchange: Exchange, receive) -> tuple[Response | None, Body | None]:
        """Read the body into a spool, unframing aws-chunked bodies on the way. Over the limit (declared, or
        once that many bytes came): the answer, without reading the rest (the connection then closes)."""
        emulator, headers, limit = self.emulator, exchange.request.headers, exchange.limit
        if exchange.refused:
            return _closing(emulator.too_large(exchange)), None
        declared = payload.declared_length(headers)
        if declared is not None and declared > limit:
            return _closing(emulator.too_large(exchange, declared)), None
        spooler = Spooler(emulator.spool_dir, payload.wanted_digests(headers) if exchange.upload else ())
        decoder = payload.ChunkedDecoder(spooler.write, exchange.chain) if exchange.unframe else None
        feed = decoder.feed if decoder is not None else spooler.write
        # Framing adds a little to the payload's size: bounded too, so the raw bytes cannot grow unchecked.
        raw_limit = limit + _FRAMING_ALLOWANCE + limit // 64 if decoder is not None else limit
        received = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected()
                chunk = message.get("body", b"")
                received += len(chunk)
                feed(chunk)
                if spooler.length > limit or received > raw_limit:
                    spooler.abort()
                    answer = emulator.too_large(exchange, max(spooler.length, received))
                    if message.get("more_body"):
                        await _drain(receive, message)
                    return _closing(answer), None
                if not message.get("more_body"):
                    break
        except BaseException:
            spooler.abort()
            raise
        return None, spooler.finish(decoder.finish() if decoder is not None else None)

    @staticmethod
    async def _send(request: Request, response: Response, send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        body = response.body
        streamed = isinstance(body, Blob)
        if response.status in (204, 304):   # HTTP: these never have a body
            body, streamed = b"", False
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        elif response.header("content-length") is None:
            headers.append((b"content-length", str(len(body)).encode()))
        if request.method == "HEAD":   # no body either; its Content-Length still tells the size
            body, streamed = b"", False
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if not streamed:
            await send({"type": "http.response.body", "body": body})
            return
        for chunk in body.chunks():   # the server's write buffer pushes back on a slow reader
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class _Disconnected(Exception):
    """The client went away before its body was complete: nothing to answer."""


# What aws-chunked framing may add to a payload beyond its chunk headers (about 1/64 of it at the smallest
# chunks SDKs send, 8 KiB with an 86-byte signed header): the trailer and a final chunk.
_FRAMING_ALLOWANCE = 64 * 1024


# Past its limit, a body that did not declare its length is still read (and dropped) this much further, so a
# client that sends it whole, reading no answer until it is done, gets the answer instead of a reset.
_DRAIN_LIMIT = 64 * 1024 * 1024


async def _drain(receive, message) -> None:
    drained = 0
    while message.get("more_body") and drained < _DRAIN_LIMIT:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        drained += len(message.get("body", b""))


def _closing(response: Response) -> Response:
    """A response sent before the body was read: the connection cannot carry another request after it."""
    response.headers = [*response.headers, ("connection", "close")]
    return response


def create_app(config: Config | None = None) -> ASGIApp:
    return Emulator(config or Config()).asgi
