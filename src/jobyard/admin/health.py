"""``GET /_jobyard/health``: answers once the server is ready.

``files`` tells whether the start-up sweep of what stopped processes left half-done is still running
(``settling``) or over (``settled``); the server answers requests either way.
"""

from __future__ import annotations

from . import json_response, route


@route("GET", "health", public=True)
def health(emulator, request):
    return json_response(200, {"status": "ok", "files": "settling" if emulator.sweeper.is_alive() else "settled"})
