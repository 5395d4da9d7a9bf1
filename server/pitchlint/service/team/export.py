"""Streaming exports of a team's samples: CSV for people, the GUIDE's JSON Lines for training
(`pitchlint train --extra`), feedback corrections applied. Rows are read from the database in
chunks and written as they come, so memory stays flat whatever the size of the export."""
from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from ...corpus import assemble
from .models import Sample, User

CHUNK = 1000
FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ["sample_id", "created_at", "member", "source", "model_version", "sentence",
               "context_before", "context_after", "focus", "tone", "focus_score", "tone_score",
               "feedback", "corrected_focus", "corrected_tone", "final_focus", "final_tone"]
GUIDE_SOURCE = {"compose": "outreach", "read": "incoming"}


def _columns():
    return (Sample.id, Sample.team_id, Sample.created_at, User.email, Sample.source,
            Sample.model_version, Sample.text, Sample.before, Sample.after, Sample.before_labels,
            Sample.after_labels, Sample.focus, Sample.tone, Sample.focus_score, Sample.tone_score,
            Sample.feedback, Sample.corrected_focus, Sample.corrected_tone)


def export_query(base):
    """`base` is a filtered select() over Sample; the export's columns, oldest first."""
    return (base.with_only_columns(*_columns()).join(User, User.id == Sample.user_id)
            .order_by(Sample.created_at, Sample.id))


def _rows(db_session, query):
    result = db_session.execute(query.execution_options(yield_per=CHUNK, stream_results=True))
    for part in result.partitions():
        yield from part


def _iso(ts) -> str:
    return ts.replace(microsecond=0).isoformat() + "Z"


def stream_csv(db_session, query):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for r in _rows(db_session, query):
        writer.writerow([r.id, _iso(r.created_at), r.email, r.source, r.model_version, r.text,
                         r.before or "", r.after or "", r.focus, r.tone, f"{r.focus_score:.4f}",
                         f"{r.tone_score:.4f}", r.feedback or "", r.corrected_focus or "",
                         r.corrected_tone or "", r.corrected_focus or r.focus, r.corrected_tone or r.tone])
        n += 1
        if n % 200 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def email_focus(sentence_focuses: list[str]) -> str:
    """The GUIDE's email focus: which story the pitch sentences tell (no pitch: customer_centric)."""
    me = sentence_focuses.count("me_talk")
    cc = sentence_focuses.count("customer_centric")
    return "me_talk" if me > cc else "customer_centric"


def guide_record(r) -> dict:
    """One sample as a GUIDE-format email: the sentence with its masked context around it."""
    target = (r.text, {"focus": r.corrected_focus or r.focus, "tone": r.corrected_tone or r.tone})
    parts = [p for p in ((r.before, r.before_labels), target, (r.after, r.after_labels)) if p[0]]
    labelled = [(text, (labels or {}).get("focus", "other"), (labels or {}).get("tone", "neutral"))
                for text, labels in parts]
    rec = assemble({  # the corpus's own raw -> GUIDE assembly: exact offsets, one space between
        "id": f"team-{r.team_id}-sample-{r.id}", "source": GUIDE_SOURCE.get(r.source, "outreach"),
        "subject": "", "focus": email_focus([focus for _, focus, _ in labelled]),
        "tone": {tone for _, _, tone in labelled},  # assemble keeps the flags, in the GUIDE's order
        "parts": [(text, focus, tone, " " if k < len(labelled) - 1 else "")
                  for k, (text, focus, tone) in enumerate(labelled)]})
    return {
        **rec,
        "pitchlint": {"sample_id": r.id, "team_id": r.team_id, "target": 1 if r.before else 0,
                      "corrected": bool(r.corrected_focus or r.corrected_tone), "feedback": r.feedback,
                      "model_version": r.model_version, "created_at": _iso(r.created_at),
                      "member": r.email},
    }


def stream_jsonl(db_session, query):
    lines = []
    for r in _rows(db_session, query):
        lines.append(json.dumps(guide_record(r), ensure_ascii=False))
        if len(lines) >= 200:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def stream(db_session, query, fmt: str):
    return stream_csv(db_session, query) if fmt == "csv" else stream_jsonl(db_session, query)


def base_for(user, team):
    from .access import restrict_samples

    return restrict_samples(select(Sample), user, team)
