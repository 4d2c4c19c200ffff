"""Opaque, authenticated tokens: page tokens for lists and the signatures of URLs the server serves.

A token is ``base64url(payload) . base64url(mac)``: the payload is the position (or any small JSON value),
the MAC binds it to a secret kept in the store and to the context it was issued for (account, region,
operation, filter values). A token shown in another context, altered or invented fails ``decode``.
"""

from __future__ import annotations

import base64
import hmac
import secrets

import orjson

SECRET_KEY = "token-secret"
_MAC_BYTES = 16


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_secret(tx) -> bytes:
    value = tx.get_meta(SECRET_KEY)
    if value is None:
        value = secrets.token_hex(32)
        tx.set_meta(SECRET_KEY, value)
    return bytes.fromhex(value)


class TokenSigner:
    def __init__(self, secret: bytes):
        self._secret = secret

    def _mac(self, payload: bytes, context: tuple) -> bytes:
        bound = orjson.dumps([list(map(str, context)), payload.decode()])
        return hmac.digest(self._secret, bound, "sha256")[:_MAC_BYTES]   # one call: no HMAC object per token

    def encode(self, value, context: tuple) -> str:
        payload = orjson.dumps(value)
        return f"{_b64(payload)}.{_b64(self._mac(payload, context))}"

    def decode(self, token: str, context: tuple):
        try:
            body, mac = token.split(".")
            payload = _unb64(body)
            good = hmac.compare_digest(_unb64(mac), self._mac(payload, context))
        except (ValueError, TypeError, UnicodeError):
            raise InvalidToken(token) from None
        if not good:
            raise InvalidToken(token)
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise InvalidToken(token) from None
