"""The schema of the first release: resources, meta, file_journal and their indexes.

Revision ID: 0001
Revises:
"""

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("id", sa.String(1200), nullable=False),
        sa.Column("parent", sa.String(255), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("next_due_us", sa.BigInteger, nullable=True),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_index("ux_resources_id", "resources", ["kind", "account", "region", "id"], unique=True)
    op.create_index("ix_resources_created", "resources", ["kind", "account", "region", "created_us", "seq"])
    op.create_index("ix_resources_parent_created", "resources",
                    ["kind", "account", "region", "parent", "created_us", "seq"])
    op.create_index("ix_resources_state_created", "resources",
                    ["kind", "account", "region", "state", "created_us", "seq"])
    op.create_index("ix_resources_parent_state_created", "resources",
                    ["kind", "account", "region", "parent", "state", "created_us", "seq"])
    op.create_index("ix_resources_ref_created", "resources",
                    ["kind", "account", "region", "ref", "created_us", "seq"])
    op.create_index("ix_resources_parent_id", "resources", ["kind", "account", "region", "parent", "id"])
    op.create_index("ix_resources_due", "resources", ["next_due_us"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "file_journal",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("batch", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("key", sa.String(1200), nullable=False),
        sa.Column("staged", sa.String(255), nullable=False),
    )
    op.create_index("ix_file_journal_batch", "file_journal", ["batch"])
    op.create_index("ix_file_journal_owner", "file_journal", ["owner", "id"])
    op.create_index("ix_file_journal_key", "file_journal", ["key"])


def downgrade() -> None:
    op.drop_table("file_journal")
    op.drop_table("meta")
    op.drop_table("resources")
