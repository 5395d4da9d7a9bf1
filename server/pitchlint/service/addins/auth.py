"""Who is calling an add-in endpoint: an Office sign-in token or an API key.

API keys keep working exactly as on /v1 (keys.authenticate); a bearer token that is a JWT is
taken as a Microsoft identity token and validated (microsoft.py).
"""
from __future__ import annotations

from flask import current_app, g, request

from ..keys import KEY_PREFIX, authenticate as authenticate_key
from . import microsoft


def authenticate_outlook() -> str:
    """Checks the caller and the rate limit; returns the identity ('ms:…', 'key:…' or 'ip:…')."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and not token.startswith(KEY_PREFIX) \
            and microsoft.looks_like_jwt(token):
        user = microsoft.validator().validate(token)
        g.addin_user = user
        identity = user.identity
    else:
        identity = authenticate_key()
    current_app.extensions["pitchlint_limiter"].check(identity)
    return identity
