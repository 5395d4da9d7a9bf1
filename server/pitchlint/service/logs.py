"""Structured logs: one JSON object a line on standard output, one line per request.

Every request gets an id (the caller's `X-Request-Id` when it is a plain token, else a new
one), echoed in the answer's `X-Request-Id` and carried by every line logged while the request
runs. Nothing of an email reaches a log line at any level: request lines name the route, never
the body or the query string; an exception is logged as its type and stack (file, line,
function), never its message (a database error's message can quote the values it was given);
SQLAlchemy's statement log, whose DEBUG lines print fetched rows, is held at WARNING.
tests/test_logs.py sends marked text, subjects, addresses and keys through every path and
checks that none of them appears.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
import traceback
import uuid

REQUEST_ID_HEADER = "X-Request-Id"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Loggers whose detail is data: SQLAlchemy's engine prints statements' rows at DEBUG.
QUIET_LOGGERS = {"sqlalchemy.engine": "WARNING", "sqlalchemy.orm": "WARNING"}


def _request_id() -> str | None:
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    if has_request_context():
        return g.get("request_id")
    return None


def _stack(exc_info) -> list[str]:
    """The frames of an exception (and those it came from), without any exception's message."""
    kind, value, tb = exc_info
    out = []
    seen = set()
    while value is not None and id(value) not in seen:
        seen.add(id(value))
        frames = traceback.extract_tb(value.__traceback__)
        out[:0] = [f"{type(value).__name__}"] + [f"{f.filename}:{f.lineno} in {f.name}" for f in frames]
        value = value.__cause__ or value.__context__
    return out


class JSONFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, request id, and any fields
    passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or _request_id()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = type(record.exc_info[1]).__name__
            line["stack"] = _stack(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def level() -> str:
    return (os.environ.get("PITCHLINT_LOG_LEVEL") or "INFO").upper()


def logging_config(log_level: str | None = None, stream: str = "ext://sys.stdout") -> dict:
    """The logging configuration (for logging.config.dictConfig and gunicorn's logconfig_dict):
    every logger, gunicorn's own included, through one JSON handler; no access log (the app
    writes its request lines)."""
    lvl = (log_level or level()).upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JSONFormatter}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": stream}},
        "root": {"level": lvl, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": lvl, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            **{name: {"level": quiet} for name, quiet in QUIET_LOGGERS.items()},
        },
    }


def configure(log_level: str | None = None, stream=None) -> None:
    """Send every log line through the JSON formatter (to `stream`, standard output by default)."""
    from logging.config import dictConfig

    dictConfig(logging_config(log_level))
    if stream is not None:
        for name in ("", "gunicorn.error"):
            for handler in logging.getLogger(name).handlers:
                handler.setStream(stream)


def init_app(app) -> None:
    """Request ids and one log line per request."""
    from flask import g, request

    log = logging.getLogger("pitchlint.request")

    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _GOOD_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish(resp):
        rid = g.get("request_id")
        if rid:
            resp.headers[REQUEST_ID_HEADER] = rid
        started = g.get("request_started")
        key = g.get("api_key")
        fields = {
            "method": request.method,
            # The route's pattern, not the path: no ids or words from the URL, and few distinct values.
            "route": request.url_rule.rule if request.url_rule is not None else "unmatched",
            "status": resp.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "bytes_in": request.content_length,
        }
        if key is not None:
            fields["key_id"] = key.id
        if resp.status_code >= 400 and resp.is_json:
            body = resp.get_json(silent=True) or {}
            code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
            if isinstance(code, str):
                fields["error_code"] = code
        log.info("%s %s %s", request.method, fields["route"], resp.status_code,
                 extra={"fields": fields})
        return resp


__all__ = ["JSONFormatter", "REQUEST_ID_HEADER", "configure", "init_app", "logging_config"]

