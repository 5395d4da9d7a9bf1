"""Inbox triage: connected mailboxes (refresh tokens encrypted) and one row per message seen
(its id, state, labels or skip reason, model version and times; never its text).

Revision ID: 0005_triage
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_triage"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "triage_mailboxes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("label_ids", sa.JSON, nullable=True),
        sa.Column("labels", sa.String(100), nullable=False),
        sa.Column("min_confidence", sa.Float, nullable=False),
        sa.Column("label_own_domain", sa.Boolean, nullable=False),
        sa.Column("backfill_days", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("error_at", sa.DateTime, nullable=True),
        sa.Column("backoff_until", sa.DateTime, nullable=True),
        sa.Column("last_sync_at", sa.DateTime, nullable=True),
        sa.Column("watch_expires_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "provider", "address", name="uq_triage_mailbox"),
    )
    op.create_index("ix_triage_mailboxes_user_id", "triage_mailboxes", ["user_id"])
    op.create_table(
        "triage_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mailbox_id", sa.Integer, sa.ForeignKey("triage_mailboxes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("labels", sa.String(100), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("received_at", sa.DateTime, nullable=True),
        sa.Column("queued_at", sa.DateTime, nullable=False),
        sa.Column("done_at", sa.DateTime, nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.UniqueConstraint("mailbox_id", "message_id", name="uq_triage_message"),
    )
    op.create_index("ix_triage_messages_state", "triage_messages", ["state", "lease_until"])
    op.create_index("ix_triage_messages_done", "triage_messages", ["mailbox_id", "done_at"])


def downgrade():
    op.drop_table("triage_messages")
    op.drop_table("triage_mailboxes")
