"""Teams: organisations, teams, users with roles, and the opt-in analysis history.

An organisation holds teams; a user belongs to one organisation and (usually) one team, with a
role: `member` (sees their own samples), `lead` (their team's), `admin` (the organisation's,
and may change team settings). Nothing of an email is stored unless the team turned history
on; then each analysis keeps only its flagged sentences, masked (masking.py), with one masked
sentence of context on each side.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow

ROLES = ("member", "lead", "admin")
SOURCES = ("compose", "read")
FEEDBACK_KINDS = ("wrong", "ignored")
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650  # ten years: the bound the API, pages and CLI take


def flags(focus: str | None, tone: str | None) -> list[str]:
    """A sentence's flags from its labels: me_talk, and a desperate or threatening tone."""
    out = ["me_talk"] if focus == "me_talk" else []
    return out + ([tone] if tone in ("desperate", "threatening") else [])


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_teams_org_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    history_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_DAYS)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    org: Mapped[Organisation] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="member")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Bound at first sign-in: Microsoft's (tenant id, object id) and Google's subject.
    ms_tid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ms_oid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    google_sub: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # Raised to sign a user out everywhere (password change, role change, disable).
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    org: Mapped[Organisation] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")

    @property
    def label(self) -> str:
        return self.name or self.email


class Analysis(Base):
    """One analysis by a team member while the team's history was on (no text here)."""
    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64))
    email_focus: Mapped[str] = mapped_column(String(32))
    email_tone: Mapped[str] = mapped_column(String(32))
    sentences: Mapped[int] = mapped_column(Integer)        # the sender's own sentences analysed
    flagged: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the client's id for the email (a draft as it is written, a message as it is
    # read): a later analysis with the same key replaces this one rather than adding another.
    history_key: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_analyses_user_history_key", "user_id", "history_key"),)


class Sample(Base):
    """One flagged sentence of an analysis, masked, with its labels and scores."""
    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)          # index of the sentence in the email
    text: Mapped[str] = mapped_column(Text)                 # masked
    before: Mapped[str | None] = mapped_column(Text, nullable=True)   # masked context
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The context sentences' own labels ({"focus", "tone"}), so an export is a labelled email.
    before_labels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after_labels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    focus: Mapped[str] = mapped_column(String(32))
    tone: Mapped[str] = mapped_column(String(32))
    focus_score: Mapped[float] = mapped_column(Float)
    tone_score: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict] = mapped_column(JSON)              # {"focus": {...}, "tone": {...}}
    # Denormalised from the latest feedback, for filtering and export without a join.
    feedback: Mapped[str | None] = mapped_column(String(16), nullable=True)
    corrected_focus: Mapped[str | None] = mapped_column(String(32), nullable=True)
    corrected_tone: Mapped[str | None] = mapped_column(String(32), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def final_focus(self) -> str:
        return self.corrected_focus or self.focus

    @property
    def final_tone(self) -> str:
        return self.corrected_tone or self.tone

    @property
    def labels(self) -> list[str]:
        """The flags this sentence carries after corrections (me_talk / desperate / threatening)."""
        return flags(self.final_focus, self.final_tone)


class SampleFeedback(Base):
    """Every feedback given on a sample (the sample keeps the latest, denormalised)."""
    __tablename__ = "sample_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    focus: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
