"""The admin API under ``/_jobyard/``: health, the simulated clock, reset. All JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from .clock import iso
from .wire import Request, Response

if TYPE_CHECKING:
    from .server import Emulator


def _json(status: int, value) -> Response:
    return Response(status, [("content-type", "application/json")], orjson.dumps(value))


def _bad(message: str) -> Response:
    return _json(400, {"error": message})


def _clock_state(emulator: "Emulator") -> dict:
    return {"now": iso(emulator.clock.now_us()), "scale": emulator.clock.scale}


def handle(emulator: "Emulator", request: Request) -> Response:
    path = request.path[len("/_jobyard/"):].rstrip("/")
    if path.startswith("objects/"):
        return emulator.serve_object(request, path[len("objects/"):])
    route = (request.method, path)
    if route == ("GET", "health"):
        return _json(200, {"status": "ok"})
    if route == ("GET", "clock"):
        return _json(200, _clock_state(emulator))
    if route == ("POST", "clock"):
        return _set_clock(emulator, request)
    if route == ("POST", "reset"):
        emulator.store.reset()
        emulator.files.clear()
        return _json(200, {"reset": True})
    return _json(404, {"error": f"no admin route {request.method} /_jobyard/{path}"})


def _body(request: Request):
    try:
        value = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _set_clock(emulator: "Emulator", request: Request) -> Response:
    body = _body(request)
    if body is None:
        return _bad("body must be a JSON object")
    advance, scale = body.get("advance"), body.get("scale")
    if advance is None and scale is None:
        return _bad("give 'advance' (seconds) and/or 'scale' (simulated seconds per real second)")
    if advance is not None and (not _number(advance) or advance < 0):
        return _bad("'advance' must be a number of seconds >= 0")
    if scale is not None and (not _number(scale) or scale < 0):
        return _bad("'scale' must be a number >= 0")
    clock = emulator.clock
    if scale is not None:
        clock.set_scale(float(scale))
    if advance is not None:
        clock.advance(float(advance))
    with emulator.store.transaction() as tx:
        clock.save(tx)
        emulator.lifecycle.catch_up(tx, clock.now_us())
    return _json(200, _clock_state(emulator))
