"""Signed-in web sessions: a signed, HttpOnly, SameSite=Lax cookie holding the user's id, the
user's session version (raised to sign them out everywhere), and a CSRF token.

    login_user(user)      start a fresh session (the old one's contents, CSRF token included,
                          are dropped: no session fixation)
    logout_user()
    current_user()        the signed-in User, or None
    csrf_token()          for every form: <input type=hidden name=csrf_token value="...">
    check_csrf()          every POST/PUT/PATCH/DELETE to the pages checks it (403 otherwise)
    safe_next(url)        where to go after sign-in: only a path on this site
"""
from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import g, request, session

from ..db import session as db_session
from ..errors import APIError
from ..team.models import User

SESSION_HOURS = 12
DEFAULT_NEXT = "/team"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _secret_key(app) -> str:
    """PITCHLINT_SECRET_KEY, or one generated once into the instance folder (0600) so that every
    worker process and restart signs with the same key."""
    if app.config.get("SECRET_KEY"):
        return app.config["SECRET_KEY"]
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    from ..startup import SecretKeyError, read_secret_key

    for _ in range(50):  # another worker may be writing it right now
        key = read_secret_key(path)
        if key:
            return key
        import time

        time.sleep(0.02)
    raise SecretKeyError(f"the secret key at {path} is empty; delete it (a new one is made at "
                         "start-up) or set PITCHLINT_SECRET_KEY")


def init_app(app) -> None:
    app.config["SECRET_KEY"] = _secret_key(app)
    public = app.config.get("PUBLIC_URL") or ""
    app.config["SESSION_COOKIE_NAME"] = "pitchlint_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    secure = os.environ.get("PITCHLINT_SECURE_COOKIES")
    app.config["SESSION_COOKIE_SECURE"] = (secure.lower() in ("1", "true", "yes", "on")) \
        if secure not in (None, "") else public.startswith("https://")
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=SESSION_HOURS)


def login_user(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["sv"] = user.session_version
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.pop("web_user", None)


def logout_user() -> None:
    session.clear()
    g.pop("web_user", None)


def current_user() -> User | None:
    if "web_user" in g:
        return g.web_user
    user = None
    uid = session.get("uid")
    if isinstance(uid, int):
        user = db_session().get(User, uid)
        if user is None or user.disabled_at is not None or session.get("sv") != user.session_version:
            session.clear()
            user = None
    g.web_user = user
    return user


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse a state-changing request without the session's CSRF token (form field
    `csrf_token` or header `X-CSRF-Token`)."""
    if request.method not in _UNSAFE_METHODS:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise APIError(403, "csrf_failed", "this form has expired or did not come from this "
                       "site; reload the page and try again")


def safe_next(target: str | None, default: str = DEFAULT_NEXT) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    if any(ord(ch) < 0x20 or ch in "\\" for ch in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def require_user() -> User:
    user = current_user()
    if user is None:
        raise APIError(401, "signed_out", "sign in first")
    return user


__all__ = ["check_csrf", "csrf_token", "current_user", "init_app", "login_user",
           "logout_user", "require_user", "safe_next"]
