"""Service packages: each knows one AWS service's rules, never a wire format."""

from __future__ import annotations

from .base import Context, Service


def all_services() -> list[Service]:
    from .snowball import SnowballService

    return [SnowballService()]


__all__ = ["Context", "Service", "all_services"]
