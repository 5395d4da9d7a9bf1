"""The /v1 API: analyze (one email or a batch) and the model's description."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request

from ..model.errors import AnalyzeError
from . import metrics, schemas
from .errors import APIError
from .keys import authenticate
from .model import get_analyzer

bp = Blueprint("api", __name__, url_prefix="/v1")


@bp.before_request
def _auth_and_limits():
    if request.method == "OPTIONS":
        return None
    identity = authenticate()
    current_app.extensions["pitchlint_limiter"].check(identity)
    refuse_repeated_parameters()
    return None


def refuse_repeated_parameters() -> None:
    """Every query parameter the API documents is one value: a repeated one is refused rather
    than read as its first value (API fuzzing found `?page=1&page=x` answered as page 1)."""
    for name in request.args:
        count = len(request.args.getlist(name))
        if count > 1:
            raise APIError(400, "repeated_parameter", f"the query parameter {name!r} is given "
                           f"{count} times; give it once")


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
                       f"{schemas.json_type(body)}")
    return body


def validate_item(item) -> dict:
    """The analyze request fields, checked against schemas.AnalyzeRequest (the same description
    /openapi.json gives); raises APIError naming the problem."""
    return schemas.analyze_item(item, current_app.config["MAX_TEXT_CHARS"])


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
