"""Keep an analysis in the team's history: only when the member's team opted in, only the
flagged sentences of the sender's own text, and only masked."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from ..db import utcnow
from .masking import Masker
from .models import Analysis, Sample, User


def _labels(sentence: dict) -> dict:
    return {"focus": sentence["focus"]["label"], "tone": sentence["tone"]["label"]}


def history_on(user: User | None) -> bool:
    return bool(user is not None and user.disabled_at is None and user.team is not None
                and user.team.history_enabled)


def key_digest(history_key: str | None, mode: str, own_text: str) -> str | None:
    """What is stored of the client's email id: its SHA-256, per source. A message read without
    a key is keyed by its own text, so reading it again is not a second analysis."""
    if history_key is None and mode == "read":
        history_key = "text:" + own_text
    if history_key is None:
        return None
    return hashlib.sha256(f"{mode}\n{history_key}".encode("utf-8")).hexdigest()


def record(db_session, user: User, answer: dict, mode: str, now=None,
           history_key: str | None = None) -> dict[int, int] | None:
    """Store `answer` (the analyze contract) for `user`; returns {sentence index: sample id}.

    Returns None (and stores nothing) when the user's team has history off. Quoted history and
    signatures are not the member's words and are not kept; the names they contain are still
    learnt by the masker, so they are masked wherever they turn up in what is kept.

    With a `history_key` (the client's id of the email: a draft re-analysed as it is written,
    a message opened again), the member's earlier analysis of that email is replaced: a flagged
    sentence that is still there keeps its sample (its id and any feedback), one that is gone
    is dropped unless it has feedback, and new ones are added.
    """
    if not history_on(user):
        return None
    sentences = answer["sentences"]
    own = [k for k, s in enumerate(sentences) if not s.get("quoted") and not s.get("signature")]
    if mode == "read":  # a recipient's view: the pitch may be quoted or forwarded
        own = [k for k, s in enumerate(sentences) if not s.get("signature")] or own
    flagged = [k for k in own if sentences[k]["flagged"]]
    masker = Masker.for_email(sentences)
    when = now if now is not None else utcnow()
    digest = key_digest(history_key, mode, "\n".join(sentences[k]["text"] for k in own))
    analysis = None
    if digest is not None:
        analysis = db_session.scalars(select(Analysis).where(
            Analysis.user_id == user.id, Analysis.history_key == digest)).first()
    earlier: dict[str, list[Sample]] = {}  # the replaced analysis's samples, by masked text
    if analysis is None:
        analysis = Analysis(team_id=user.team_id, user_id=user.id, source=mode, history_key=digest)
        db_session.add(analysis)
    else:
        for old in db_session.scalars(select(Sample).where(Sample.analysis_id == analysis.id)
                                      .order_by(Sample.id)):
            earlier.setdefault(old.text, []).append(old)
    analysis.created_at, analysis.model_version = when, answer["model"]["version"]
    analysis.email_focus, analysis.email_tone = answer["focus"]["label"], answer["tone"]["label"]
    analysis.sentences, analysis.flagged = len(own), len(flagged)
    db_session.flush()
    rows: dict[int, Sample] = {}
    own_set = set(own)
    for k in flagged:
        s = sentences[k]
        before = k - 1 if k - 1 in own_set else None
        after = k + 1 if k + 1 in own_set else None
        focus, tone = s["focus"]["label"], s["tone"]["label"]
        text = masker.mask(s["text"])
        same = earlier.get(text)
        row = same.pop(0) if same else Sample(analysis_id=analysis.id, team_id=user.team_id,
                                              user_id=user.id, source=mode)
        row.model_version, row.position, row.created_at, row.text = analysis.model_version, k, when, text
        row.before = masker.mask(sentences[before]["text"]) if before is not None else None
        row.after = masker.mask(sentences[after]["text"]) if after is not None else None
        row.before_labels = _labels(sentences[before]) if before is not None else None
        row.after_labels = _labels(sentences[after]) if after is not None else None
        row.focus, row.tone = focus, tone
        row.focus_score = float(s["focus"]["scores"][focus])
        row.tone_score = float(s["tone"]["scores"][tone])
        row.scores = {"focus": s["focus"]["scores"], "tone": s["tone"]["scores"]}
        rows[k] = row
    for gone in (old for same in earlier.values() for old in same):
        if gone.feedback is None:  # edited away before anyone said anything about it
            db_session.delete(gone)
    db_session.add_all(rows.values())
    db_session.commit()
    return {k: row.id for k, row in rows.items()}
