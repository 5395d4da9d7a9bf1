"""Probes for load balancers: /healthz (process up) and /readyz (can it answer analyze?).

/readyz is 200 "ready" when everything works, 200 "degraded" when analyze still answers but a
part it leans on is down (the database: team history is not kept and keys this process has
not seen are refused; Redis: rate limits are counted per worker), with the reasons, and 503
"not_ready" only when the model is not loaded (nothing can be answered).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .db import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks, reasons = {}, []
    an = current_app.extensions.get("pitchlint_analyzer")
    checks["model"] = f"{an.name} {an.version}" if an else "not loaded"
    try:
        get_db().ping()
        checks["database"] = "ok"
    except Exception as e:  # any driver error means unreachable
        checks["database"] = f"unreachable: {type(e).__name__}"
        reasons.append("database unreachable: team history is not kept and API keys this "
                       "process has not checked before are refused (503)")
    limiter = current_app.extensions["pitchlint_limiter"]
    checks["rate_limits"] = limiter.state()
    if checks["rate_limits"].startswith("per worker"):
        reasons.append("Redis unreachable: rate limits are counted by each worker on its own")
    if an is None:
        status = "not_ready"
    else:
        status = "degraded" if reasons else "ready"
    body = {"status": status, "checks": checks}
    if reasons:
        body["reasons"] = reasons
    resp = jsonify(body)
    resp.status_code = 503 if status == "not_ready" else 200
    return resp
