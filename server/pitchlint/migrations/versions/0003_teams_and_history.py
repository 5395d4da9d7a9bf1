"""Teams, users and roles; API keys owned by users; opt-in analysis history and feedback.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("history_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("retention_days", sa.Integer, nullable=False, server_default="30"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_teams_org_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="SET NULL"),
                  nullable=True, index=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default="member"),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("ms_tid", sa.String(64), nullable=True),
        sa.Column("ms_oid", sa.String(64), nullable=True, index=True),
        sa.Column("google_sub", sa.String(64), nullable=True, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("disabled_at", sa.DateTime, nullable=True),
        sa.Column("session_version", sa.Integer, nullable=False, server_default="1"),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_api_keys_user", "users", ["user_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_api_keys_user_id", ["user_id"])
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("email_focus", sa.String(32), nullable=False),
        sa.Column("email_tone", sa.String(32), nullable=False),
        sa.Column("sentences", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
    )
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("analysis_id", sa.Integer, sa.ForeignKey("analyses.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("before_labels", sa.JSON, nullable=True),
        sa.Column("after_labels", sa.JSON, nullable=True),
        sa.Column("focus", sa.String(32), nullable=False),
        sa.Column("tone", sa.String(32), nullable=False),
        sa.Column("focus_score", sa.Float, nullable=False),
        sa.Column("tone_score", sa.Float, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("feedback", sa.String(16), nullable=True),
        sa.Column("corrected_focus", sa.String(32), nullable=True),
        sa.Column("corrected_tone", sa.String(32), nullable=True),
    )
    op.create_index("ix_samples_team_created", "samples", ["team_id", "created_at"])
    op.create_table(
        "sample_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("focus", sa.String(32), nullable=True),
        sa.Column("tone", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade():
    op.drop_table("sample_feedback")
    op.drop_index("ix_samples_team_created", table_name="samples")
    op.drop_table("samples")
    op.drop_table("analyses")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_user_id")
        batch.drop_constraint("fk_api_keys_user", type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("organisations")
