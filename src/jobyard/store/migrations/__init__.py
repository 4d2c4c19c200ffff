"""Versioned schema migrations (Alembic), applied when a ``Store`` opens.

``versions/`` holds one small revision per schema change, oldest first: 0001 is the schema of the first
release, each later one changes it (and its data) in place. ``upgrade(engine)`` brings a store to ``HEAD``:

- a store already at ``HEAD`` costs one small read, and Alembic is not even imported;
- a new, empty store is created at ``HEAD`` in one step, also without Alembic: ``schema.py``'s tables, the
  clock row revision 0003 would write (the real time now, at real speed) and ``alembic_version`` stamped
  ``HEAD`` as Alembic writes it (``tests/test_migrations.py`` checks it equals a store migrated from empty);
- the upgrade runs in one transaction that first takes a lock every starting process takes (SQLite: the
  writer's ``BEGIN IMMEDIATE``; PostgreSQL: ``pg_advisory_xact_lock``), then reads the revision again, so
  two processes starting together apply each revision once;
- a store made before migrations existed (its tables, no ``alembic_version``) is stamped 0001 and upgraded
  with its data intact.

A new revision: ``python -m jobyard.store.migrations new "what it changes"`` writes
``versions/NNNN_what_it_changes.py`` chained to the current head; fill in ``upgrade()`` (and
``downgrade()``), change ``schema.py`` to match, and set ``HEAD`` below to its revision id (a test checks
that ``HEAD`` is the scripts' head and that the migrated schema equals ``schema.py``).
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

HEAD = "0005"

HERE = os.path.dirname(os.path.abspath(__file__))
_LOCK_KEY = 0x6A6F6279617265   # the advisory lock of schema upgrades on PostgreSQL

# Alembic's version table, as Alembic creates it, for stores created at HEAD without it.
_VERSION = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                 PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def config(connection: Connection | None = None, wall=time.time):
    """Alembic's configuration, built in code (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", HERE)
    cfg.attributes["connection"] = connection
    cfg.attributes["wall"] = wall
    return cfg


def current(conn: Connection) -> str | None:
    """The store's revision: None for an empty database, "0001" for one made before migrations existed."""
    found = _read_revision(conn)
    if found is not None:
        return found
    return "0001" if inspect(conn).has_table("resources") else None


def upgrade(engine: Engine, target: str = HEAD, wall=time.time) -> None:
    """Bring the store at ``engine`` to ``target`` (see the module's notes)."""
    with engine.connect() as conn:
        conn.execution_options(jobyard_read=True)   # a reader on SQLite: no lock for the common case
        with conn.begin():
            if _read_revision(conn) == target:
                return
    with engine.connect() as conn:
        with conn.begin():   # SQLite: BEGIN IMMEDIATE (store/db.py), the lock of every writer
            if conn.dialect.name == "postgresql":
                conn.execute(select(text(f"pg_advisory_xact_lock({_LOCK_KEY})")))
            revision = current(conn)
            if revision == target:
                return
            if revision is None and target == HEAD:
                _create_at_head(conn, wall)
                return
            from alembic import command

            cfg = config(conn, wall)
            if revision is not None and _read_revision(conn) is None:
                command.stamp(cfg, revision)   # made before migrations: its tables are revision 0001's
            command.upgrade(cfg, target)


def _create_at_head(conn: Connection, wall) -> None:
    """A new store, made at ``HEAD`` in one step: what the revisions from empty to ``HEAD`` leave."""
    from ..schema import clock, metadata

    metadata.create_all(conn)
    wall_anchor = wall()
    conn.execute(insert(clock).values(id=1, anchor_us=int(wall_anchor * 1_000_000), wall_anchor=wall_anchor,
                                      scale=1.0, version=1, next_due_us=None))
    _VERSION.create(conn)
    conn.execute(insert(_VERSION).values(version_num=HEAD))


def _read_revision(conn: Connection) -> str | None:
    """The stored revision, or None (no table yet); a cheap check without Alembic."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def new(message: str) -> str:
    """Write a new revision script chained to the current head; returns its path."""
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    number = f"{int(head) + 1:04d}" if head and head.isdigit() else "0001"
    script = command.revision(cfg, message=message, rev_id=number)
    return script.path
