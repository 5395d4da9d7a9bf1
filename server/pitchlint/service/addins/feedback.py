"""Feedback on one sentence ("this highlight is wrong"), all the add-ins store by themselves
(team history, when a team turns it on, is kept by service/team/history.py).

Stored only when the user presses the feedback button: a hash of the sentence (to match it
again) and the sentence with email addresses, phone numbers and URLs masked; never the email.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..team.masking import EMAIL, PHONE, URL

SOURCES = ("gmail", "outlook")
LABELS = ("me_talk", "desperate", "threatening")
KINDS = ("wrong", "right")
MAX_SENTENCE_CHARS = 2000



class SentenceFeedback(Base):
    __tablename__ = "sentence_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    sentence_hash: Mapped[str] = mapped_column(String(64), index=True)
    masked_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    label: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))


def normalise(sentence: str) -> str:
    return " ".join(unicodedata.normalize("NFC", sentence).split())


def sentence_hash(sentence: str) -> str:
    return hashlib.sha256(normalise(sentence).encode("utf-8")).hexdigest()


def mask(sentence: str) -> str:
    out = EMAIL.sub("[email]", normalise(sentence))
    out = URL.sub("[url]", out)  # every link, not only those with tokens: a sentence alone says little
    return PHONE.sub("[phone]", out)


def record(db_session, source: str, sentence: str, label: str, kind: str) -> SentenceFeedback:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not sentence.strip():
        raise ValueError("the sentence is empty")
    sentence = sentence[:MAX_SENTENCE_CHARS]
    row = SentenceFeedback(created_at=utcnow(), source=source, sentence_hash=sentence_hash(sentence),
                           masked_text=mask(sentence), label=label, kind=kind)
    db_session.add(row)
    db_session.commit()
    return row
