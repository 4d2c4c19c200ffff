"""The floor: the least a Snowball ListJobs page can cost in Python, to put the table's ratios in proportion.

    python bench/floor.py PORT STORE_FILE

A minimal ASGI app on `jobyard serve`'s uvicorn settings that answers Snowball ListJobs (JSON 1.1) from a
store `jobyard seed` filled, with only what any server answering it must do: read the body, parse it, read
the clock row and the page in one read transaction on the raw sqlite3 module (the very SQL jobyard runs,
compiled from its own statement), decode each row's document, build the entries, sign a page token, write
the JSON. No routing, no model, no validation, no SQLAlchemy. Path ``/`` reads a page of the four US regions
AWS lists together (jobyard's query for a client in us-east-1); ``/one`` reads one region, as S3 Control's
and Data Exchange's pages do. A ``NextToken`` from an earlier page continues it, so a paginator can walk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
import sys

import orjson
import uvicorn
from sqlalchemy.dialects import sqlite as sqlite_dialect

from jobyard.services.snowball import catalog
from jobyard.services.snowball.errors import JOB
from jobyard.store.db import _CLOCK_ROW_TEXT, _driver_plan, _page_statement

ACCOUNT, REGION = "000000000000", "us-east-1"
KEY = b"floor"


def _plan(arms: int, after: bool):
    """The SQL text and parameter order jobyard's store runs for this page."""
    sql, order, defaults = _driver_plan(_page_statement(None, None, False, "created", False, after, arms),
                                        sqlite_dialect.dialect())
    return sql, order, defaults


def _values(regions: tuple[str, ...], limit: int, after) -> dict:
    values = {"kind": JOB, "account": ACCOUNT, "limit": limit + 1}
    if len(regions) == 1:
        values["region"] = regions[0]
    else:
        values.update({f"region{i}": region for i, region in enumerate(regions)})
    for i, value in enumerate(after or ()):
        values[f"after{i}"] = value
    return values


def _token(key) -> str:
    payload = orjson.dumps(key)
    return base64.urlsafe_b64encode(payload + hmac.digest(KEY, payload, hashlib.sha256)[:16]).decode()


def _after(token: str):
    raw = base64.urlsafe_b64decode(token)
    payload, mac = raw[:-16], raw[-16:]
    if not hmac.compare_digest(mac, hmac.digest(KEY, payload, hashlib.sha256)[:16]):
        raise ValueError("bad token")
    return orjson.loads(payload)


def app_for(store_file: str):
    conn = sqlite3.connect(store_file, isolation_level=None, check_same_thread=False)
    groups = {"/": tuple(sorted(catalog.listed_together(REGION) or (REGION,))), "/one": (REGION,)}
    plans = {(path, after): _plan(len(regions) if len(regions) > 1 else 0, after)
             for path, regions in groups.items() for after in (False, True)}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        asked = orjson.loads(await read_body(receive) or b"{}")
        limit = asked.get("MaxResults") or 100
        after = _after(asked["NextToken"]) if asked.get("NextToken") else None
        sql, order, defaults = plans[(scope["path"], after is not None)]
        values = {**defaults, **_values(groups[scope["path"]], limit, after)}
        conn.execute("BEGIN")
        conn.execute(_CLOCK_ROW_TEXT).fetchone()
        rows = conn.execute(sql, tuple(values[name] for name in order)).fetchall()
        conn.execute("COMMIT")
        entries = []
        for _region, job_id, _parent, state, created_us, _due, doc, _ref, _seq in rows[:limit]:
            doc = orjson.loads(doc)
            seconds, rest = divmod(created_us, 1_000_000)
            entry = {"JobId": job_id, "JobState": state, "IsMaster": bool(doc.get("IsMaster")),
                     "JobType": doc.get("JobType"), "SnowballType": doc.get("SnowballType"),
                     "CreationDate": seconds + rest // 1000 / 1000}
            if doc.get("Description"):
                entry["Description"] = doc["Description"]
            entries.append(entry)
        out = {"JobListEntries": entries}
        if len(rows) > limit:
            last = rows[limit - 1]
            out["NextToken"] = _token([last[4], last[8]])
        await answer(send, orjson.dumps(out))

    return app


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer(send, body: bytes) -> None:
    """A 200 with a JSON 1.1 body."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/x-amz-json-1.1"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> int:
    port, store_file = int(argv[0]), argv[1]
    uvicorn.run(app_for(store_file), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="off", ws="none")   # `jobyard serve`'s settings
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
