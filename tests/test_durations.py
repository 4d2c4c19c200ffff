"""The duration grammar shared by the admin API, the CLI and jobyard.testing."""

from __future__ import annotations

import math

import pytest

from jobyard.durations import MAX_SECONDS, DurationError, parse_duration


@pytest.mark.parametrize("given, seconds", [
    ("90s", 90), ("15m", 900), ("3h", 10800), ("2d", 172800), ("1.5h", 5400), (".5m", 30), ("2.d", 172800),
    ("3600", 3600), (" 42 ", 42), ("0", 0), ("0s", 0), ("1e3", 1000), ("+5m", 300), ("10 m", 600),
    (3600, 3600), (0.25, 0.25), (0, 0), ("36525d", MAX_SECONDS), (MAX_SECONDS, MAX_SECONDS),
])
def test_durations(given, seconds):
    assert parse_duration(given) == seconds
    assert isinstance(parse_duration(given), float)


@pytest.mark.parametrize("given, message", [
    (-1, "negative"), ("-5m", "negative"), ("-0.5", "negative"),
    (float("nan"), "not a finite"), (float("inf"), "not a finite"), ("nan", "not a duration"),
    ("inf", "not a duration"), ("1e400", "not a finite"),
    (True, "not a duration"), (False, "not a duration"),
    ("", "not a duration"), ("h", "not a duration"), ("3 hours", "unknown unit 'hours'"), ("1y", "unknown unit"),
    ("3h30m", "not a duration"), ("1,5h", "not a duration"), ("0x10", "not a duration"),
    (None, "not NoneType"), ([3600], "not list"), ({"h": 1}, "not dict"),
    ("36526d", "longer than 100 years"), (MAX_SECONDS + 1, "longer than 100 years"), (1e300, "longer than 100"),
])
def test_what_is_not_a_duration(given, message):
    with pytest.raises(DurationError) as caught:
        parse_duration(given)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_message_says_what_is_expected():
    with pytest.raises(DurationError) as caught:
        parse_duration("soon")
    assert str(caught.value) == ("'soon' is not a duration: give a number of seconds, or a number followed by "
                                 "s, m, h or d (90s, 15m, 3h, 1.5h, 2d)")


def test_large_but_finite_numbers_stay_exact():
    assert parse_duration("0.000001s") == 1e-6
    assert math.isclose(parse_duration("99.9d"), 99.9 * 86400)
