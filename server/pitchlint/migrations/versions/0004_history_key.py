"""Analyses carry the hashed id of the email they are of, so re-analysing a draft as it is
written (or a message read again) replaces the earlier analysis instead of adding another.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("history_key", sa.String(64), nullable=True))
    op.create_index("ix_analyses_user_history_key", "analyses", ["user_id", "history_key"])


def downgrade():
    op.drop_index("ix_analyses_user_history_key", table_name="analyses")
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("history_key")
