"""``POST /_jobyard/reset``: empties all state; the clock keeps its time."""

from __future__ import annotations

from . import json_response, route


@route("POST", "reset")
def reset(emulator, request):
    emulator.store.reset()
    emulator.files.clear()
    return json_response(200, {"reset": True})
