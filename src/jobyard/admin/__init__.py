"""The admin API under ``/_jobyard/``: each module in this package registers its own routes. All JSON.

A module declares a route with ``@route(method, path)`` on a function ``(emulator, request, **params)``
that returns a ``Response``. A path ending in ``/{name}`` matches every path under that prefix and passes
the rest as ``name``. Adding an admin route means adding a module here and nothing else.

With an admin token (``jobyard serve --admin-token``), every route refuses a request that does not carry it
(``Authorization: Bearer <token>``, or ``?token=<token>`` for a browser) with 401, before its handler runs, so
nothing changes. Routes declared ``public=True`` are the exceptions: health, and the signed object URLs,
which carry their own unguessable, expiring token.
"""

from __future__ import annotations

import hmac
import importlib
import pkgutil
from typing import TYPE_CHECKING, Callable
from urllib.parse import parse_qsl

import orjson

from ..wire import Request, Response

if TYPE_CHECKING:
    from ..server import Emulator

Handler = Callable[..., Response]
ANY = "*"  # a route for every method: the handler answers for itself (signed URLs do, in S3's manner)

_EXACT: dict[str, dict[str, Handler]] = {}  # path -> method -> handler
_PREFIX: dict[str, tuple[str, dict[str, Handler]]] = {}  # "objects/" -> (param name, method -> handler)
_PUBLIC: set[Handler] = set()  # handlers the admin token does not guard


def route(method: str, path: str, public: bool = False):
    def register(handler: Handler) -> Handler:
        if public:
            _PUBLIC.add(handler)
        head, _, last = path.rpartition("/")
        if last.startswith("{") and last.endswith("}"):
            methods = _PREFIX.setdefault(f"{head}/", (last[1:-1], {}))[1]
        else:
            methods = _EXACT.setdefault(path, {})
        if method in methods:
            raise ValueError(f"admin route {method} {path} is registered twice")
        methods[method] = handler
        return handler
    return register


def handle(emulator: "Emulator", request: Request) -> Response:
    path = request.path[len("/_jobyard/"):].rstrip("/")
    methods, params = _EXACT.get(path), {}
    if methods is None:
        # Longest prefix first, so a deeper prefix route wins over a shallower one.
        for prefix in sorted(_PREFIX, key=len, reverse=True):
            if path.startswith(prefix):
                name, methods = _PREFIX[prefix]
                params = {name: path[len(prefix):]}
                break
    handler = (methods or {}).get(request.method) or (methods or {}).get(ANY)
    # Without the token a caller learns nothing, not even which routes exist.
    token = emulator.config.admin_token
    if token and handler not in _PUBLIC and not _authorized(request, token):
        return json_response(401, {"error": "this admin route needs the admin token: send 'Authorization: Bearer "
                                            "<token>' (or ?token=<token>)"},
                             [("www-authenticate", 'Bearer realm="jobyard"')])
    if methods is None:
        return json_response(404, {"error": f"no admin route {request.method} /_jobyard/{path}"})
    if handler is None:
        allowed = ", ".join(sorted(methods))
        message = f"{request.method} is not allowed on /_jobyard/{path} (allowed: {allowed})"
        return json_response(405, {"error": message}, [("allow", allowed)])
    return handler(emulator, request, **params)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    candidates = [given.strip()] if scheme.lower() == "bearer" else []
    candidates += [value for name, value in parse_qsl(request.query_string, keep_blank_values=True)
                   if name == "token"]
    expected = token.encode("utf-8")
    # Constant-time: how much of a guess matches must not show in the answer's timing.
    return any(hmac.compare_digest(candidate.encode("utf-8"), expected) for candidate in candidates)


# -- helpers for the route modules ------------------------------------------------------------------------

def json_response(status: int, value, headers: list[tuple[str, str]] = ()) -> Response:
    return Response(status, [("content-type", "application/json"), *headers], orjson.dumps(value))


def bad_request(message: str) -> Response:
    return json_response(400, {"error": message})


def json_body(request: Request) -> dict | None:
    """The body as a JSON object (empty means ``{}``), or None when it is not one."""
    try:
        value = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# Registration happens on import; modules named _* are helpers, not routes.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")
