"""Run a real jobyard server in a thread of this process, on a free port: for pytest and for any other code.

    from jobyard.testing import serve

    with serve() as jobyard:                       # a fresh data dir, the clock frozen
        snowball = jobyard.client("snowball")      # boto3, pointed at the server (S3 Control too)
        ...
        jobyard.advance("3h")                      # 90s, 15m, 3h, 2d, or seconds

The pytest plugin (``jobyard.pytest_plugin``) hands the same object out as the ``jobyard`` and
``jobyard_session`` fixtures. ``running_server(Config)`` is the lower-level form the project's own tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

import uvicorn

from .config import Config
from .durations import parse_duration
from .server import Emulator, prepare_codecs

DEFAULT_ACCOUNT = "123456789012"   # the account of ``client()`` and ``resource()`` unless one is named
DEFAULT_REGION = "us-east-1"

# botocore's options each service needs to reach the server with no DNS set-up. Every client has the server as
# its HTTP proxy too: S3 Control puts the account before the host ({AccountId}.127.0.0.1) whatever the
# endpoint, and the server answers such absolute-form requests; and a proxy in the client's config wins over
# HTTP_PROXY, which a shell may have set to another server. Data Exchange's SendApiAsset puts "api-fulfill."
# before the host: left out.
SERVICE_CONFIG = {
    "dataexchange": lambda url: {"proxies": {"http": url}, "inject_host_prefix": False},
}


def _service_config(service: str, url: str) -> dict:
    return SERVICE_CONFIG[service](url) if service in SERVICE_CONFIG else {"proxies": {"http": url}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_call(url: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/_jobyard/{path}", data=data, method=method, headers=headers)
    with _DIRECT.open(request, timeout=30) as response:
        return json.loads(response.read())


# Straight to the server, whatever HTTP_PROXY says (a user's shell may name jobyard, or a real proxy, there).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class RunningServer:
    url: str
    emulator: Emulator

    @property
    def token(self) -> str | None:
        return self.emulator.config.admin_token

    def advance(self, duration: float | str) -> dict:
        """Move simulated time forward by ``duration`` (seconds, or ``"90s"``, ``"15m"``, ``"3h"``, ``"2d"``);
        every transition that becomes due is applied. Returns the clock: ``{"now": ..., "scale": ...}``."""
        return admin_call(self.url, "POST", "clock", {"advance": parse_duration(duration)}, self.token)

    def clock(self) -> dict:
        return admin_call(self.url, "GET", "clock", token=self.token)

    def reset(self) -> dict:
        return admin_call(self.url, "POST", "reset", token=self.token)


@dataclass
class Jobyard(RunningServer):
    """A running server, as ``serve()`` and the pytest fixtures hand it out."""

    data_dir: str = ""

    def now(self) -> datetime:
        """The simulated time."""
        return datetime.fromisoformat(self.clock()["now"].replace("Z", "+00:00"))

    def freeze(self) -> dict:
        """Stop the simulated clock (it starts frozen); ``advance`` still moves it."""
        return self.scale(0)

    def scale(self, factor: float) -> dict:
        """Run the simulated clock at ``factor`` simulated seconds per real second (0 freezes it)."""
        return admin_call(self.url, "POST", "clock", {"scale": factor}, self.token)

    def client(self, service: str, account: str | None = None, region: str = DEFAULT_REGION, **kwargs):
        """A boto3 client of ``service`` for ``account`` (default 123456789012) in ``region``, pointed at this
        server. ``kwargs`` go to ``boto3.client`` (a ``config`` is merged over the one the service needs)."""
        return self._make("client", service, account, region, kwargs)

    def resource(self, service: str, account: str | None = None, region: str = DEFAULT_REGION, **kwargs):
        """A boto3 resource (``s3``, ``glacier``), as ``client()``."""
        return self._make("resource", service, account, region, kwargs)

    def _make(self, kind: str, service: str, account: str | None, region: str, kwargs: dict):
        from botocore.config import Config as BotoConfig

        key, secret = self._key(account or DEFAULT_ACCOUNT)
        options = dict(endpoint_url=self.url, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret)
        options.update(kwargs)
        config = BotoConfig(**_service_config(service, self.url))
        options["config"] = config.merge(options["config"]) if options.get("config") else config
        with _SESSION_LOCK:   # a boto3 session makes one client at a time; sharing it shares its loaded models
            return getattr(_boto3_session(), kind)(service, **options)

    def _key(self, account: str) -> tuple[str, str]:
        """The access key (and secret) that names ``account``: the account id itself, unless the server checks
        signatures (``credentials=``), when it is that account's first key."""
        credentials = self.emulator.config.credentials
        if credentials is None:
            return account, "jobyard"
        for key in credentials.values():
            if key.account == account:
                return key.access_key, key.secret
        raise ValueError(f"no key of the server's credentials belongs to account {account}")


_SESSION = None
_SESSION_LOCK = threading.Lock()


def _boto3_session():
    global _SESSION
    if _SESSION is None:
        import boto3

        _SESSION = boto3.session.Session()
    return _SESSION


def wait_healthy(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin_call(url, "GET", "health")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once when asked to stop (its own loop looks every 0.1 s)."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets=None) -> None:
        """uvicorn's graceful shutdown, minus its fixed waits (0.1 s, then polls every 0.1 s): idle keep-alive
        connections close at once, requests under way finish, then the application's lifespan ends."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 30)
        while self.server_state.connections or self.server_state.tasks:
            if time.monotonic() > deadline:
                for task in self.server_state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(0.002)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()

    def stop(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):   # the loop has already ended
                loop.call_soon_threadsafe(wake.set)


@contextlib.contextmanager
def running_server(config: Config, host: str = "127.0.0.1") -> Iterator[RunningServer]:
    with _serving(config, host) as (url, emulator):
        yield RunningServer(url, emulator)


@contextlib.contextmanager
def _serving(config: Config, host: str) -> Iterator[tuple[str, Emulator]]:
    emulator = Emulator(config)
    # The socket is bound (to a port the system picks) and listening before the thread starts: no other
    # process can take the port in between, and a request sent at once waits in the backlog.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.bind((host, 0))
        sock.listen(128)
    except OSError:
        sock.close()
        emulator.close()
        raise
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(emulator.asgi, log_level="warning", lifespan="on", access_log=False, ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"jobyard-server-{port}",
                              daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the jobyard server stopped while starting (its log says why)")
            time.sleep(0.001)
        yield f"http://{host if ':' not in host else f'[{host}]'}:{port}", emulator
    finally:
        server.stop()
        thread.join(timeout=30)
        sock.close()


@contextlib.contextmanager
def serve(**options) -> Iterator[Jobyard]:
    """A jobyard server in a thread of this process, on a free port of 127.0.0.1, for as long as the ``with``.

    ``options`` are ``jobyard.config.Config``'s: ``data_dir`` (default: a temporary directory, removed at the
    end; a given one is kept), ``time_scale`` (default 0: the clock starts frozen), ``store_url``,
    ``default_account``, ``s3_endpoint``, ``credentials``, ``admin_token``...; ``host`` too.
    """
    host = options.pop("host", "127.0.0.1")
    options.setdefault("time_scale", 0)
    own_dir = None
    if options.get("data_dir") is None:
        own_dir = options["data_dir"] = tempfile.mkdtemp(prefix="jobyard-")
    try:
        config = Config(**options)
        with _serving(config, host) as (url, emulator):
            yield Jobyard(url, emulator, data_dir=config.data_dir)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def warm() -> None:
    """Load what every server and client of this process shares (botocore's models of the served services,
    their codecs, the boto3 session), so the next server starts and answers at once: the pytest plugin calls it
    once it knows a test will use a fixture."""
    prepare_codecs()
    with serve() as server:   # what a first server imports and builds lazily (SQLite dialect, uvicorn's parts)
        for service in server.emulator.services:   # boto3 loads each client's model once per session
            server.client(service)
        server.client("sts").get_caller_identity()
