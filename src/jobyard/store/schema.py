"""Tables. Queried fields are indexed columns; the rest of a resource is one JSON document.

Every service keeps its resources in ``resources``: ``kind`` names the service and the resource type
(``snowball.job``), ``parent`` ties a resource to its container (cluster of a job, vault of an archive),
``ref`` is a second id a list can filter on (the revision a job works on), ``state`` carries the
filterable status and ``next_due_us`` the simulated time of its next scheduled
transition. List queries are keyset scans over the composite indexes below, so a page costs the same
at any depth and any table size.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text, literal_column

metadata = MetaData()

resources = Table(
    "resources",
    metadata,
    # Insertion order: breaks ties between rows created at the same simulated instant (a frozen clock).
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    # Wide enough for an S3 object version: bucket (63) + "/" + key (1024 bytes, each \x01 of it escaped to
    # two characters) + a two-character separator + version id (32); see objects/builtin.py.
    Column("id", String(2200), nullable=False),
    Column("parent", String(255), nullable=False, default=""),
    Column("ref", String(255), nullable=False, default=""),
    Column("state", String(64), nullable=False, default=""),
    Column("created_us", BigInteger, nullable=False),
    Column("next_due_us", BigInteger, nullable=True),
    Column("doc", JSON, nullable=False),
)

Index("ux_resources_id", resources.c.kind, resources.c.account, resources.c.region, resources.c.id, unique=True)
# The indexes on parent and ref hold only the rows that have one (partial indexes): most rows have neither, and
# each index a row is in costs every write of it. A query reads them only when it states the same condition
# (``parent != ''``, as a literal: neither SQLite nor PostgreSQL proves it from a bound value); rows with no
# parent or ref are listed through the indexes without those columns (``store/db.py`` ``_where_filters``).
HAS_PARENT = resources.c.parent != literal_column("''")
HAS_REF = resources.c.ref != literal_column("''")
SCHEDULED = resources.c.next_due_us.is_not(None)


# The partial indexes, with their condition: PostgreSQL's is given to them only for a PostgreSQL store
# (``postgresql_conditions``), since naming it here would import SQLAlchemy's PostgreSQL dialect into every
# start-up of a SQLite store too (30-50 ms here).
_PARTIAL: list[tuple[Index, object]] = []


def _partial(name: str, *columns, where) -> Index:
    index = Index(name, *columns, sqlite_where=where)
    _PARTIAL.append((index, where))
    return index


def postgresql_conditions() -> None:
    """Give the partial indexes their condition on PostgreSQL (before this schema is used there)."""
    for index, where in _PARTIAL:
        index.dialect_kwargs["postgresql_where"] = where


# Lists in creation order (all of a kind, or one parent's), optionally filtered by state.
Index("ix_resources_created", resources.c.kind, resources.c.account, resources.c.region,
      resources.c.created_us, resources.c.seq)
_partial("ix_resources_parent_created", resources.c.kind, resources.c.account, resources.c.region,
         resources.c.parent, resources.c.created_us, resources.c.seq, where=HAS_PARENT)
Index("ix_resources_state_created", resources.c.kind, resources.c.account, resources.c.region,
      resources.c.state, resources.c.created_us, resources.c.seq)
_partial("ix_resources_parent_state_created", resources.c.kind, resources.c.account, resources.c.region,
         resources.c.parent, resources.c.state, resources.c.created_us, resources.c.seq, where=HAS_PARENT)
_partial("ix_resources_ref_created", resources.c.kind, resources.c.account, resources.c.region,
         resources.c.ref, resources.c.created_us, resources.c.seq, where=HAS_REF)
# Lists in id order (vaults by name, parts by range), all of a kind (``ux_resources_id``) or one parent's.
_partial("ix_resources_parent_id", resources.c.kind, resources.c.account, resources.c.region,
         resources.c.parent, resources.c.id, where=HAS_PARENT)
# The lifecycle engine's catch-up scan: only rows with a pending transition are in it, so a row that reaches
# its last state leaves the index, and its size follows the work in flight, not the table.
_partial("ix_resources_due", resources.c.next_due_us, where=SCHEDULED)

# Kept counts of one account's resources in one region (vaults, unfinished jobs...), changed in the same
# transaction as what they count, so a limit check costs one row however many resources there are. A
# missing row means "not counted yet": the first reader counts once and stores the count.
counters = Table(
    "counters",
    metadata,
    Column("account", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Small global values: the page-token secret.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Byte-store work of committed transactions not yet carried out on disk: written just before a commit,
# removed once done; the sweep finishes what a killed process left here (see files.py).
file_journal = Table(
    "file_journal",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch", String(32), nullable=False),     # one committing transaction
    Column("owner", String(32), nullable=False),     # the process whose pending folder holds staged bytes
    Column("op", String(8), nullable=False),         # put | delete
    Column("key", String(1200), nullable=False),
    Column("staged", String(255), nullable=False),   # a put's staged file name in the owner's folder
)
Index("ix_file_journal_batch", file_journal.c.batch)
Index("ix_file_journal_owner", file_journal.c.owner, file_journal.c.id)
Index("ix_file_journal_key", file_journal.c.key)

# The simulated clock, one row (id 1) every process reads at the start of each unit of work (clock.py):
# simulated now = anchor_us + (wall time - wall_anchor) * scale. ``version`` grows with every steer.
# ``next_due_us`` is never later than the earliest ``resources.next_due_us`` (NULL: nothing is scheduled):
# every transaction that schedules something lowers it, catch-up sets it exactly after applying.
clock = Table(
    "clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("anchor_us", BigInteger, nullable=False),
    Column("wall_anchor", Float, nullable=False),    # real seconds since the epoch
    Column("scale", Float, nullable=False),          # simulated seconds per real second; 0 freezes
    Column("version", BigInteger, nullable=False),
    Column("next_due_us", BigInteger, nullable=True),
)
