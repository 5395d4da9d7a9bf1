"""Inbox triage's tables: connected mailboxes and one row per message seen.

Nothing of a message's text is stored: a message row holds the provider's id for it, where its
triage stands, the labels applied (or why it was skipped), the model version and times.
A mailbox's refresh token is kept encrypted (crypto.py) with a key from the settings.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow

PROVIDERS = ("gmail", "outlook")
# The labels a user may choose, in the order pages show them; the name is the same in Gmail
# (under "Pitchlint/") and in Outlook (a category "Pitchlint: ...").
LABELS = {"me_talk": "Me-talk", "desperate": "Desperate", "threatening": "Threatening",
          "reader_centred": "Reader-centred"}
DEFAULT_LABELS = ("me_talk", "desperate", "threatening")
DEFAULT_MIN_CONFIDENCE = 0.5

# Mailbox status
ACTIVE, RECONNECT, PAUSED = "active", "reconnect", "paused"
# Message states: queued -> working -> labelled | skipped | gone
QUEUED, WORKING, LABELLED, SKIPPED, GONE = "queued", "working", "labelled", "skipped", "gone"
DONE_STATES = (LABELLED, SKIPPED, GONE)


class Mailbox(Base):
    __tablename__ = "triage_mailboxes"
    __table_args__ = (UniqueConstraint("user_id", "provider", "address", name="uq_triage_mailbox"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    refresh_token: Mapped[str] = mapped_column(Text)           # encrypted (crypto.py)
    # Gmail: the historyId synced up to; Outlook: the delta link. None: not synced yet.
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    label_ids: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # Gmail label ids by key
    labels: Mapped[str] = mapped_column(String(100), default=",".join(DEFAULT_LABELS))
    min_confidence: Mapped[float] = mapped_column(Float, default=DEFAULT_MIN_CONFIDENCE)
    label_own_domain: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill_days: Mapped[int] = mapped_column(Integer, default=7)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)     # in plain words
    error_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    backoff_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    watch_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def chosen_labels(self) -> list[str]:
        return [k for k in (self.labels or "").split(",") if k in LABELS]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


class TriagedMessage(Base):
    __tablename__ = "triage_messages"
    __table_args__ = (UniqueConstraint("mailbox_id", "message_id", name="uq_triage_message"),
                      Index("ix_triage_messages_state", "state", "lease_until"),
                      Index("ix_triage_messages_done", "mailbox_id", "done_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("triage_mailboxes.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    labels: Mapped[str | None] = mapped_column(String(100), nullable=True)   # keys, comma-separated
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)    # why skipped
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)     # the job it is in
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def label_keys(self) -> list[str]:
        return [k for k in (self.labels or "").split(",") if k]
