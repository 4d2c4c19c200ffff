"""``python -m jobyard.store.migrations new "message"``: a new revision script in ``versions/``;
``python -m jobyard.store.migrations upgrade URL``: bring the store at URL to the newest revision;
``python -m jobyard.store.migrations current URL``: the store's revision."""

from __future__ import annotations

import sys

from . import current, new, upgrade


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "new":
        print(new(argv[1]))
        return 0
    if len(argv) == 2 and argv[0] in ("upgrade", "current"):
        from ..db import create_store_engine

        engine = create_store_engine(argv[1])
        if argv[0] == "upgrade":
            upgrade(engine)
        with engine.connect() as conn:
            print(current(conn))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
