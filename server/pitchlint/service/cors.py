"""CORS for an allowlist of origins (the browser extension, the add-in); nobody else."""
from __future__ import annotations

import fnmatch

from flask import request

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def origin_allowed(origin: str, allowlist: list[str]) -> bool:
    # Entries are exact origins, or patterns such as "chrome-extension://*".
    return any(origin == a or ("*" in a and fnmatch.fnmatchcase(origin, a)) for a in allowlist)


def init_app(app) -> None:
    @app.after_request
    def _cors(resp):
        origin = request.headers.get("Origin")
        if origin and origin_allowed(origin, app.config.get("CORS_ORIGINS") or []):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            resp.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            resp.headers["Access-Control-Max-Age"] = "600"
            resp.headers.add("Vary", "Origin")
        return resp
