"""The sample filters shared by the API, the pages and the CLI (member, label, source, date
range, model version), with paging."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..errors import APIError
from .models import SOURCES, Sample, User

LABELS = ("me_talk", "desperate", "threatening")
MAX_PER_PAGE = 200
MAX_PAGE = 10**6
MAX_MEMBER_ID = 2**31 - 1  # the databases' INTEGER


def final_focus():
    return func.coalesce(Sample.corrected_focus, Sample.focus)


def final_tone():
    return func.coalesce(Sample.corrected_tone, Sample.tone)


def _date(name: str, raw: str | None) -> dt.date | None:
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise APIError(400, "invalid_filter", f"'{name}' must be a date as YYYY-MM-DD, got {raw!r}") from None


def _int(name: str, raw, default: int, lo: int, hi: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise APIError(400, "invalid_filter", f"'{name}' must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise APIError(400, "invalid_filter", f"'{name}' must be between {lo} and {hi}, got {value}")
    return value


@dataclass
class SampleFilter:
    member: int | None = None       # user id
    label: str | None = None        # me_talk / desperate / threatening
    source: str | None = None       # compose / read
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    model_version: str | None = None
    feedback: str | None = None     # wrong / ignored / none
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args) -> "SampleFilter":
        label = args.get("label") or None
        if label is not None and label not in LABELS:
            raise APIError(400, "invalid_filter", f"'label' must be one of {', '.join(LABELS)}, got {label!r}")
        source = args.get("source") or None
        if source is not None and source not in SOURCES:
            raise APIError(400, "invalid_filter", f"'source' must be one of {', '.join(SOURCES)}, got {source!r}")
        feedback = args.get("feedback") or None
        if feedback is not None and feedback not in ("wrong", "ignored", "none"):
            raise APIError(400, "invalid_filter", f"'feedback' must be wrong, ignored or none, got {feedback!r}")
        f = cls(member=_int("member", args.get("member"), 0, 0, MAX_MEMBER_ID) or None, label=label,
                source=source, date_from=_date("from", args.get("from")),
                date_to=_date("to", args.get("to")), model_version=args.get("model_version") or None,
                feedback=feedback, page=_int("page", args.get("page"), 1, 1, MAX_PAGE),
                per_page=_int("per_page", args.get("per_page"), 50, 1, MAX_PER_PAGE))
        return f  # 'from' after 'to' is an empty range: nothing matches (the page says why)

    @property
    def reversed_range(self) -> bool:
        return bool(self.date_from and self.date_to and self.date_from > self.date_to)

    def apply(self, query):
        if self.member:
            query = query.where(Sample.user_id == self.member)
        if self.label == "me_talk":
            query = query.where(final_focus() == "me_talk")
        elif self.label:
            query = query.where(final_tone() == self.label)
        if self.source:
            query = query.where(Sample.source == self.source)
        if self.date_from:
            query = query.where(Sample.created_at >= dt.datetime.combine(self.date_from, dt.time()))
        if self.date_to:
            query = query.where(Sample.created_at < dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time()))
        if self.model_version:
            query = query.where(Sample.model_version == self.model_version)
        if self.feedback == "none":
            query = query.where(Sample.feedback.is_(None))
        elif self.feedback:
            query = query.where(Sample.feedback == self.feedback)
        return query

    def query_args(self, **changes) -> dict:
        """The filter as query-string arguments (for page links), without empty values."""
        values = {"member": self.member, "label": self.label, "source": self.source,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None,
                  "model_version": self.model_version, "feedback": self.feedback,
                  "page": self.page if self.page != 1 else None,
                  "per_page": self.per_page if self.per_page != 50 else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def page_of(db_session, base, flt: SampleFilter) -> tuple[list[Sample], int]:
    """(the page's samples, newest first; the total count) of `base` (a select over Sample)."""
    q = flt.apply(base)
    total = db_session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = list(db_session.scalars(q.order_by(Sample.created_at.desc(), Sample.id.desc())
                                   .limit(flt.per_page).offset((flt.page - 1) * flt.per_page)))
    return rows, total


def model_versions(db_session, base) -> list[str]:
    sub = base.with_only_columns(Sample.model_version).distinct()
    return sorted({v for v in db_session.scalars(sub)}, reverse=True)


def sample_json(s: Sample, user: User | None = None) -> dict:
    u = user or s.user
    return {
        "id": s.id, "team_id": s.team_id, "analysis_id": s.analysis_id,
        "member": {"id": u.id, "email": u.email, "name": u.name} if u else {"id": s.user_id},
        "created_at": s.created_at.replace(microsecond=0).isoformat() + "Z",
        "source": s.source, "model_version": s.model_version,
        "text": s.text, "context": {"before": s.before, "after": s.after},
        "focus": {"label": s.focus, "score": s.focus_score},
        "tone": {"label": s.tone, "score": s.tone_score},
        "scores": s.scores, "labels": s.labels,
        "feedback": {"kind": s.feedback, "focus": s.corrected_focus, "tone": s.corrected_tone}
        if s.feedback else None,
    }


__all__ = ["LABELS", "SampleFilter", "final_focus", "final_tone", "model_versions", "page_of",
           "sample_json"]
