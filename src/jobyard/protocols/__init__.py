"""Wire protocols, each driven by botocore's service models.

A codec is built once per (service model, protocol) and compiles what it needs per operation. It knows
shapes and wire formats, never a service's rules: it parses a request into a plain dict of input members,
writes an output dict or a ``ServiceError`` back, and reports malformed input as ``SerializationError`` and
broken model constraints as ``ValidationFailed`` (the service decides which AWS error those become).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:   # models are loaded when a service is first asked for
    from botocore.model import ServiceModel

    # Annotations only: the codecs' shared base loads with the first codec, so a module that needs only
    # ``payload`` (the server's body reading) does not load it.
    from .base import Codec

_CODECS: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    _CODECS[cls.protocol] = cls
    return cls


def codec_class(protocol: str) -> type[Codec]:
    if protocol not in _CODECS:  # not "if empty": importing one codec module directly registers only it
        from . import cbor_rpc, json_rpc, query, rest_json, rest_xml  # noqa: F401  (registers the codecs)
    return _CODECS[protocol]


def build_codec(service_model: ServiceModel, protocol: str) -> Codec:
    return codec_class(protocol)(service_model)
