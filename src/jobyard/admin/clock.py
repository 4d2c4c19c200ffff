"""``GET`` and ``POST /_jobyard/clock``: read, advance or rescale the simulated clock."""

from __future__ import annotations

from ..clock import iso
from ..durations import DurationError, parse_duration
from . import bad_request, json_body, json_response, route


def _state(emulator) -> dict:
    return {"now": iso(emulator.clock.now_us()), "scale": emulator.clock.scale}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@route("GET", "clock")
def get_clock(emulator, request):
    return json_response(200, _state(emulator))


@route("POST", "clock")
def set_clock(emulator, request):
    body = json_body(request)
    if body is None:
        return bad_request("body must be a JSON object")
    advance, scale = body.get("advance"), body.get("scale")
    if advance is None and scale is None:
        return bad_request("give 'advance' (a duration: 3600, 90s, 3h) and/or 'scale' (simulated seconds per real second)")
    if advance is not None:
        try:
            advance = parse_duration(advance)
        except DurationError as error:
            return bad_request(f"'advance': {error}")
    if scale is not None and (not _number(scale) or scale < 0):
        return bad_request("'scale' must be a number >= 0")
    clock = emulator.clock
    if scale is not None:
        clock.set_scale(float(scale))
    if advance is not None:
        clock.advance(float(advance))
    # Saved and caught up in one transaction, so the answer's time and the jobs' states agree.
    with emulator.runtime.unit("", "", None) as ctx:
        clock.save(ctx.tx)
    return json_response(200, _state(emulator))
