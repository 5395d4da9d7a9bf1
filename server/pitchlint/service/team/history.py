"""Keep an analysis in the team's history: only when the member's team opted in, only the
flagged sentences of the sender's own text, and only masked."""
from __future__ import annotations

from .masking import Masker
from .models import Analysis, Sample, User


def _labels(sentence: dict) -> dict:
    return {"focus": sentence["focus"]["label"], "tone": sentence["tone"]["label"]}


def history_on(user: User | None) -> bool:
    return bool(user is not None and user.disabled_at is None and user.team is not None
                and user.team.history_enabled)


def record(db_session, user: User, answer: dict, mode: str, now=None) -> dict[int, int] | None:
    """Store `answer` (the analyze contract) for `user`; returns {sentence index: sample id}.

    Returns None (and stores nothing) when the user's team has history off. Quoted history and
    signatures are not the member's words and are not kept; the names they contain are still
    learnt by the masker, so they are masked wherever they turn up in what is kept.
    """
    if not history_on(user):
        return None
    sentences = answer["sentences"]
    own = [k for k, s in enumerate(sentences) if not s.get("quoted") and not s.get("signature")]
    if mode == "read":  # a recipient's view: the pitch may be quoted or forwarded
        own = [k for k, s in enumerate(sentences) if not s.get("signature")] or own
    flagged = [k for k in own if sentences[k]["flagged"]]
    masker = Masker.for_email(sentences)
    kw = {"created_at": now} if now is not None else {}
    analysis = Analysis(team_id=user.team_id, user_id=user.id, source=mode,
                        model_version=answer["model"]["version"],
                        email_focus=answer["focus"]["label"], email_tone=answer["tone"]["label"],
                        sentences=len(own), flagged=len(flagged), **kw)
    db_session.add(analysis)
    db_session.flush()
    rows: dict[int, Sample] = {}
    own_set = set(own)
    for k in flagged:
        s = sentences[k]
        before = k - 1 if k - 1 in own_set else None
        after = k + 1 if k + 1 in own_set else None
        focus, tone = s["focus"]["label"], s["tone"]["label"]
        rows[k] = Sample(
            analysis_id=analysis.id, team_id=user.team_id, user_id=user.id, source=mode,
            model_version=analysis.model_version, position=k, created_at=analysis.created_at,
            text=masker.mask(s["text"]),
            before=masker.mask(sentences[before]["text"]) if before is not None else None,
            after=masker.mask(sentences[after]["text"]) if after is not None else None,
            before_labels=_labels(sentences[before]) if before is not None else None,
            after_labels=_labels(sentences[after]) if after is not None else None,
            focus=focus, tone=tone,
            focus_score=float(s["focus"]["scores"][focus]), tone_score=float(s["tone"]["scores"][tone]),
            scores={"focus": s["focus"]["scores"], "tone": s["tone"]["scores"]},
        )
    db_session.add_all(rows.values())
    db_session.commit()
    return {k: row.id for k, row in rows.items()}
