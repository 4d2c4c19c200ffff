"""``/_jobyard/objects/{token}``: the signed URLs that operations hand out (manifests, outputs)."""

from __future__ import annotations

from . import ANY, route


# Every method reaches the emulator: the signed URL's own service decides which it allows.
@route(ANY, "objects/{token}")
def signed_object(emulator, request, token):
    return emulator.serve_object(request, token)
