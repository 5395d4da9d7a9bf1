"""API keys: created once and shown once, stored only as a SHA-256 hash, sent as a Bearer token."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from cachetools import LRUCache
from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .db import ApiKey, discard, get_db, session, utcnow
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


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs of its API key, detached from any database session."""
    id: int
    name: str
    prefix: str
    user_id: int | None
    revoked: bool


def _known_keys() -> LRUCache:
    """Keys this process has checked, by hash: used only while the database can't be reached."""
    return current_app.extensions.setdefault("pitchlint_known_keys", LRUCache(maxsize=10_000))


def _look_up(key_hash: str) -> KeyInfo | None:
    """The key from the database; while it is unreachable, as this process last saw it (a key
    revoked during an outage works until the database is back). APIError 503 for a key this
    process has not seen, as nothing can vouch for it."""
    db = get_db()
    known = _known_keys()
    if db.available():
        try:
            row = session().scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
            info = None if row is None else KeyInfo(row.id, row.name, row.prefix, row.user_id,
                                                      row.revoked_at is not None)
            now = utcnow()
            if row is not None and (row.last_used_at is None
                                    or (now - row.last_used_at).total_seconds() > 60):
                row.last_used_at = now  # at most one write a minute per key
                session().commit()
            if info is None:
                known.pop(key_hash, None)
            else:
                known[key_hash] = info
            return info
        except SQLAlchemyError:
            discard(session())
            db.failed()
            logging.getLogger("pitchlint").warning(
                "API keys: the database is unreachable; checking keys this process has seen")
    if key_hash in known:
        return known[key_hash]
    raise APIError(503, "keys_unavailable", "this API key can't be checked right now (the "
                   "service's database is unreachable); try again in a few seconds",
                   {"Retry-After": "5"})


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
    info = _look_up(hash_key(token.strip()))
    if info is None:
        raise APIError(401, "invalid_key", "the API key is not known to this service",
                       {"WWW-Authenticate": "Bearer"})
    if info.revoked:
        raise APIError(403, "key_revoked", f"the API key {info.prefix}… was revoked; "
                       "ask for a new one")
    g.api_key = info
    return f"key:{info.id}"
