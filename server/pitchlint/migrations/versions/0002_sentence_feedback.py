"""Feedback on flagged sentences from the add-ins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sentence_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("sentence_hash", sa.String(64), nullable=False),
        sa.Column("masked_text", sa.Text, nullable=True),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_index("ix_sentence_feedback_sentence_hash", "sentence_feedback", ["sentence_hash"])


def downgrade():
    op.drop_index("ix_sentence_feedback_sentence_hash", table_name="sentence_feedback")
    op.drop_table("sentence_feedback")
