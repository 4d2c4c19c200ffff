"""The store: SQLAlchemy Core over SQLite (default) or any URL SQLAlchemy speaks.

Services see only ``Store.transaction()`` and the ``Tx`` it yields. Every request runs in one transaction,
so a request that fails writes nothing.

A transaction is a writer (``BEGIN IMMEDIATE`` on SQLite: it holds the write lock from its start, so two
processes never deadlock upgrading) or a reader (``write=False``: a deferred ``BEGIN``, which takes no lock
and reads one snapshot). Only work that writes nothing may run as a reader.

The one-row ``clock`` table is read and steered here (``clock.py`` computes time from it). Every path that
sets a resource's ``next_due_us`` (``insert``, ``insert_many``, ``save``) goes through ``Tx._scheduled``;
at commit the transaction lowers ``clock.next_due_us`` to the earliest it scheduled, so the row never says
"nothing due before T" while a row is due earlier. Catch-up sets it exactly (``refresh_next_due``).

Work outside the database (file bytes) joins the transaction through hooks: ``before_commit`` runs inside it,
``on_commit`` after it committed, ``on_rollback`` after it rolled back. A savepoint keeps its own hooks: when it
rolls back, its ``on_rollback`` hooks run and its ``on_commit`` hooks are dropped; when it is released, they
join the enclosing level.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import time
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Iterable, Iterator, NamedTuple

import orjson
from sqlalchemy import (and_, bindparam, case, create_engine, delete, event, func, insert, literal_column, or_,
                        select, tuple_, union_all, update)
from sqlalchemy.engine import Connection, Engine

from .schema import HAS_PARENT, HAS_REF, SCHEDULED, clock, counters, meta, postgresql_conditions, resources

log = logging.getLogger("jobyard.store")


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
    # (parent, ref, state, next_due_us) as the store holds them, when known (a row read or written by this transaction):
    # a held-back save sets only the indexed columns that differ from these.
    stored: tuple | None = field(default=None, repr=False, compare=False)

    def sort_key(self, by: str = "created") -> list:
        """The keyset position of this row in lists ordered ``by`` creation or by id."""
        return [self.created_us, self.seq] if by == "created" else [self.id]


_COLUMNS = [resources.c[name] for name in
            ("kind", "account", "region", "id", "parent", "state", "created_us", "next_due_us", "doc", "ref", "seq")]


# What a page reads: kind and account are its filters' values, not read again for every row.
_PAGE_COLUMNS = _COLUMNS[2:]


def _row(row) -> Resource:
    return Resource(*row)


def _values(r: Resource) -> dict:
    return {"kind": r.kind, "account": r.account, "region": r.region, "id": r.id, "parent": r.parent,
            "ref": r.ref, "state": r.state, "created_us": r.created_us, "next_due_us": r.next_due_us, "doc": r.doc}


def _save_values(r: Resource) -> dict:
    """The parameters of ``_SAVE``, the document as JSON text (for the driver's cursor)."""
    return {"w_kind": r.kind, "w_account": r.account, "w_region": r.region, "w_id": r.id, "parent": r.parent,
            "ref": r.ref, "state": r.state, "next_due_us": r.next_due_us, "doc": orjson.dumps(r.doc).decode()}


def _seq_values(r: Resource, columns: tuple[str, ...]) -> dict:
    """The parameters of ``_save_by_seq(columns)``, the document as JSON text (for the driver's cursor)."""
    values = {name: getattr(r, name) for name in columns}
    values.update(w_seq=r.seq, doc=orjson.dumps(r.doc).decode())
    return values


def _due_position(r: Resource) -> tuple:
    return (r.next_due_us, r.seq)


def _with_doc(r: Resource, doc, stored: tuple | None) -> Resource:
    """A copy of ``r`` with ``doc`` as its document and ``stored`` as what the store holds of it."""
    copy = Resource(r.kind, r.account, r.region, r.id, r.parent, r.state, r.created_us, r.next_due_us, doc, r.ref,
                    r.seq)
    copy.stored = stored
    return copy


def _held_copy(r: Resource) -> Resource:
    """A copy of a held-back row as the store would give it back once written (its document through JSON)."""
    return _with_doc(r, orjson.loads(orjson.dumps(r.doc)), (r.parent, r.ref, r.state, r.next_due_us))


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def _wal(cur, patience: float = 10.0) -> None:
    """Put the database in WAL mode. Switching a new database waits for nobody: it fails at once while another
    connection (a process creating the same store) holds it, so it is tried again until that one is done."""
    import sqlite3

    deadline = time.monotonic() + patience
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads,
                               connect_args={"check_same_thread": False, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=10000")
            _wal(cur)
            # NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A writer takes the write lock up front: a deferred transaction that upgrades to a writer later
            # can fail (SQLITE_BUSY) against another process. A reader (``jobyard_read``) begins deferred:
            # it takes no lock and reads one snapshot, from its first statement on. (On the driver's
            # connection: a Core execution of BEGIN costs more than the rest of a unit.) ``Store.transaction``
            # begins its own on the driver, the same way; a Core statement inside it finds it open.
            driver = conn.connection.dbapi_connection
            if not driver.in_transaction:
                driver.execute("BEGIN" if conn.get_execution_options().get("jobyard_read") else "BEGIN IMMEDIATE")

        return engine
    postgresql_conditions()
    return create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_pre_ping=True)


class Store:
    def __init__(self, url: str, wall=time.time):
        from .migrations import upgrade   # the schema is brought to the newest revision before any use

        self.url = url
        self.engine = create_store_engine(url)
        self.postgresql = self.engine.dialect.name == "postgresql"
        upgrade(self.engine, wall=wall)
        # Connections kept checked out between transactions, writers' and readers' apart (a reader's carries
        # its execution option): taking one costs a list pop instead of a pool checkout and a checkin, which
        # cost more than a small read itself. ``list.pop`` and ``append`` are atomic, so threads share them.
        # SQLite's only (a local file); a server's connections go through the pool, which pings them first.
        self._keep = 0 if self.postgresql else _IDLE_CONNECTIONS
        self._idle: dict[bool, list[Connection]] = {True: [], False: []}
        self._closed = False

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator["Tx"]:
        """One transaction: committed when the block ends, rolled back when it raises; then the hooks run.
        ``write=False`` opens a reader, which must write nothing (see the module's notes)."""
        idle = self._idle[write]
        try:
            conn = idle.pop()
        except IndexError:
            conn = self.engine.connect()
            if not write:
                conn.execution_options(jobyard_read=True)
        tx = Tx(conn, self.postgresql)
        try:
            if self.postgresql:
                with conn.begin():
                    yield tx
                    tx._before_end()
            else:
                # On SQLite a transaction begins and ends on the driver's connection: SQLAlchemy's transaction
                # bookkeeping costs more than BEGIN and COMMIT themselves, on every request. A Core execution
                # or a savepoint inside joins it (the begin hook finds it open) and is ended with it.
                driver = conn.connection.dbapi_connection
                driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield tx
                    tx._before_end()
                except BaseException:
                    conn.rollback() if conn.in_transaction() else driver.rollback()
                    raise
                conn.commit() if conn.in_transaction() else driver.commit()
        except BaseException:
            conn.close()   # not kept: after a failure the connection may be broken
            tx._finish(committed=False)
            raise
        if len(idle) < self._keep and not self._closed:
            idle.append(conn)
        else:
            conn.close()
        tx._finish(committed=True)

    def exists(self, kind: str, account: str, region: str, id: str) -> bool:
        """Whether a resource exists, read outside any unit of work: one indexed lookup, no hooks, no catch-up
        (routing asks this of a Host that may name an S3 bucket)."""
        with self.engine.connect() as conn:
            conn.execution_options(jobyard_read=True)
            found = conn.execute(_EXISTS, {"kind": kind, "account": account, "region": region, "id": id}).first()
        return found is not None

    def reset(self) -> None:
        """Empty every resource (the clock and the token secret stay)."""
        with self.transaction() as tx:
            tx.conn.execute(delete(resources))
            tx.conn.execute(_CLOCK_NEXT_DUE_NONE)
            tx._clock_due = _UNKNOWN
            tx.conn.execute(delete(counters))

    def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self.engine.dispose()


def _fetch_all(cursor) -> list:
    return cursor.fetchall()


# A clock.next_due_us this transaction has not read (None is a value: no bound).
_UNKNOWN = object()

# Idle connections a store keeps per kind (writer, reader): below the pool's size, so others can still connect.
_IDLE_CONNECTIONS = 2

# Statements are built once, with bound parameters, so a request pays only for executing them.
_c = resources.c
_ONE = and_(_c.kind == bindparam("kind"), _c.account == bindparam("account"), _c.region == bindparam("region"),
            _c.id == bindparam("id"))
_GET = select(*_COLUMNS).where(_ONE)
_EXISTS = select(_c.seq).where(_ONE)
# One resource row, every column but seq (which the database numbers) bound by its own name.
_INSERT = insert(resources).values({name: bindparam(name) for name in (
    "kind", "account", "region", "id", "parent", "ref", "state", "created_us", "next_due_us", "doc")})
_INSERT_RETURNING = _INSERT.returning(_c.seq)
# UPDATE reserves the column names for its SET values, so its WHERE binds under other names.
_SAVE = (update(resources)
         .where(_c.kind == bindparam("w_kind"), _c.account == bindparam("w_account"),
                _c.region == bindparam("w_region"), _c.id == bindparam("w_id"))
         .values(parent=bindparam("parent"), ref=bindparam("ref"), state=bindparam("state"),
                 next_due_us=bindparam("next_due_us"), doc=bindparam("doc")))

# A save sets every column it may change; a held-back save whose row's parent, ref, state or next due time did
# not change leaves them out of its SET, so SQLite rewrites only the indexes holding columns it sets.
_INDEXED = ("parent", "ref", "state", "next_due_us")
_ALL = (1 << len(_INDEXED)) - 1   # a mask of changed indexed columns: bit i for _INDEXED[i]


def _changed(r: Resource, was: tuple) -> int:
    """The mask of the indexed columns whose values in ``r`` differ from ``was`` (as stored)."""
    mask = 0
    if r.parent != was[0]:
        mask = 1
    if r.ref != was[1]:
        mask |= 2
    if r.state != was[2]:
        mask |= 4
    if r.next_due_us != was[3]:
        mask |= 8
    return mask


@lru_cache(maxsize=None)
def _save_by_seq(mask: int):
    """The UPDATE by primary key setting the indexed columns of ``mask`` and ``doc``; and the getter of a
    row's values for them, in that order."""
    names = tuple(name for i, name in enumerate(_INDEXED) if mask >> i & 1)
    statement = (update(resources).where(_c.seq == bindparam("w_seq"))
                 .values(**{name: bindparam(name) for name in (*names, "doc")}))
    return statement, names


_DELETE = delete(resources).where(_ONE)
_UNSCHEDULE = update(resources).where(_c.seq == bindparam("w_seq")).values(next_due_us=None)
_DUE = (select(*_COLUMNS).where(_c.next_due_us <= bindparam("now"))
        .order_by(_c.next_due_us, _c.seq).limit(bindparam("limit")))
# The due queue read on from a position (next_due_us, seq): a row-value comparison, one index seek.
_DUE_AFTER = (select(*_COLUMNS)
              .where(_c.next_due_us <= bindparam("now"),
                     tuple_(_c.next_due_us, _c.seq) > tuple_(bindparam("after_due"), bindparam("after_seq")))
              .order_by(_c.next_due_us, _c.seq).limit(bindparam("limit")))
_CLOCK_ROW = select(clock.c.anchor_us, clock.c.wall_anchor, clock.c.scale, clock.c.version,
                    clock.c.next_due_us).where(clock.c.id == 1)
_CLOCK_ROW_LOCKED = _CLOCK_ROW.with_for_update()
_CLOCK_ROW_TEXT = "SELECT anchor_us, wall_anchor, scale, version, next_due_us FROM clock WHERE id = 1"


class ClockRow(NamedTuple):
    anchor_us: int
    wall_anchor: float
    scale: float
    version: int
    next_due_us: int | None

_CLOCK_STEER = (update(clock).where(clock.c.id == 1)
                .values(anchor_us=bindparam("anchor_us"), wall_anchor=bindparam("wall_anchor"),
                        scale=bindparam("scale"), version=clock.c.version + 1))
_CLOCK_NEXT_DUE_NONE = update(clock).where(clock.c.id == 1).values(next_due_us=None)
# The earliest due time, read from the due index (which holds only scheduled rows: the query says so).
_NEXT_DUE = select(func.min(_c.next_due_us)).where(SCHEDULED)
_CLOCK_REFRESH = update(clock).where(clock.c.id == 1).values(next_due_us=_NEXT_DUE.scalar_subquery())
# Lowering the bound: on SQLite every writer holds the database lock, so a conditional update is enough. On
# PostgreSQL the update always takes the row's lock (even when it changes nothing), so a catch-up that sets
# the bound exactly waits for this transaction's commit and then counts its rows (see ``refresh_next_due``).
_CLOCK_LOWER_SQLITE = (update(clock)
                       .where(clock.c.id == 1, or_(clock.c.next_due_us.is_(None),
                                                   clock.c.next_due_us > bindparam("due")))
                       .values(next_due_us=bindparam("due")))
_CLOCK_LOWER_LOCKING = (update(clock).where(clock.c.id == 1)
                        .values(next_due_us=case((or_(clock.c.next_due_us.is_(None),
                                                      clock.c.next_due_us > bindparam("due")), bindparam("due")),
                                                 else_=clock.c.next_due_us)))
# Catch-up is one process at a time on PostgreSQL (SQLite's writers are already): a transaction-scoped lock.
_CATCH_UP_LOCK_KEY = 0x6A6F6279617264   # "jobyard"

_COUNTER_WHERE = and_(counters.c.account == bindparam("account"), counters.c.region == bindparam("region"),
                      counters.c.name == bindparam("name"))
_COUNTER = select(counters.c.value).where(_COUNTER_WHERE)
_BUMP = (update(counters).where(counters.c.account == bindparam("w_account"),
                                counters.c.region == bindparam("w_region"), counters.c.name == bindparam("w_name"))
         .values(value=counters.c.value + bindparam("delta")))
_FORGET_COUNTER = delete(counters).where(_COUNTER_WHERE)


@lru_cache(maxsize=None)
def _first_count(dialect: str):
    """Store a first count unless another transaction stored one meanwhile (then keep theirs)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return insert(counters)
    return dialect_insert(counters).on_conflict_do_nothing()


_SORT_KEYS = {"created": (_c.created_us, _c.seq), "id": (_c.id,)}


# The forms of a filter on parent or ref: a value (NAMED), or "" (BLANK: the rows that have none).
NAMED, BLANK = "named", "blank"


def _form(value: str | None) -> str | None:
    """How a list filters on a parent or ref value: not at all (None), NAMED or BLANK."""
    return None if value is None else BLANK if value == "" else NAMED


def _where_filters(query, parent: str | None, ref: str | None, states: bool, arm: int | None = None):
    """The filters of a list (``parent`` and ``ref`` in the forms of ``_form``); ``arm`` numbers one branch of
    a merged page, with its own region and state. A NAMED filter also states that the row has one, which
    lets the query read the partial indexes on parent and ref (``schema.py``); a BLANK one reads the others."""
    region = bindparam("region" if arm is None else f"region{arm}")
    query = query.where(_c.kind == bindparam("kind"), _c.account == bindparam("account"), _c.region == region)
    if parent == NAMED:
        query = query.where(_c.parent == bindparam("parent"), HAS_PARENT)
    elif parent == BLANK:
        query = query.where(_c.parent == literal_column("''"))
    if ref == NAMED:
        query = query.where(_c.ref == bindparam("ref"), HAS_REF)
    elif ref == BLANK:
        query = query.where(_c.ref == literal_column("''"))
    if states:
        query = query.where(_c.state.in_(bindparam("states", expanding=True)) if arm is None
                            else _c.state == bindparam(f"state{arm}"))
    return query


def _keyset(query, columns, by: str, descending: bool, after: bool):
    key = [columns[c.name] for c in _SORT_KEYS[by]]
    if after:
        # A row-value comparison, which SQLite and PostgreSQL both answer with one index seek
        # (the equivalent OR form makes SQLite scan from the start of the range).
        position, at = tuple_(*key), tuple_(*(bindparam(f"after{i}") for i in range(len(key))))
        query = query.where(position < at if descending else position > at)
    order = [c.desc() for c in key] if descending else [c.asc() for c in key]
    return query.order_by(*order).limit(bindparam("limit"))


@lru_cache(maxsize=None)
def _page_statement(parent: str | None, ref: str | None, states: bool, by: str, descending: bool, after: bool,
                    arms: int = 0):
    """One keyset page; with ``arms``, the page of several (region, state) pairs in one statement: each arm
    reads its own index range in sort order under its own LIMIT, and one UNION ALL merges them. (An IN over
    regions or states cannot read the index in sort order, so it would walk every row of the others.)
    The arms read only the sort key and ``seq`` (from the index alone); the page's own rows are then read by
    primary key, so the rows the merge drops are never read and no document is copied through the merge."""
    if not arms:
        return _keyset(_where_filters(select(*_PAGE_COLUMNS), parent, ref, states), _c, by, descending, after)
    keys = [*_SORT_KEYS[by], _c.seq] if by != "created" else list(_SORT_KEYS[by])
    branches = [select(_keyset(_where_filters(select(*keys), parent, ref, states, arm), _c, by, descending,
                               after).subquery()) for arm in range(arms)]
    merged = union_all(*branches).subquery()
    page = _keyset(select(merged), merged.c, by, descending, after=False).subquery()
    joined = select(*_PAGE_COLUMNS).select_from(resources.join(page, _c.seq == page.c.seq))
    key = [page.c[c.name] for c in _SORT_KEYS[by]]
    return joined.order_by(*([c.desc() for c in key] if descending else [c.asc() for c in key]))


@lru_cache(maxsize=None)
def _driver_plan(statement, dialect):
    """(SQL text, positional parameter names or None for named ones, default values) of a statement for the
    driver's cursor; None when it has expanding parameters (an IN list), which only Core renders."""
    compiled = statement.compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.binds.values()):
        return None
    order = list(compiled.positiontup) if compiled.positional else None
    return compiled.string, order, compiled.construct_params(_check=False)


@lru_cache(maxsize=None)
def _count_statement(parent: str | None, ref: str | None, states: bool):
    return _where_filters(select(func.count()).select_from(resources), parent, ref, states)


_CHILDREN = {form: _where_filters(select(*_COLUMNS), parent=form, ref=None, states=False)
             .order_by(_c.created_us, _c.seq) for form in (NAMED, BLANK)}


def _filter_values(kind, account, region, parent, ref, states) -> dict:
    values = {"kind": kind, "account": account, "region": region}
    if parent is not None:
        values["parent"] = parent
    if ref is not None:
        values["ref"] = ref
    if states is not None:
        values["states"] = list(states)
    return values


class _Hooks:
    """The hooks registered at one level: the transaction itself or one savepoint inside it."""

    __slots__ = ("commit", "rollback")

    def __init__(self):
        self.commit: list = []
        self.rollback: list = []


class Tx:
    """One transaction's view of the store."""

    def __init__(self, conn: Connection, postgresql: bool = False):
        self.conn = conn
        self.postgresql = postgresql
        self._earliest: int | None = None   # the earliest next_due_us this transaction has set
        # On SQLite, clock.next_due_us as this transaction read it (``_UNKNOWN`` until then, or after it was
        # rewritten otherwise than by ``_publish_due``): a writer holds the database's write lock (or, begun
        # as a reader, can only write while its snapshot is the newest), so nobody else changes it meanwhile.
        self._clock_due = _UNKNOWN
        self._before_commit: list = []
        self._levels = [_Hooks()]   # the transaction, then one entry per open savepoint
        self.extensions: dict = {}  # per-transaction state of the layers above (the transaction's file view)
        # Catch-up batches: saves held back to be written together (``defer_save``), flushed before any
        # other statement; and, while ``watch_writes`` is on, the keys of rows saved or deleted directly.
        self._deferred: dict[tuple, Resource] = {}
        # Per held-back row, the mask of the indexed columns (``_INDEXED``) its save must set.
        self._deferred_columns: dict[tuple, int] = {}
        self._deferred_families: set[tuple] = set()
        # (next_due_us, seq, key) of held-back saves as they were deferred (a later save of the row supersedes
        # its entry): how ``due`` finds the held rows due in a range without looking at all of them.
        self._held_due: list = []
        # Kept-count changes made while ``watch_writes`` is on, written with the held-back saves.
        self._bumps: dict[tuple, int] = {}
        self._written: set | None = None

    # -- hooks ------------------------------------------------------------------------------------

    def before_commit(self, fn) -> None:
        """Run ``fn()`` inside the transaction just before it commits (it may still write)."""
        self._before_commit.append(fn)

    def on_commit(self, fn, outermost: bool = False) -> None:
        """Run ``fn()`` after the transaction commits; dropped if it (or the savepoint now open) rolls back.
        ``outermost`` ties it to the transaction itself whatever savepoint is open."""
        self._levels[0 if outermost else -1].commit.append(fn)

    def on_rollback(self, fn) -> None:
        """Run ``fn()`` if the transaction, or the savepoint now open, rolls back."""
        self._levels[-1].rollback.append(fn)

    @contextlib.contextmanager
    def savepoint(self):
        """A nested transaction: leaving it by an exception undoes only what was written inside it,
        and runs only its own ``on_rollback`` hooks."""
        if self._deferred or self._bumps:
            self.flush()
        hooks = _Hooks()
        self._levels.append(hooks)
        try:
            with self.conn.begin_nested():
                yield self
                if self._deferred or self._bumps:
                    self.flush()
        except BaseException:
            self._clock_due = _UNKNOWN   # what the savepoint wrote to the clock row is undone
            self._deferred.clear()   # held-back saves of the undone work go with it
            self._deferred_columns.clear()
            self._deferred_families.clear()
            self._held_due.clear()
            self._bumps.clear()
            self._levels.pop()
            self._run(reversed(hooks.rollback))
            raise
        self._levels.pop()
        self._levels[-1].commit += hooks.commit
        self._levels[-1].rollback += hooks.rollback

    def _before_end(self) -> None:
        """What a transaction does before it commits: held-back saves, hooks, the clock row's due time."""
        if self._deferred or self._bumps:
            self.flush()
        for fn in self._before_commit:   # a failure here rolls the transaction back
            fn()
        if self._earliest is not None:
            self._publish_due()

    def _finish(self, committed: bool) -> None:
        hooks = self._levels[0]
        self._levels = [_Hooks()]
        self._run(hooks.commit if committed else reversed(hooks.rollback))

    @staticmethod
    def _run(fns) -> None:
        for fn in list(fns):
            try:
                fn()
            except Exception:   # the database outcome stands; the file sweep repairs what a hook left
                log.exception("transaction hook failed")

    # -- single resources -------------------------------------------------------------------------

    def get(self, kind: str, account: str, region: str, id: str) -> Resource | None:
        if self._deferred:
            held = self._deferred.get((kind, account, region, id))
            if held is not None:
                # What the store would give once the held-back saves are written, without writing them.
                return _held_copy(held)
        rows = self._resources(_GET, {"kind": kind, "account": account, "region": region, "id": id})
        if not rows:
            return None
        r = rows[0]
        r.stored = (r.parent, r.ref, r.state, r.next_due_us)
        return r

    def _resources(self, statement, values: dict, known: tuple = ()) -> list[Resource]:
        """The rows of a SELECT of ``_COLUMNS`` as resources (of ``_PAGE_COLUMNS`` when ``known`` gives the
        kind and account). A hot read: its text, compiled once per dialect from the Core statement, runs on
        the driver's cursor (a Core execution costs twice the query); statements with expanding parameters
        go through Core."""
        plan = _driver_plan(statement, self.conn.dialect)
        if plan is None:
            return [Resource(*known, *r) for r in self.conn.execute(statement, values)]
        sql, order, defaults = plan
        params = {**defaults, **values}
        params = tuple([params[name] for name in order]) if order is not None else params
        rows = self._on_cursor(sql, params, _fetch_all)
        loads = orjson.loads
        if known:
            kind, account = known
            return [Resource(kind, account, region, id, parent, state, created_us, next_due_us,
                             doc if doc.__class__ is dict else loads(doc), ref, seq)
                    for region, id, parent, state, created_us, next_due_us, doc, ref, seq in rows]
        return [Resource(kind, account, region, id, parent, state, created_us, next_due_us,
                         doc if doc.__class__ is dict else loads(doc), ref, seq)
                for kind, account, region, id, parent, state, created_us, next_due_us, doc, ref, seq in rows]

    def insert(self, r: Resource) -> Resource:
        if r.next_due_us is not None:
            self._scheduled(r.next_due_us)
        # On the driver's cursor, the statement's text compiled once per dialect (as ``_write`` runs saves):
        # a Core execution of one small INSERT costs more than the INSERT. The new row's seq comes back as
        # the cursor's lastrowid on SQLite (seq is the rowid) and from RETURNING elsewhere.
        values = _values(r)
        values["doc"] = orjson.dumps(r.doc).decode()
        if self.postgresql:
            r.seq = self._execute(_INSERT_RETURNING, values, lambda cursor: cursor.fetchone()[0])
        else:
            r.seq = self._execute(_INSERT, values, lambda cursor: cursor.lastrowid)
        r.stored = (r.parent, r.ref, r.state, r.next_due_us)
        return r

    def insert_many(self, rows: Iterable[Resource]) -> None:
        batch = [_values(r) for r in rows]
        if batch:
            due = [v["next_due_us"] for v in batch if v["next_due_us"] is not None]
            if due:
                self._scheduled(min(due))
            self.conn.execute(insert(resources), batch)

    def save(self, r: Resource) -> Resource:
        key = (r.kind, r.account, r.region, r.id)
        if self._written is not None and r.seq is not None:
            # Inside a catch-up batch: held back with the batch's own saves (any read of the row writes it
            # first), and recorded as written directly so that catch-up reads it again.
            self._written.add(key)
            self.defer_save(r)
            return r
        if self._deferred:
            if self._deferred.pop(key, None) is not None:   # this write replaces every column a held-back one would
                self._deferred_columns.pop(key, None)
        if self._written is not None:
            self._written.add(key)
        if r.next_due_us is not None:
            self._scheduled(r.next_due_us)
        if r.seq is not None:
            self._write(_save_by_seq(_ALL)[0], [_seq_values(r, _INDEXED)])
        else:
            self._write(_SAVE, [_save_values(r)])
        r.stored = (r.parent, r.ref, r.state, r.next_due_us)
        return r

    def save_many(self, rows: Iterable[Resource], columns: dict | None = None) -> None:
        """Save several rows, one ``executemany`` per set of columns written; rows read from the store are
        found by their primary key. ``columns`` may give, per row key, the mask of its indexed columns
        (``_INDEXED``: parent, ref, state, next_due_us) that changed since it was read: only those are set,
        and the other columns' indexes stay untouched."""
        rows = list(rows)
        if not rows:
            return
        for r in rows:
            if r.next_due_us is not None:
                self._scheduled(r.next_due_us)
        if not all(r.seq is not None for r in rows):
            self._write(_SAVE, [_save_values(r) for r in rows])
        else:
            groups: dict[int, list] = {}
            for r in rows:
                mask = columns.get((r.kind, r.account, r.region, r.id), _ALL) if columns is not None else _ALL
                groups.setdefault(mask, []).append(r)
            dumps = orjson.dumps
            for mask, group in groups.items():
                statement, names = _save_by_seq(mask)
                values = [{"w_seq": r.seq, "doc": dumps(r.doc).decode(), **{n: getattr(r, n) for n in names}}
                          for r in group]
                self._write(statement, values)
        for r in rows:
            r.stored = (r.parent, r.ref, r.state, r.next_due_us)

    def _execute(self, statement, values: dict, result=None):
        """Run one statement on the driver's cursor, its text compiled once per dialect from the Core
        statement (its literals bound as Core binds them); ``result(cursor)`` is what it returns."""
        sql, order, defaults = _driver_plan(statement, self.conn.dialect)
        if defaults:
            values = {**defaults, **values}
        params = tuple([values[name] for name in order]) if order is not None else values
        return self._on_cursor(sql, params, result)

    def _write(self, statement, rows: list[dict]) -> None:
        """Run a write of resource rows (``doc`` already JSON text) once per entry of ``rows``, on the
        driver's cursor with the statement's text compiled once per dialect (as ``_resources`` reads)."""
        sql, order, _defaults = _driver_plan(statement, self.conn.dialect)
        params = [tuple(v[name] for name in order) for v in rows] if order is not None else rows
        if len(params) > 1:
            self._on_cursor(sql, params, many=True)
        else:
            self._on_cursor(sql, params[0])

    def _on_cursor(self, sql: str, params, result=None, many: bool = False):
        """Run compiled ``sql`` on the driver's own cursor (same transaction; a fraction of a Core execution's
        cost), once or, with ``many``, once per entry of ``params``; ``result(cursor)`` is what it returns.
        Listeners of Core's statement event still see the statement."""
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            dispatch = self.conn.dispatch.before_cursor_execute
            if dispatch:
                for listener in dispatch:
                    listener(self.conn, cursor, sql, params, None, many)
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            return result(cursor) if result is not None else None
        finally:
            cursor.close()

    def defer_save(self, r: Resource, was: tuple | None = None, key: tuple | None = None) -> None:
        """Save ``r`` later, together with the other held-back saves: when the open savepoint is left, at
        ``flush()``, or before a statement that could read it (a ``get`` of it, ``children`` of its parent
        or of the parent it had in the store, a page, a count, the due queue). A direct ``save`` or
        ``delete`` of the same row supersedes it. The last copy deferred wins. ``was`` is the row's
        (parent, ref, state, next_due_us) as stored when it was read (by default the row's ``stored``): only the ones that
        changed are written. ``key`` is the row's (kind, account, region, id), if the caller has it."""
        key = (r.kind, r.account, r.region, r.id) if key is None else key
        if was is None:
            was = r.stored
        deferred = self._deferred
        before = deferred.get(key)
        if was is None:
            changed = _ALL
        else:
            changed = _changed(r, was)
            stored = r.stored
            if stored is not was and stored is not None and stored != was:
                # Written in between as it was then (a flush while it was held as itself): from that too.
                changed |= _changed(r, stored)
            if before is not None:
                changed |= self._deferred_columns.get(key, _ALL)
        deferred[key] = r
        self._deferred_columns[key] = changed
        if r.next_due_us is not None and r.seq is not None:
            heapq.heappush(self._held_due, (r.next_due_us, r.seq, key))
        if before is None or before.parent != r.parent:   # else its family is noted already
            self._deferred_families.add((r.kind, r.account, r.region, r.parent))
        if was is not None and was[0] != r.parent:
            self._deferred_families.add((r.kind, r.account, r.region, was[0]))

    def held(self) -> int:
        """How many rows' saves are held back."""
        return len(self._deferred)

    def hold_apart(self, r: Resource, key: tuple | None = None) -> None:
        """``r`` is about to change again: if the held-back save of its row is ``r`` itself, hold a copy of it
        as it is now instead, so that the store (a flush, a ``get``, ``due``) never sees a change before it
        is saved. ``key`` is the row's (kind, account, region, id), if the caller has it."""
        if self._deferred:
            if key is None:
                key = (r.kind, r.account, r.region, r.id)
            if self._deferred.get(key) is r:
                # Its document as JSON (what a flush writes, what a read of it parses): one serialisation.
                self._deferred[key] = _with_doc(r, orjson.Fragment(orjson.dumps(r.doc)), r.stored)

    def flush(self) -> None:
        """Write the held-back saves now."""
        rows, self._deferred = list(self._deferred.values()), {}
        columns, self._deferred_columns = self._deferred_columns, {}
        self._deferred_families.clear()
        self._held_due.clear()
        self.save_many(rows, columns)
        if self._bumps:
            bumps, self._bumps = self._bumps, {}
            for (account, region, name), delta in bumps.items():
                if delta:
                    self.conn.execute(_BUMP, {"w_account": account, "w_region": region, "w_name": name,
                                              "delta": delta})

    def watch_writes(self, keys: set | None) -> None:
        """Add to ``keys`` the key of every row saved, unscheduled or deleted directly (not through
        ``defer_save``) from now on; ``None`` stops recording."""
        self._written = keys

    def unschedule(self, r: Resource) -> None:
        """Clear the row's next transition, whatever else its in-memory copy says."""
        if self._deferred:
            self.flush()
        if self._written is not None:
            self._written.add((r.kind, r.account, r.region, r.id))
        self.conn.execute(_UNSCHEDULE, {"w_seq": r.seq})

    def delete(self, r: Resource) -> None:
        key = (r.kind, r.account, r.region, r.id)
        if self._deferred:
            if self._deferred.pop(key, None) is not None:
                self._deferred_columns.pop(key, None)
        if self._written is not None:
            self._written.add(key)
        self.conn.execute(_DELETE, {"kind": r.kind, "account": r.account, "region": r.region, "id": r.id})

    # -- lists ------------------------------------------------------------------------------------

    def page(self, kind: str, account: str, region: str | tuple[str, ...], *, limit: int,
             after: list | None = None, parent: str | None = None, states: Iterable[str] | None = None,
             ref: str | None = None, by: str = "created", descending: bool = False) -> tuple[list[Resource], bool]:
        """One keyset page: the rows after ``after`` (a ``sort_key(by)``) and whether more follow.

        ``by`` is ``"created"`` (creation order) or ``"id"``. The query reads ``limit + 1`` rows from an
        index whose leading columns are the filters and whose trailing columns are the sort key, so its
        cost does not depend on the depth or the table size. ``region`` may be several regions (a list AWS
        serves from a group of regions); the page then spans them all.
        """
        if self._deferred:
            self.flush()
        regions = (region,) if isinstance(region, str) else tuple(sorted(set(region)))
        distinct = sorted(set(states)) if states is not None else None
        if len(regions) > 1 or (distinct is not None and len(distinct) > 1):
            arms = [(r, s) for r in regions for s in (distinct if distinct is not None else [None])]
            statement = _page_statement(_form(parent), _form(ref), distinct is not None, by, descending,
                                        after is not None, len(arms))
            values = _filter_values(kind, account, None, parent, ref, None)
            del values["region"]
            for i, (arm_region, arm_state) in enumerate(arms):
                values[f"region{i}"] = arm_region
                if arm_state is not None:
                    values[f"state{i}"] = arm_state
        else:
            statement = _page_statement(_form(parent), _form(ref), states is not None, by, descending,
                                        after is not None)
            values = _filter_values(kind, account, regions[0], parent, ref, states)
        values["limit"] = limit + 1
        for i, value in enumerate(after or ()):
            values[f"after{i}"] = value
        rows = self._resources(statement, values, (kind, account))
        return rows[:limit], len(rows) > limit

    def count(self, kind: str, account: str, region: str, *, parent: str | None = None,
              states: Iterable[str] | None = None, ref: str | None = None) -> int:
        if self._deferred:
            self.flush()
        statement = _count_statement(_form(parent), _form(ref), states is not None)
        return self.conn.execute(statement, _filter_values(kind, account, region, parent, ref, states)).scalar_one()

    def children(self, kind: str, account: str, region: str, parent: str) -> list[Resource]:
        """All of one parent's children in creation order (for small families: a cluster's nodes, a job's parts)."""
        if self._deferred and (kind, account, region, parent) in self._deferred_families:
            self.flush()
        rows = self._resources(_CHILDREN[_form(parent)], _filter_values(kind, account, region, parent, None, None))
        for r in rows:
            r.stored = (r.parent, r.ref, r.state, r.next_due_us)
        return rows

    # -- the lifecycle engine's queue -------------------------------------------------------------

    def due(self, now_us: int, limit: int, after: tuple | None = None) -> tuple[list[Resource], tuple | None]:
        """Resources whose next transition is due at or before ``now_us``, in (due time, seq) order: the first
        ``limit`` from the start or past the position ``after`` (a (due time, seq) pair). Returns them and
        the position up to which they are complete: the last row's when ``limit`` rows came back (more may
        follow), None when every row due by ``now_us`` past ``after`` is there.

        Read on from a position, the held-back saves stay held: the rows they hold are given as held (the
        objects themselves) and the store's older copies of them are left out, so the answer is the one
        the store would give once they are written, the same rows and the same position."""
        if after is None:
            if self._deferred:
                self.flush()
            rows = self._resources(_DUE, {"now": now_us, "limit": limit})
            for r in rows:
                r.stored = (r.parent, r.ref, r.state, r.next_due_us)
            return rows, (_due_position(rows[-1]) if len(rows) == limit else None)
        held = self._deferred
        fresh: list[Resource] = []
        position = after
        while True:
            rows = self._resources(_DUE_AFTER, {"now": now_us, "after_due": position[0],
                                                "after_seq": position[1], "limit": limit})
            for r in rows:
                r.stored = (r.parent, r.ref, r.state, r.next_due_us)
            fresh += [r for r in rows if (r.kind, r.account, r.region, r.id) not in held] if held else rows
            if len(rows) < limit:
                bound = (now_us, float("inf"))   # every row of the store due by now is read
                break
            position = bound = _due_position(rows[-1])
            if not held or len(fresh) >= limit or (
                    len(fresh) + self._held_due_count(after, bound, limit - len(fresh)) >= limit):
                break
            # The store's older copies of held rows took places: read on until ``limit`` are known.
        if not held:
            return fresh, (bound if len(rows) == limit else None)
        # Held rows due past ``after`` and up to ``bound``, in order, from the queue defer_save keeps: no
        # more than ``limit`` of them can be among the first ``limit``.
        queue, extra, seen, heappop = self._held_due, [], set(), heapq.heappop
        # Entries (due, seq, key) before this are up to ``bound`` (seq is an integer).
        upper = (bound[0], bound[1] + 1)
        while queue and queue[0] < upper and len(extra) < limit:
            entry = heappop(queue)
            due, seq, key = entry
            r = held.get(key)
            if r is None or r.next_due_us != due or r.seq != seq or (due, seq) <= after or key in seen:
                continue   # superseded by a later save, behind the position (a read from the start finds it),
                # or saved twice at the same due time
            seen.add(key)
            extra.append((r, entry))
        if not extra:
            merged = fresh
        else:
            merged = fresh + [r if r.doc.__class__ is dict else _held_copy(r) for r, _ in extra]
            merged.sort(key=_due_position)
        if len(merged) < limit:
            return merged, None
        through = _due_position(merged[limit - 1])
        for r, entry in extra:   # held rows past the cut are given by a later read
            if (entry[0], entry[1]) > through:
                heapq.heappush(queue, entry)
        return merged[:limit], through

    def _held_due_count(self, after: tuple, bound: tuple, enough: int) -> int:
        """How many held rows are due past ``after`` and up to ``bound`` (counting stops at ``enough``)."""
        found = set()
        for due, seq, key in self._held_due:   # heap order: not sorted, so every entry is looked at
            if after < (due, seq) <= bound and key not in found:
                r = self._deferred.get(key)
                if r is not None and r.next_due_us == due and r.seq == seq:
                    found.add(key)
                    if len(found) >= enough:
                        break
        return len(found)

    def next_due(self) -> int | None:
        if self._deferred:
            self.flush()
        return self.conn.execute(_NEXT_DUE).scalar()

    # -- the clock row and the next-due bound ------------------------------------------------------

    def note_due(self, due_us: int) -> None:
        """Report a due time written other than by ``insert``/``save`` (a bulk load's own INSERT)."""
        self._scheduled(due_us)

    def _scheduled(self, due_us: int) -> None:
        """The one place every write that sets a resource's ``next_due_us`` reports it."""
        if self._earliest is None or due_us < self._earliest:
            self._earliest = due_us

    def _publish_due(self) -> None:
        """Lower ``clock.next_due_us`` to the earliest due time this transaction set (run just before commit,
        after everything else, so on PostgreSQL the clock row's lock is the last this transaction takes)."""
        due, known = self._earliest, self._clock_due
        self._earliest = None
        if known is not _UNKNOWN and known is not None and known <= due:
            return   # the bound is already as low: the UPDATE would change nothing
        statement = _CLOCK_LOWER_LOCKING if self.postgresql else _CLOCK_LOWER_SQLITE
        # Every transaction that schedules runs it: on the driver's cursor, like ``_write``.
        self._execute(statement, {"due": due})
        if known is not _UNKNOWN:
            self._clock_due = due

    def clock_row(self, lock: bool = False) -> "ClockRow":
        """The clock row: (anchor_us, wall_anchor, scale, version, next_due_us); ``lock`` takes its row lock
        on PostgreSQL (FOR UPDATE) for a steer."""
        if lock:
            return ClockRow(*self.conn.execute(_CLOCK_ROW_LOCKED if self.postgresql else _CLOCK_ROW).one())
        # Read by every unit of work: one constant statement both databases accept, on the driver's own
        # cursor (the transaction is the same), which costs a fraction of a Core execution.
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_CLOCK_ROW_TEXT)
            row = ClockRow(*cursor.fetchone())
        finally:
            cursor.close()
        if not self.postgresql:
            self._clock_due = row.next_due_us
        return row

    def steer_clock(self, anchor_us: int, wall_anchor: float, scale: float) -> None:
        """Set the clock's anchors and scale and bump its version (the row should be read with ``lock``)."""
        self.conn.execute(_CLOCK_STEER, {"anchor_us": anchor_us, "wall_anchor": wall_anchor, "scale": scale})

    def lock_catch_up(self) -> None:
        """Serialise catch-up across processes: on PostgreSQL a transaction-scoped advisory lock (taken before
        any row, so it never waits behind one of them); on SQLite the writer's database lock already does."""
        if self.postgresql:
            self.conn.execute(select(func.pg_advisory_xact_lock(_CATCH_UP_LOCK_KEY)))

    @contextlib.contextmanager
    def wide_cache(self, kib: int):
        """On SQLite, a page cache of ``kib`` KiB on this connection for the block (a long catch-up's pages
        stay in memory instead of spilling to the WAL mid-transaction), then the connection's own again."""
        if self.postgresql:
            yield
            return
        dbapi = self.conn.connection.dbapi_connection
        before = dbapi.execute("PRAGMA cache_size").fetchone()[0]
        dbapi.execute(f"PRAGMA cache_size=-{int(kib)}")
        try:
            yield
        finally:
            dbapi.execute(f"PRAGMA cache_size={int(before)}")

    def refresh_next_due(self) -> int | None:
        """Set ``clock.next_due_us`` to the earliest due time of any resource (after catch-up applied)."""
        if self.postgresql:
            # Wait for any transaction lowering the bound to commit, then count its rows too.
            self.conn.execute(_CLOCK_ROW_LOCKED)
        self.conn.execute(_CLOCK_REFRESH)
        self._earliest = None   # the exact value covers what this transaction scheduled so far
        return self.clock_row().next_due_us

    def changes(self) -> int | None:
        """SQLite's count of rows this connection has changed so far (None on other databases): how a reader
        that wrote is noticed."""
        if self.postgresql:
            return None
        dbapi = self.conn.connection.dbapi_connection
        return getattr(dbapi, "total_changes", None)

    # -- kept counts -------------------------------------------------------------------------------

    def counter(self, account: str, region: str, name: str, count) -> int:
        """The kept count ``name`` of one account and region; ``count()`` gives it the first time (a store
        that never kept it, or one just reset), and it is kept from then on."""
        where = {"account": account, "region": region, "name": name}
        if self._bumps:
            self.flush()
        value = self.conn.execute(_COUNTER, where).scalar()
        if value is None:
            if self._deferred:
                self.flush()
            value = count()
            self.conn.execute(_first_count(self.conn.dialect.name), {**where, "value": value})
            value = self.conn.execute(_COUNTER, where).scalar()
        return value

    def bump(self, account: str, region: str, name: str, delta: int) -> None:
        """Change a kept count by ``delta``, in this transaction (nothing to do if it is not kept yet: its
        first reader counts what this transaction wrote)."""
        if not delta:
            return
        if self._written is not None:
            # Inside a catch-up batch: added up and written with the held-back saves (before any read of a
            # kept count, and when the batch's savepoint is left).
            key = (account, region, name)
            self._bumps[key] = self._bumps.get(key, 0) + delta
            return
        self.conn.execute(_BUMP, {"w_account": account, "w_region": region, "w_name": name, "delta": delta})

    def forget_counters(self, account: str, region: str, names: Iterable[str]) -> None:
        """Drop kept counts, to be counted afresh by their next reader (after a bulk load)."""
        for name in names:
            self.conn.execute(_FORGET_COUNTER, {"account": account, "region": region, "name": name})

    # -- small global values ----------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
            self.conn.execute(insert(meta).values(key=key, value=value))
