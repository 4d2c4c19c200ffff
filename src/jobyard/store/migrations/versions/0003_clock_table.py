"""The one-row clock table every process reads, seeded from the clock the meta table kept.

Revision ID: 0003
Revises: 0002
"""

import json
import time

from alembic import context, op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
_resources = sa.table("resources", sa.column("next_due_us", sa.BigInteger))


def upgrade() -> None:
    clock = op.create_table(
        "clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("anchor_us", sa.BigInteger, nullable=False),
        sa.Column("wall_anchor", sa.Float, nullable=False),
        sa.Column("scale", sa.Float, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("next_due_us", sa.BigInteger, nullable=True),
    )
    conn = op.get_bind()
    stored = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == "clock")).scalar()
    if stored is not None:
        state = json.loads(stored)
        anchor_us, wall_anchor, scale = int(state["anchor_us"]), float(state["wall_anchor"]), float(state["scale"])
    else:   # a new store: the real time now, at real speed
        wall = context.config.attributes.get("wall") or time.time
        wall_anchor = wall()
        anchor_us, scale = int(wall_anchor * 1_000_000), 1.0
    next_due = conn.execute(sa.select(sa.func.min(_resources.c.next_due_us))).scalar()
    op.bulk_insert(clock, [{"id": 1, "anchor_us": anchor_us, "wall_anchor": wall_anchor, "scale": scale,
                            "version": 1, "next_due_us": next_due}])
    conn.execute(sa.delete(_meta).where(_meta.c.key == "clock"))


def downgrade() -> None:
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT anchor_us, wall_anchor, scale FROM clock WHERE id = 1")).one()
    conn.execute(sa.insert(_meta).values(key="clock", value=json.dumps(
        {"anchor_us": row.anchor_us, "wall_anchor": row.wall_anchor, "scale": row.scale})))
    op.drop_table("clock")
