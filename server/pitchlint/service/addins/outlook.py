"""The Outlook add-in: its web files (task panes, the Smart Alerts handler) and its API.

    GET  /addin/outlook/<file>            the add-in's pages, scripts and icons (addin/outlook/)
    GET  /addin/outlook/launchevent.js    the OnMessageSend handler as one script (the classic
                                          Windows client loads a single file, no modules)
    POST /addin/outlook/api/analyze       the analyze contract, signed in with Office SSO or a key
    POST /addin/outlook/api/feedback      "this highlight is not right" on one sentence (stored)
    GET  /addin/outlook/api/me            who the service thinks is signed in
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, jsonify, request, send_from_directory

from ..api import _analyze_one, json_body, keep_history, validate_item
from ..db import session
from ..errors import APIError
from . import feedback
from .auth import authenticate_outlook

bp = Blueprint("outlook_addin", __name__, url_prefix="/addin/outlook")

# What may be served: the pages, the plain-module sources and the icons; nothing else in the
# folder (tests, node_modules, package files) is reachable.
_PAGES = {"taskpane.html", "readpane.html", "commands.html", "taskpane.css"}
_DIRS = {"src", "assets"}
_SUFFIXES = {".js", ".png", ".svg", ".css", ".html"}
# The handler's dependencies first; each module also attaches itself to the global object.
LAUNCHEVENT_MODULES = ["src/owntext.js", "src/report.js", "src/client.js", "src/office.js",
                       "src/onsend.js"]


def _addin_dir() -> Path:
    return Path(current_app.config["OUTLOOK_ADDIN_DIR"])


def _service_url() -> str:
    return current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")


@bp.get("/launchevent.js")
def launchevent():
    root = _addin_dir()
    parts = [f"/* Pitchlint Smart Alerts handler: {', '.join(LAUNCHEVENT_MODULES)} */",
             f"var PITCHLINT_SERVICE_URL = {json.dumps(_service_url())};"]
    for rel in LAUNCHEVENT_MODULES:
        path = root / rel
        if not path.is_file():
            abort(404)
        parts.append(f"/* --- {rel} --- */\n" + path.read_text(encoding="utf-8"))
    resp = Response("\n".join(parts), mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/config.js")
def config_js():
    body = f"var PITCHLINT_SERVICE_URL = {json.dumps(_service_url())};\n"
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get("/<path:name>")
def static_file(name: str):
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        abort(404)
    allowed = (len(rel.parts) == 1 and name in _PAGES) or \
              (len(rel.parts) == 2 and rel.parts[0] in _DIRS and rel.suffix in _SUFFIXES)
    if not allowed:
        abort(404)
    resp = send_from_directory(_addin_dir(), name, max_age=0)
    # No frame-ancestors list: Outlook frames the panes from more origins than it documents,
    # and a pane it may not frame is a blank pane.
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.before_request
def _auth():
    if request.method == "OPTIONS" or not request.path.startswith(bp.url_prefix + "/api/"):
        return None
    authenticate_outlook()
    return None


@bp.post("/api/analyze")
def analyze():
    item = validate_item(json_body())
    answer = _analyze_one(item)
    keep_history([answer], [item])  # when the signed-in user's team keeps history
    return jsonify(answer)


@bp.post("/api/feedback")
def feedback_action():
    body = json_body()
    sentence, label, kind = body.get("sentence"), body.get("label"), body.get("kind", "wrong")
    if not all(isinstance(v, str) for v in (sentence, label, kind)):
        raise APIError(400, "invalid_feedback", "send {\"sentence\": \"...\", \"label\": \"desperate\", "
                       "\"kind\": \"wrong\"} with string values")
    try:
        row = feedback.record(session(), "outlook", sentence, label, kind)
    except ValueError as e:
        raise APIError(400, "invalid_feedback", str(e)) from None
    resp = jsonify({"stored": True, "id": row.id})
    resp.status_code = 201
    return resp


@bp.get("/api/me")
def me():
    user = g.get("addin_user")
    if user is not None:
        return jsonify({"signed_in_with": "microsoft", "name": user.name, "username": user.username,
                        "tenant_id": user.tenant_id})
    key = g.get("api_key")
    if key is not None:
        return jsonify({"signed_in_with": "api_key", "name": key.name})
    return jsonify({"signed_in_with": None, "name": None})


def init_app(app) -> None:
    app.register_blueprint(bp)
