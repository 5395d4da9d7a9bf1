"""The user behind a request: the owner of its API key, found by address or by bound account."""
from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from ..errors import APIError
from .models import User


def user_by_email(db_session, email: str) -> User | None:
    """The user with this address, compared case-insensitively (disabled ones too)."""
    return db_session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def user_by_microsoft(db_session, tenant_id: str, object_id: str) -> User | None:
    """The user bound to this Microsoft account (tenant and object id; disabled ones too)."""
    return db_session.scalars(select(User).where(User.ms_tid == tenant_id,
                                                 User.ms_oid == object_id)).first()


def key_user(db_session) -> User | None:
    """The user owning the request's API key, or None (no key, or a service key)."""
    key = g.get("api_key")
    if key is None or key.user_id is None:
        return None
    user = db_session.get(User, key.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return user


def require_key_user(db_session) -> User:
    user = key_user(db_session)
    if user is not None:
        return user
    if g.get("api_key") is None:
        raise APIError(401, "missing_key", "this endpoint needs a user's API key: send "
                       "'Authorization: Bearer <key>' (`pitchlint keys create --user EMAIL`)",
                       {"WWW-Authenticate": "Bearer"})
    raise APIError(403, "no_user", "this API key belongs to no user (or a disabled one); team "
                   "endpoints need a key created with `pitchlint keys create --user EMAIL`")
