"""One JSON error shape for the whole service: {"error": {"code", "message"}}."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

# Stable codes for the HTTP errors that Flask/Werkzeug raise on their own.
_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
    429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def init_app(app):
    @app.errorhandler(APIError)
    def _api_error(e: APIError):
        return error_response(e.status, e.code, e.message, e.headers)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = e.description or e.name
        if status == 404:
            from flask import request

            message = f"no such endpoint: {request.method} {request.path}"
        elif status == 405:
            from flask import request

            allowed = ", ".join(sorted(e.valid_methods or [])) if hasattr(e, "valid_methods") else ""
            message = f"{request.method} is not allowed on {request.path}" + (f"; use {allowed}" if allowed else "")
        elif status == 413:
            message = (f"request body is larger than the limit of "
                       f"{app.config['MAX_BODY_BYTES']:,} bytes")
        headers = {}
        if status == 405 and getattr(e, "valid_methods", None):
            headers["Allow"] = ", ".join(e.valid_methods)
        return error_response(status, code, message, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "the service hit an unexpected error; "
                              "it has been logged")
