"""The admin API under ``/_jobyard/``: each module in this package registers its own routes. All JSON.

A module declares a route with ``@route(method, path)`` on a function ``(emulator, request, **params)``
that returns a ``Response``. A path ending in ``/{name}`` matches every path under that prefix and passes
the rest as ``name``. Adding an admin route means adding a module here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Callable

import orjson

from ..wire import Request, Response

if TYPE_CHECKING:
    from ..server import Emulator

Handler = Callable[..., Response]
ANY = "*"  # a route for every method: the handler answers for itself (signed URLs do, in S3's manner)

_EXACT: dict[str, dict[str, Handler]] = {}  # path -> method -> handler
_PREFIX: dict[str, tuple[str, dict[str, Handler]]] = {}  # "objects/" -> (param name, method -> handler)


def route(method: str, path: str):
    def register(handler: Handler) -> Handler:
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
        else:
            return json_response(404, {"error": f"no admin route {request.method} /_jobyard/{path}"})
    handler = methods.get(request.method) or methods.get(ANY)
    if handler is None:
        allowed = ", ".join(sorted(methods))
        message = f"{request.method} is not allowed on /_jobyard/{path} (allowed: {allowed})"
        return json_response(405, {"error": message}, [("allow", allowed)])
    return handler(emulator, request, **params)


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
