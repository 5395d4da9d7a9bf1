"""The team API (API keys that belong to a user):

    GET   /v1/me                          who the key belongs to, their team and its settings
    POST  /v1/feedback                    a sample is wrong (with its right labels) or ignored
    GET   /v1/teams                       the teams the caller can see
    GET   /v1/teams/<id>                  one team
    PATCH /v1/teams/<id>                  history on/off, retention days (admins)
    GET   /v1/teams/<id>/samples          flagged samples, filtered and paged
    GET   /v1/samples/<id>                one sample
    GET   /v1/teams/<id>/trends           weekly shares per member and label, common phrasings
    GET   /v1/teams/<id>/export           ?format=csv|jsonl, streamed (leads and admins)
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, jsonify, request, stream_with_context
from sqlalchemy import select

from ..api import _auth_and_limits, json_body
from ..db import get_db, session
from ..errors import APIError
from ..schemas import team_settings
from . import access, export, feedback as feedback_mod, trends as trends_mod
from .identity import require_key_user
from .models import MAX_RETENTION_DAYS, Sample, Team, User
from .queries import SampleFilter, model_versions, page_of, sample_json

bp = Blueprint("team_api", __name__, url_prefix="/v1")


bp.before_request(_auth_and_limits)  # the same keys and rate limits as /v1/analyze


def team_json(team: Team) -> dict:
    return {"id": team.id, "name": team.name, "organisation": {"id": team.org_id, "name": team.org.name},
            "history_enabled": team.history_enabled, "retention_days": team.retention_days}


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "organisation": {"id": user.org_id, "name": user.org.name},
            "team": team_json(user.team) if user.team else None}


@bp.get("/me")
def me():
    return jsonify(user_json(require_key_user(session())))


def whole_number(value) -> int | None:
    """A JSON integer as JSON Schema counts them (1 and 1.0 alike); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@bp.post("/feedback")
def post_feedback():
    s = session()
    user = require_key_user(s)
    body = json_body()
    sample_id = whole_number(body.get("sample_id"))
    if sample_id is None:
        raise APIError(400, "missing_sample_id", "'sample_id' (a number from the analyze answer's "
                       "sentences[].sample_id) is required")
    for name in ("focus", "tone", "note"):
        if name in body and body[name] is None:  # leave it out rather than send null
            raise APIError(400, f"invalid_{name}", f"'{name}' may be left out but not null")
    sample = access.sample_for(s, user, sample_id)
    row = feedback_mod.give(s, user, sample, body.get("kind"), body.get("focus"), body.get("tone"),
                            body.get("note"))
    resp = jsonify({"id": row.id, "sample": sample_json(sample)})
    resp.status_code = 201
    return resp


@bp.get("/teams")
def teams():
    s = session()
    user = require_key_user(s)
    return jsonify({"teams": [team_json(t) for t in access.visible_teams(s, user)]})


@bp.get("/teams/<int:team_id>")
def team(team_id: int):
    s = session()
    user = require_key_user(s)
    return jsonify(team_json(access.team_for(s, user, team_id)))


def apply_settings(db_session, team: Team, body: dict) -> Team:
    """Change `team`'s settings as `body` says (checked by schemas.TeamSettings)."""
    for name, value in team_settings(body).items():
        setattr(team, name, value)
    db_session.commit()
    return team


@bp.patch("/teams/<int:team_id>")
def patch_team(team_id: int):
    s = session()
    user = require_key_user(s)
    team = access.team_for(s, user, team_id, need="manage")
    return jsonify(team_json(apply_settings(s, team, json_body())))


@bp.get("/teams/<int:team_id>/samples")
def samples(team_id: int):
    s = session()
    user = require_key_user(s)
    team = access.team_for(s, user, team_id)
    flt = SampleFilter.from_args(request.args)
    base = access.restrict_samples(select(Sample), user, team)
    rows, total = page_of(s, base, flt)
    return jsonify({"team": team_json(team), "total": total, "page": flt.page, "per_page": flt.per_page,
                    "model_versions": model_versions(s, base),
                    "samples": [sample_json(r) for r in rows]})


@bp.get("/samples/<int:sample_id>")
def sample(sample_id: int):
    s = session()
    user = require_key_user(s)
    return jsonify(sample_json(access.sample_for(s, user, sample_id)))


@bp.get("/teams/<int:team_id>/trends")
def team_trends(team_id: int):
    s = session()
    user = require_key_user(s)
    team = access.team_for(s, user, team_id)
    return jsonify(trends_mod.trends(s, user, team, weeks=trends_mod.parse_weeks(request.args.get("weeks"))))


def _own_session_stream(query, fmt: str):
    """Stream on a session of its own, closed (its transaction and server-side cursor ended)
    when the download ends or is cut off, whatever the request's own teardown did first."""
    s = get_db().sessions()
    try:
        yield from export.stream(s, query, fmt)
    finally:
        s.close()


def export_response(user, team, fmt: str, args) -> Response:
    if fmt not in export.FORMATS:
        raise APIError(400, "invalid_format", f"'format' must be csv or jsonl, got {fmt!r}")
    flt = SampleFilter.from_args(args)
    query = export.export_query(flt.apply(export.base_for(user, team)))
    stamp = dt.date.today().isoformat()
    name = f"pitchlint-{team.name.lower().replace(' ', '-')}-{stamp}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    resp = Response(stream_with_context(_own_session_stream(query, fmt)), mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/teams/<int:team_id>/export")
def team_export(team_id: int):
    s = session()
    user = require_key_user(s)
    team = access.team_for(s, user, team_id, need="export")
    return export_response(user, team, request.args.get("format", "csv"), request.args)
