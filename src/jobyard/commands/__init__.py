"""The ``jobyard`` commands: each module in this package registers its own.

A module declares a command with ``@command(name, help, arg(...), ...)`` on a function that takes the
parsed arguments and returns the exit status; ``jobyard.cli`` builds the parser from every registered
command, so adding a command means adding a module here and nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[tuple[tuple, dict], ...]


_COMMANDS: dict[str, Command] = {}


def arg(*flags: str, **options) -> tuple[tuple, dict]:
    """One ``add_argument`` call, written where the command is declared."""
    return flags, options


def command(name: str, help: str, *arguments: tuple[tuple, dict]):
    def register(run: Callable[[argparse.Namespace], int]):
        if name in _COMMANDS:
            raise ValueError(f"command {name!r} is registered twice")
        _COMMANDS[name] = Command(name, help, run, arguments)
        return run
    return register


def all_commands() -> list[Command]:
    return list(_COMMANDS.values())


class UsageError(Exception):
    """A flag's value that the parser could not judge alone (a credentials file that cannot be used, a host
    that does not resolve): the command line is wrong, so the answer is argparse's (one line, status 2)."""


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def time_scale(text: str) -> float:
    """A clock speed: simulated seconds per real second, from 0 (frozen) to ``clock.MAX_SCALE``."""
    from ..clock import MAX_SCALE
    value = non_negative(text)
    if value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_SCALE:g}")
    return value


def positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def port_number(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give an integer from 0 to 65535 (0: any free one)")
    return int(text)


def account_id(text: str) -> str:
    if len(text) != 12 or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS account id (12 digits)")
    return text


def http_url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1]) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


# -- commands that talk to a running server's admin API -----------------------------------------------

DEFAULT_URL = "http://127.0.0.1:4600"

# Resolved when the command runs, not when the module is imported, so $JOBYARD_URL is always current.
URL = arg("--url", default=None, help=f"the running server (default: $JOBYARD_URL, else {DEFAULT_URL})")
ADMIN_TOKEN = arg("--admin-token", default=None, metavar="TOKEN",
                  help="the server's admin token, if it has one (default: $JOBYARD_ADMIN_TOKEN)")


def admin_call(url: str | None, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """Call ``/_jobyard/<path>``; a refused connection or an error answer ends the command with a message,
    not a traceback."""
    import urllib.error
    import urllib.request

    url = url or os.environ.get("JOBYARD_URL") or DEFAULT_URL
    token = token or os.environ.get("JOBYARD_ADMIN_TOKEN")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url.rstrip('/')}/_jobyard/{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read())["error"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {error.code}"
        raise SystemExit(f"jobyard: {method} /_jobyard/{path}: {message}") from None
    except OSError as error:
        raise SystemExit(f"jobyard: cannot reach {url}: {getattr(error, 'reason', error)}") from None


def print_json(value) -> int:
    print(json.dumps(value), flush=True)
    return 0


# Registration happens on import; modules named _* are helpers, not commands.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")
