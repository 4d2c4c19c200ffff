"""The store: SQLAlchemy Core over SQLite (default) or any URL SQLAlchemy speaks.

Services see only ``Store.transaction()`` and the ``Tx`` it yields. Every request runs in one transaction,
so a request that fails writes nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import orjson
from sqlalchemy import create_engine, delete, event, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from .schema import meta, metadata, resources


@dataclass
class Resource:
    kind: str
    account: str
    region: str
    id: str
    parent: str = ""
    state: str = ""
    created_us: int = 0
    next_due_us: int | None = None
    doc: dict = field(default_factory=dict)
    ref: str = ""
    seq: int | None = None  # assigned by the store on insert

    def sort_key(self, by: str = "created") -> list:
        """The keyset position of this row in lists ordered ``by`` creation or by id."""
        return [self.created_us, self.seq] if by == "created" else [self.id]


_COLUMNS = [resources.c[name] for name in
            ("kind", "account", "region", "id", "parent", "state", "created_us", "next_due_us", "doc", "ref", "seq")]


def _row(row) -> Resource:
    return Resource(*row)


def _values(r: Resource) -> dict:
    return {"kind": r.kind, "account": r.account, "region": r.region, "id": r.id, "parent": r.parent,
            "ref": r.ref, "state": r.state, "created_us": r.created_us, "next_due_us": r.next_due_us, "doc": r.doc}


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads,
                               connect_args={"check_same_thread": False, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock up front: every request may apply due transitions, and a deferred
            # transaction that upgrades to a writer later can deadlock against another process.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_pre_ping=True)


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        metadata.create_all(self.engine)

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Tx"]:
        with self.engine.begin() as conn:
            yield Tx(conn)

    def reset(self) -> None:
        """Empty every resource (the clock and the token secret stay)."""
        with self.engine.begin() as conn:
            conn.execute(delete(resources))

    def close(self) -> None:
        self.engine.dispose()


class Tx:
    """One transaction's view of the store."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # -- single resources -------------------------------------------------------------------------

    def get(self, kind: str, account: str, region: str, id: str) -> Resource | None:
        row = self.conn.execute(
            select(*_COLUMNS).where(resources.c.kind == kind, resources.c.account == account,
                                    resources.c.region == region, resources.c.id == id)
        ).first()
        return _row(row) if row else None

    def insert(self, r: Resource) -> Resource:
        r.seq = self.conn.execute(insert(resources).values(**_values(r))).inserted_primary_key[0]
        return r

    def insert_many(self, rows: Iterable[Resource]) -> None:
        batch = [_values(r) for r in rows]
        if batch:
            self.conn.execute(insert(resources), batch)

    def save(self, r: Resource) -> Resource:
        self.conn.execute(
            update(resources)
            .where(resources.c.kind == r.kind, resources.c.account == r.account,
                   resources.c.region == r.region, resources.c.id == r.id)
            .values(parent=r.parent, ref=r.ref, state=r.state, next_due_us=r.next_due_us, doc=r.doc)
        )
        return r

    def delete(self, r: Resource) -> None:
        self.conn.execute(
            delete(resources).where(resources.c.kind == r.kind, resources.c.account == r.account,
                                    resources.c.region == r.region, resources.c.id == r.id)
        )

    # -- lists ------------------------------------------------------------------------------------

    def _filtered(self, query, kind, account, region, parent, states, ref=None):
        query = query.where(resources.c.kind == kind, resources.c.account == account,
                            resources.c.region == region)
        if parent is not None:
            query = query.where(resources.c.parent == parent)
        if ref is not None:
            query = query.where(resources.c.ref == ref)
        if states is not None:
            query = query.where(resources.c.state.in_(list(states)))
        return query

    def page(self, kind: str, account: str, region: str, *, limit: int, after: list | None = None,
             parent: str | None = None, states: Iterable[str] | None = None, ref: str | None = None,
             by: str = "created", descending: bool = False) -> tuple[list[Resource], bool]:
        """One keyset page: the rows after ``after`` (a ``sort_key(by)``) and whether more follow.

        ``by`` is ``"created"`` (creation order) or ``"id"``. The query reads ``limit + 1`` rows from an
        index whose leading columns are the filters and whose trailing columns are the sort key, so its
        cost does not depend on the depth or the table size.
        """
        query = self._filtered(select(*_COLUMNS), kind, account, region, parent, states, ref)
        key = (resources.c.created_us, resources.c.seq) if by == "created" else (resources.c.id,)
        if after is not None:
            # A row-value comparison, which SQLite and PostgreSQL both answer with one index seek
            # (the equivalent OR form makes SQLite scan from the start of the range).
            position, at = tuple_(*key), tuple_(*after)
            query = query.where(position < at if descending else position > at)
        order = [c.desc() for c in key] if descending else [c.asc() for c in key]
        rows = self.conn.execute(query.order_by(*order).limit(limit + 1)).all()
        return [_row(r) for r in rows[:limit]], len(rows) > limit

    def count(self, kind: str, account: str, region: str, *, parent: str | None = None,
              states: Iterable[str] | None = None, ref: str | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(resources), kind, account, region, parent,
                               states, ref)
        return self.conn.execute(query).scalar_one()

    def children(self, kind: str, account: str, region: str, parent: str) -> list[Resource]:
        """All of one parent's children in creation order (for small families: a cluster's nodes, a job's parts)."""
        query = self._filtered(select(*_COLUMNS), kind, account, region, parent, None)
        return [_row(r) for r in self.conn.execute(query.order_by(resources.c.created_us, resources.c.seq))]

    # -- the lifecycle engine's queue -------------------------------------------------------------

    def due(self, now_us: int, limit: int) -> list[Resource]:
        """Resources whose next transition is due at or before ``now_us``, earliest first."""
        query = (select(*_COLUMNS).where(resources.c.next_due_us <= now_us)
                 .order_by(resources.c.next_due_us, resources.c.seq).limit(limit))
        return [_row(r) for r in self.conn.execute(query)]

    def next_due(self) -> int | None:
        return self.conn.execute(select(func.min(resources.c.next_due_us))).scalar()

    # -- small global values ----------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
            self.conn.execute(insert(meta).values(key=key, value=value))
