"""The /v1 API: analyze (one email or a batch) and the model's description."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request

from .. import sizes
from ..model.errors import AnalyzeError
from . import metrics
from .errors import APIError
from .keys import authenticate
from .model import get_analyzer

bp = Blueprint("api", __name__, url_prefix="/v1")
MODES = ("compose", "read")


@bp.before_request
def _auth_and_limits():
    if request.method == "OPTIONS":
        return None
    identity = authenticate()
    current_app.extensions["pitchlint_limiter"].check(identity)
    return None


def json_body() -> dict:
    if request.mimetype != "application/json":
        got = request.content_type or "no Content-Type"
        raise APIError(415, "unsupported_media_type",
                       f"send the body as JSON with 'Content-Type: application/json' (got {got})")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise APIError(400, "missing_body", "the request has no body; send a JSON object "
                       "such as {\"text\": \"...\"}")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise APIError(400, "invalid_utf8", f"the body is not valid UTF-8 (bad byte at position "
                       f"{e.start})") from None
    try:
        body = json.loads(decoded)
    except ValueError as e:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise APIError(400, "invalid_body", f"the body must be a JSON object, got "
                       f"{_json_type(body)}")
    return body


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


MAX_HISTORY_KEY = 1000  # ids are hashed before they are stored; Outlook's item ids are long


def validate_item(item) -> dict:
    """The analyze request fields, checked; raises APIError naming the problem."""
    if not isinstance(item, dict):
        raise APIError(400, "invalid_item", f"each email must be a JSON object, got {_json_type(item)}")
    if "text" not in item:
        raise APIError(400, "missing_text", "the field 'text' is required (the email body as plain text)")
    text = item["text"]
    if not isinstance(text, str):
        raise APIError(400, "invalid_text", f"'text' must be a string, got {_json_type(text)}")
    limit = current_app.config["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise APIError(413, "text_too_long", f"text is {len(text):,} characters; the limit is {limit:,}")
    subject = item.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise APIError(400, "invalid_subject", f"'subject' must be a string, got {_json_type(subject)}")
    if subject and len(subject) > sizes.MAX_SUBJECT_CHARS:
        raise APIError(413, "subject_too_long", sizes.too_long("subject", len(subject), sizes.MAX_SUBJECT_CHARS))
    mode = item.get("mode", "compose")
    if mode not in MODES:
        raise APIError(400, "invalid_mode", f"'mode' must be 'compose' or 'read', got {json.dumps(mode)}")
    out = {"text": text, "subject": subject, "mode": mode}
    history_key = item.get("history_key")
    if history_key is not None:
        if not isinstance(history_key, str) or not 1 <= len(history_key) <= MAX_HISTORY_KEY:
            raise APIError(400, "invalid_history_key", f"'history_key' must be a string of 1 to "
                           f"{MAX_HISTORY_KEY} characters (an id of the email being written or read)")
        out["history_key"] = history_key
    return out


def analyze_items(analyzer, items: list[dict]) -> list[dict]:
    """The analyzer's answers to `items`, timed and counted for /metrics."""
    with metrics.model_call(analyzer, len(items)) as seen:
        answers = analyzer.analyze_batch(items)
        seen["sentences"] = sum(len(a["sentences"]) for a in answers)
    return answers


def _analyze_one(item: dict) -> dict:
    try:
        return analyze_items(get_analyzer(), [item])[0]
    except AnalyzeError as e:
        raise APIError(400, e.code, e.message) from None


def user_for_history(db_session):
    """The Pitchlint user behind the request: the owner of its API key, or the Microsoft account
    (Outlook add-in sign-in) that user bound at a web sign-in. None: nobody to keep history for."""
    from .team.identity import key_user, user_by_microsoft

    addin_user = g.get("addin_user")
    if addin_user is not None:
        user = user_by_microsoft(db_session, addin_user.tenant_id, addin_user.object_id)
        return user if user is not None and user.disabled_at is None else None
    return key_user(db_session)


def keep_history(answers: list[dict], items: list[dict]) -> None:
    """When the key's user is on a team with history on, keep the flagged sentences (masked)
    and tell the caller: `history.kept` and each kept sentence's `sample_id` (for feedback)."""
    from .db import session

    from sqlalchemy.exc import SQLAlchemyError

    from .db import discard, get_db

    key = g.get("api_key")
    if g.get("addin_user") is None and (key is None or key.user_id is None):
        return  # nobody's history: no database work on the analyze path
    db = get_db()
    if not db.available():  # it failed a moment ago: answer now rather than wait on it
        _storage_failed(answers)
        return
    s = session()
    try:
        keep_history_for(s, user_for_history(s), answers, items)
    except SQLAlchemyError as e:  # the analysis is still the answer; history waits for the database
        discard(s)
        db.failed()
        current_app.logger.warning("team history not kept: the database is unreachable (%s)",
                                   type(e).__name__)
        _storage_failed(answers)


def _storage_failed(answers: list[dict]) -> None:
    failed = [a for a in answers if not a.get("history", {}).get("kept")]  # kept ones stay kept
    metrics.history_writes(len(failed), failed=True)
    for a in failed:
        a["history"] = {"kept": False, "error": "storage_failed"}


def keep_history_for(s, user, answers: list[dict], items: list[dict]) -> None:
    """Keep `answers` in `user`'s team history when it is on (user None: nobody's history)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .team.history import history_on, record

    if user is None:
        return
    if not history_on(user):
        for a in answers:
            a["history"] = {"kept": False}
        return
    for a, item in zip(answers, items):
        try:
            ids = record(s, user, a, item["mode"], history_key=item.get("history_key"))
        except SQLAlchemyError:
            raise  # the database itself: keep_history answers storage_failed for the rest too
        except Exception:  # the analysis is still the answer; a storage failure is logged
            s.rollback()
            current_app.logger.exception("could not keep an analysis in the team's history")
            metrics.history_writes(1, failed=True)
            a["history"] = {"kept": False, "error": "storage_failed"}
            continue
        metrics.history_writes(1, failed=False)
        a["history"] = {"kept": True, "samples": len(ids)}
        for k, sample_id in ids.items():
            a["sentences"][k]["sample_id"] = sample_id


@bp.post("/analyze")
def analyze():
    item = validate_item(json_body())
    answer = _analyze_one(item)
    keep_history([answer], [item])
    return jsonify(answer)


@bp.post("/analyze/batch")
def analyze_batch():
    body = json_body()
    emails = body.get("emails")
    if not isinstance(emails, list):
        raise APIError(400, "invalid_batch", "the body must be {\"emails\": [ {\"text\": ...}, ... ]}")
    limit = current_app.config["MAX_BATCH"]
    if len(emails) > limit:
        raise APIError(413, "batch_too_large", f"the batch has {len(emails)} emails; the limit is {limit}")
    results: list = [None] * len(emails)
    good = []
    for i, raw in enumerate(emails):
        ident = raw.get("id") if isinstance(raw, dict) else None
        try:
            good.append((i, ident, validate_item(raw)))
        except APIError as e:
            results[i] = {"id": ident, "error": {"code": e.code, "message": e.message}}
    # The answer's size follows the text's (an answer per sentence), so a batch is bounded by
    # its total text as well as by its count.
    total = sum(len(item["text"]) for _, _, item in good)
    limit = current_app.config["MAX_BATCH_CHARS"]
    if total > limit:
        raise APIError(413, "batch_too_large", f"the batch holds {total:,} characters of text; the "
                       f"limit is {limit:,} (send fewer or shorter emails per request)")
    analyzer = get_analyzer()
    try:
        answers = analyze_items(analyzer, [item for _, _, item in good])
        for (i, ident, _), a in zip(good, answers):
            results[i] = {"id": ident, **a}
    except AnalyzeError:
        for i, ident, item in good:  # one bad item: answer each on its own
            try:
                results[i] = {"id": ident, **analyze_items(analyzer, [item])[0]}
            except AnalyzeError as e:
                results[i] = {"id": ident, "error": {"code": e.code, "message": e.message}}
    done = [(results[i], item) for i, _, item in good if "error" not in results[i]]
    keep_history([r for r, _ in done], [item for _, item in done])
    for r in results:
        if r.get("id") is None:
            r.pop("id")
    return jsonify({"model": analyzer.model_info, "results": results})


@bp.get("/model")
def model():
    an = get_analyzer()
    cfg = an.config
    metrics = cfg.get("metrics", {})
    return jsonify({
        "name": an.name,
        "version": an.version,
        "base_encoder": cfg.get("base_encoder"),
        "labels": {"sentence_focus": an.focus_labels, "email_focus": an.email_labels,
                   "tone": an.tone_labels},
        "thresholds": cfg.get("thresholds", {}),
        "calibration": cfg.get("calibration", {}),
        "metrics": {name: m.get("headline") for name, m in metrics.items()},
    })
