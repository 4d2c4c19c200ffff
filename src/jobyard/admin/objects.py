"""``/_jobyard/objects/{token}``: the signed URLs that operations hand out (``objects/urls.py`` answers them).

This route only carries HTTP across: the request's method, headers and body go to the objects endpoint,
and its answer comes back as a response. A refusal is written by the S3 model's REST-XML codec, so it has
the layout of every other S3 error.
"""

from __future__ import annotations

from ..wire import Response
from . import ANY, route


# Every method reaches the endpoint: each URL decides which it allows, as S3 does (MethodNotAllowed).
@route(ANY, "objects/{token}", public=True)
def signed_object(emulator, request, token):
    answer = emulator.runtime.urls.serve(token, request.method, request.headers, request.payload, request.base_url)
    if answer.error is None:
        return Response(answer.status, list(answer.headers), answer.body)
    error = emulator.codec("s3", "rest-xml").serialize_error(answer.error)
    return Response(error.status, [*error.headers, *answer.headers], error.body)
