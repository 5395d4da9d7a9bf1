"""Configuration from environment variables (documented in .env.example)."""
from __future__ import annotations

import os

from .. import sizes


def _bool(value: str | None, default: bool | None) -> bool | None:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def from_environment() -> dict:
    """Every setting, read from PITCHLINT_* variables with the embedded defaults."""
    env = os.environ.get
    return {
        "DATABASE_URL": env("PITCHLINT_DATABASE_URL") or None,   # None: SQLite in the instance folder
        "MODEL_DIR": env("PITCHLINT_MODEL_DIR") or None,         # None: the shipped model
        # None: required unless serving on a loopback address (decided by `pitchlint serve`).
        "REQUIRE_KEYS": _bool(env("PITCHLINT_REQUIRE_KEYS"), None),
        "CORS_ORIGINS": [o.strip() for o in (env("PITCHLINT_CORS_ORIGINS") or "").split(",") if o.strip()],
        "MAX_TEXT_CHARS": _int("PITCHLINT_MAX_TEXT_CHARS", sizes.MAX_TEXT_CHARS),
        "MAX_BODY_BYTES": _int("PITCHLINT_MAX_BODY_BYTES", sizes.MAX_BODY_BYTES),
        "MAX_BATCH": _int("PITCHLINT_MAX_BATCH", sizes.MAX_BATCH),
        "MAX_BATCH_CHARS": _int("PITCHLINT_MAX_BATCH_CHARS", sizes.MAX_BATCH_CHARS),
        "RATE_LIMIT_PER_MINUTE": _int("PITCHLINT_RATE_LIMIT_PER_MINUTE", 600),
        "REDIS_URL": env("PITCHLINT_REDIS_URL") or None,
        "CACHE_SIZE": _int("PITCHLINT_CACHE_SIZE", 20_000),
        "TORCH_THREADS": _int("PITCHLINT_TORCH_THREADS", 0),
        "LOAD_MODEL_AT_START": _bool(env("PITCHLINT_LOAD_MODEL_AT_START"), True),
        "SECRET_KEY": env("PITCHLINT_SECRET_KEY") or None,
        # How often each service process deletes history past its team's retention (0: never).
        "PURGE_INTERVAL_SECONDS": _int("PITCHLINT_PURGE_INTERVAL_SECONDS", 3600),
    }
