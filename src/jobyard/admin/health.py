"""``GET /_jobyard/health``: answers once the server is ready."""

from __future__ import annotations

from . import json_response, route


@route("GET", "health")
def health(emulator, request):
    return json_response(200, {"status": "ok"})
