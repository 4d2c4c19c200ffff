"""Run a real jobyard server for tests: in a thread of this process, on a free port.

    with running_server(Config(data_dir=tmp, time_scale=0)) as server:
        client = boto3.client("snowball", endpoint_url=server.url, ...)
        server.advance(3600)
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Iterator

import uvicorn

from .config import Config
from .server import Emulator


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
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@dataclass
class RunningServer:
    url: str
    emulator: Emulator

    @property
    def token(self) -> str | None:
        return self.emulator.config.admin_token

    def advance(self, seconds: float) -> dict:
        return admin_call(self.url, "POST", "clock", {"advance": seconds}, self.token)

    def clock(self) -> dict:
        return admin_call(self.url, "GET", "clock", token=self.token)

    def reset(self) -> dict:
        return admin_call(self.url, "POST", "reset", token=self.token)


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


@contextlib.contextmanager
def running_server(config: Config, host: str = "127.0.0.1") -> Iterator[RunningServer]:
    emulator = Emulator(config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(emulator.asgi, host=host, port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, name="jobyard-server", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    try:
        wait_healthy(url)
        yield RunningServer(url, emulator)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
