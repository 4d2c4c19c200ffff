"""``jobyard clock``: read, advance or rescale a running server's simulated clock."""

from __future__ import annotations

import argparse

from ..durations import DurationError, parse_duration
from . import ADMIN_TOKEN, URL, admin_call, arg, command, print_json, time_scale


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@command(
    "clock", "show the simulated clock, or advance it / change its speed",
    URL, ADMIN_TOKEN,
    arg("--advance", type=duration, metavar="DURATION",
        help="move simulated time forward (3600, 90s, 15m, 3h, 2d); due transitions are applied"),
    arg("--scale", type=time_scale, metavar="X", help="simulated seconds per real second; 0 freezes it"),
)
def clock(args) -> int:
    change = {key: value for key, value in (("advance", args.advance), ("scale", args.scale))
              if value is not None}
    if change:
        return print_json(admin_call(args.url, "POST", "clock", change, args.admin_token))
    return print_json(admin_call(args.url, "GET", "clock", token=args.admin_token))
