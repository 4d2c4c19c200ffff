"""S3 object, version and upload row ids without the NUL byte between key and version or upload id.

Before: ``bucket/key`` (objects), ``bucket/key NUL sort-key`` (versions), ``bucket/key NUL upload-id``
(uploads). After: the key with each \\x01 escaped as \\x01\\x02, and \\x01\\x01 as the separator (see
``objects/builtin.py``), which keeps the same order and can be stored by PostgreSQL. The id column is
widened to hold a key whose every character is escaped.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KINDS = ("s3.object", "s3.version", "s3.upload")
_BATCH = 1000

_resources = sa.table("resources", sa.column("seq", sa.BigInteger), sa.column("kind", sa.String),
                      sa.column("id", sa.String))


def _escape(key: str) -> str:
    return key.replace("\x01", "\x01\x02")


def _unescape(key: str) -> str:
    return key.replace("\x01\x02", "\x01")


def _new_id(kind: str, old: str) -> str:
    bucket, _, rest = old.partition("/")
    if kind == "s3.object":
        return f"{bucket}/{_escape(rest)}"
    key, _, tail = rest.rpartition("\x00")
    return f"{bucket}/{_escape(key)}\x01\x01{tail}"


def _old_id(kind: str, new: str) -> str:
    bucket, _, rest = new.partition("/")
    if kind == "s3.object":
        return f"{bucket}/{_unescape(rest)}"
    key, _, tail = rest.rpartition("\x01\x01")
    return f"{bucket}/{_unescape(key)}\x00{tail}"


def _rewrite(convert, needs) -> None:
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(sa.select(_resources.c.seq, _resources.c.kind, _resources.c.id)
                            .where(_resources.c.kind.in_(_KINDS), _resources.c.seq > after)
                            .order_by(_resources.c.seq).limit(_BATCH)).all()
        if not rows:
            return
        changed = [{"w_seq": seq, "new_id": convert(kind, old)} for seq, kind, old in rows if needs(kind, old)]
        if changed:
            conn.execute(sa.update(_resources).where(_resources.c.seq == sa.bindparam("w_seq"))
                         .values(id=sa.bindparam("new_id")), changed)
        after = rows[-1][0]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("resources", "id", type_=sa.String(2200), existing_type=sa.String(1200),
                        existing_nullable=False)
    # Rows are rewritten one at a time; the unique index holds throughout, as no new id equals another
    # row's old one (old ids of versions and uploads hold a NUL, new ones never do; object ids change only
    # where a key holds \x01, and then to a longer text no other key's id has).
    _rewrite(_new_id, lambda kind, old: "\x00" in old or "\x01" in old)


def downgrade() -> None:
    _rewrite(_old_id, lambda kind, new: "\x01" in new)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("resources", "id", type_=sa.String(1200), existing_type=sa.String(2200),
                        existing_nullable=False)
