"""The indexes on parent and ref hold only rows that have one, the due index only scheduled rows.

Most rows have no parent and no ref, and most jobs have reached their last state: leaving them out of those
indexes spares every write of them an index update each, and keeps the due index the size of the work in
flight. Queries that read these indexes state the same condition (``store/db.py`` ``_where_filters``).

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HAS_PARENT = sa.text("parent != ''")
HAS_REF = sa.text("ref != ''")
SCHEDULED = sa.text("next_due_us IS NOT NULL")

# name: (columns, condition), as revision 0001 made them but for the condition
_INDEXES = {
    "ix_resources_parent_created": (["kind", "account", "region", "parent", "created_us", "seq"], HAS_PARENT),
    "ix_resources_parent_state_created": (["kind", "account", "region", "parent", "state", "created_us", "seq"],
                                          HAS_PARENT),
    "ix_resources_ref_created": (["kind", "account", "region", "ref", "created_us", "seq"], HAS_REF),
    "ix_resources_parent_id": (["kind", "account", "region", "parent", "id"], HAS_PARENT),
    "ix_resources_due": (["next_due_us"], SCHEDULED),
}


def upgrade() -> None:
    for name, (columns, condition) in _INDEXES.items():
        op.drop_index(name, table_name="resources")
        op.create_index(name, "resources", columns, sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for name, (columns, _condition) in _INDEXES.items():
        op.drop_index(name, table_name="resources")
        op.create_index(name, "resources", columns)
