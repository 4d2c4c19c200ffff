"""``GET`` and ``POST /_jobyard/clock``: read, advance or rescale the simulated clock."""

from __future__ import annotations

from ..clock import MAX_SCALE, ClockRangeError, iso
from ..durations import DurationError, parse_duration
from . import bad_request, json_body, json_response, route


def _state(emulator) -> dict:
    clock = emulator.clock.read()   # one reading of the store's clock row
    return {"now": iso(clock.now_us()), "scale": clock.scale}


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
    if scale is not None and (not _number(scale) or not 0 <= scale <= MAX_SCALE):
        return bad_request(f"'scale' must be a number from 0 to {MAX_SCALE:g}")
    # Steered in the store's clock row (every process sees it at once), then caught up in a unit of its own.
    try:
        emulator.clock.steer(advance=None if advance is None else float(advance),
                             scale=None if scale is None else float(scale))
    except ClockRangeError as error:
        return bad_request(str(error))
    with emulator.runtime.unit("", "", None):
        pass
    return json_response(200, _state(emulator))
