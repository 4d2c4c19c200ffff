"""One grammar for a span of simulated time, shared by the admin API, the CLI and ``jobyard.testing``.

    90s   15m   3h   2d   1.5h   3600   "3600"   0.25

A number (or a string of one) is seconds; a number followed by ``s``, ``m``, ``h`` or ``d`` is that many
seconds, minutes, hours or days. Spans are at most ``MAX_SECONDS`` (100 years of 365.25 days); negative,
non-finite, boolean and unreadable values are refused with a ``DurationError`` that says what was wrong.
"""

from __future__ import annotations

import math
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SECONDS = 100 * 365.25 * 86400

GRAMMAR = "a number of seconds, or a number followed by s, m, h or d (90s, 15m, 3h, 1.5h, 2d)"

_TEXT = re.compile(r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[a-zA-Z]*)")


class DurationError(ValueError):
    """A value that is not a duration; the message says why, in words fit for a user."""


def parse_duration(value) -> float:
    """Seconds, from a number or a duration string (see the module's docstring)."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration: give {GRAMMAR}")
    if isinstance(value, (int, float)):
        return _bounded(float(value), repr(value))
    if not isinstance(value, str):
        raise DurationError(f"a duration is a number or a string, not {type(value).__name__}: give {GRAMMAR}")
    match = _TEXT.fullmatch(value.strip())
    if match is None:
        raise DurationError(f"{value!r} is not a duration: give {GRAMMAR}")
    unit = match["unit"]
    if unit and unit not in UNITS:
        raise DurationError(f"{value!r} has an unknown unit {unit!r}: give {GRAMMAR}")
    return _bounded(float(match["number"]) * UNITS.get(unit, 1), repr(value))


def _bounded(seconds: float, shown: str) -> float:
    if math.isnan(seconds) or math.isinf(seconds):
        raise DurationError(f"{shown} is not a finite duration: give {GRAMMAR}")
    if seconds < 0:
        raise DurationError(f"{shown} is negative: the simulated clock only moves forward")
    if seconds > MAX_SECONDS:
        raise DurationError(f"{shown} is longer than 100 years")
    return seconds
