"""Input members as stored in a job's JSON document: timestamps become ``{"$timestamp": microseconds}``."""

from __future__ import annotations

from datetime import datetime

from ...clock import from_datetime, to_datetime

_TIMESTAMP = "$timestamp"


def freeze(value):
    if isinstance(value, datetime):
        return {_TIMESTAMP: from_datetime(value)}
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    if isinstance(value, list):
        return [freeze(v) for v in value]
    return value


def thaw(value):
    if isinstance(value, dict):
        if len(value) == 1 and _TIMESTAMP in value:
            return to_datetime(value[_TIMESTAMP])
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


def microseconds(value) -> int | None:
    """A stored timestamp as microseconds (None stays None)."""
    return None if value is None else value[_TIMESTAMP]
