"""API keys: created once and shown once, stored only as a SHA-256 hash, sent as a Bearer token."""
from __future__ import annotations

import hashlib
import secrets

from flask import current_app, g, request
from sqlalchemy import select

from .db import ApiKey, session, utcnow
from .errors import APIError

KEY_PREFIX = "pl_"


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (nothing to brute-force).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db_session, name: str, user_id: int | None = None) -> tuple[ApiKey, str]:
    if not name or not name.strip():
        raise ValueError("a key needs a name (who or what uses it)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip(), prefix=key[:10], key_hash=hash_key(key), created_at=utcnow(),
                 user_id=user_id)
    db_session.add(row)
    db_session.commit()
    return row, key


def list_keys(db_session) -> list[ApiKey]:
    return list(db_session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(db_session, ident: str) -> ApiKey | None:
    """Revoke by numeric id or by the key's visible prefix."""
    q = select(ApiKey).where(ApiKey.id == int(ident)) if ident.isdigit() else \
        select(ApiKey).where(ApiKey.prefix == ident)
    row = db_session.scalars(q).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db_session.commit()
    return row


def keys_required() -> bool:
    return bool(current_app.config.get("REQUIRE_KEYS"))


def authenticate() -> str:
    """Check the request's key. Returns the rate-limit identity ('key:<id>' or 'ip:<addr>')."""
    header = request.headers.get("Authorization", "")
    if not header:
        if keys_required():
            raise APIError(401, "missing_key", "this service requires an API key: send "
                           "'Authorization: Bearer <key>' (create one with `pitchlint keys create`)",
                           {"WWW-Authenticate": "Bearer"})
        return f"ip:{request.remote_addr}"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError(401, "invalid_key", "the Authorization header must be 'Bearer <key>'",
                       {"WWW-Authenticate": "Bearer"})
    row = session().scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(token.strip()))).first()
    if row is None:
        raise APIError(401, "invalid_key", "the API key is not known to this service",
                       {"WWW-Authenticate": "Bearer"})
    if row.revoked_at is not None:
        raise APIError(403, "key_revoked", f"the API key {row.prefix}… was revoked; "
                       "ask for a new one")
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now  # at most one write a minute per key
        session().commit()
    g.api_key = row
    return f"key:{row.id}"
