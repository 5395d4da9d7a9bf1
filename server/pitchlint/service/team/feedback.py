"""Feedback on a kept sample: "wrong" (with the labels it should have) or "ignored"."""
from __future__ import annotations

from ...labels import SENTENCE_FOCUS, TONES
from ..db import utcnow
from ..errors import APIError
from .models import FEEDBACK_KINDS, Sample, SampleFeedback, User

MAX_NOTE = 2000
PRESSURE_NEVER_OTHER = ("pressure is never 'other' (the GUIDE): a desperate or threatening sentence "
                        "is about what the sender wants, so its focus is me_talk (or "
                        "customer_centric when it rests on the reader's own situation)")


def give(db_session, user: User, sample: Sample, kind, focus=None, tone=None, note=None) -> SampleFeedback:
    if kind not in FEEDBACK_KINDS:
        raise APIError(400, "invalid_kind", f"'kind' must be 'wrong' or 'ignored', got {kind!r}")
    for name, value, allowed in (("focus", focus, SENTENCE_FOCUS), ("tone", tone, TONES)):
        if value is not None and value not in allowed:
            raise APIError(400, f"invalid_{name}", f"'{name}' must be one of {', '.join(allowed)}, "
                           f"got {value!r}")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise APIError(400, "invalid_note", f"'note' must be a string of at most {MAX_NOTE} characters")
    if kind == "wrong":
        if focus is None and tone is None:
            raise APIError(400, "missing_correction", "say what the sentence should be: give "
                           "'focus' (me_talk, customer_centric, other) and/or 'tone' "
                           "(desperate, threatening, neutral)")
        # 400: the request alone is wrong; 409: it conflicts with the sample's own labels.
        if (focus or sample.focus) == sample.focus and (tone or sample.tone) == sample.tone:
            raise APIError(409, "same_labels", f"the model already said focus={sample.focus}, "
                           f"tone={sample.tone}; a correction must change at least one")
        if focus == "other" and tone in ("desperate", "threatening"):
            raise APIError(400, "pressure_never_other", PRESSURE_NEVER_OTHER)
        if (tone or sample.tone) != "neutral" and (focus or sample.focus) == "other":
            raise APIError(409, "pressure_never_other", PRESSURE_NEVER_OTHER + f" (this sample "
                           f"is focus={sample.focus}, tone={sample.tone})")
    elif focus is not None or tone is not None:
        raise APIError(400, "unexpected_labels", "'ignored' takes no labels; use kind 'wrong' to correct")
    row = SampleFeedback(sample_id=sample.id, user_id=user.id, created_at=utcnow(), kind=kind,
                         focus=focus, tone=tone, note=note)
    db_session.add(row)
    sample.feedback = kind
    if kind == "wrong":  # "ignored" leaves an earlier correction in place: nothing is lost
        sample.corrected_focus = focus if focus not in (None, sample.focus) else None
        sample.corrected_tone = tone if tone not in (None, sample.tone) else None
    db_session.commit()
    return row
