"""Probes for load balancers: /healthz (process up) and /readyz (model loaded, database reachable)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .db import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {}
    an = current_app.extensions.get("pitchlint_analyzer")
    checks["model"] = f"{an.name} {an.version}" if an else "not loaded"
    try:
        get_db().ping()
        checks["database"] = "ok"
    except Exception as e:  # any driver error means not ready
        checks["database"] = f"unreachable: {type(e).__name__}"
    ready = an is not None and checks["database"] == "ok"
    resp = jsonify({"status": "ready" if ready else "not_ready", "checks": checks})
    resp.status_code = 200 if ready else 503
    return resp
