"""``jobyard reset``: empty a running server's state (its clock keeps its time)."""

from __future__ import annotations

from . import ADMIN_TOKEN, URL, admin_call, command, print_json


@command("reset", "empty all state of a running server", URL, ADMIN_TOKEN)
def reset(args) -> int:
    return print_json(admin_call(args.url, "POST", "reset", token=args.admin_token))
