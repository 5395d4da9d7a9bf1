"""Every request to the Gmail add-on's endpoints carries a Google-signed ID token.

Google calls our HTTP endpoints with `Authorization: Bearer <ID token>`. We check it with
google-auth's id_token.verify_token (RS256 signature against Google's certificates at a
configurable URL, expiry, audience), then the issuer and, when configured, that the token
belongs to this add-on's own service account (any Google service account can mint an ID token
for any audience, so the audience alone does not prove the caller is *our* add-on).
"""
from __future__ import annotations


import google.auth.exceptions
import google.auth.transport.requests
import requests
from flask import current_app, request
from google.oauth2 import id_token

from ..errors import APIError
from ..ttlcache import TTLCache

CLOCK_SKEW_SECONDS = 30
CERTS_CACHE_SECONDS = 300


class CachingGoogleRequest(google.auth.transport.requests.Request):
    """google-auth's requests transport, keeping GET answers (the certificates) a few minutes."""

    def __init__(self, timeout: float = 5.0, session: requests.Session | None = None):
        super().__init__(session if session is not None else requests.Session())
        self._cache = TTLCache(CERTS_CACHE_SECONDS, max_entries=16)
        self._timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        if method != "GET":
            return super().__call__(url, method, body, headers, timeout or self._timeout, **kwargs)
        hit = self._cache.get(url)
        if hit is not None:
            return hit
        resp = super().__call__(url, method, body, headers, timeout or self._timeout, **kwargs)
        if resp.status == 200:
            self._cache.put(url, resp)
        return resp


def _unauthorized(code: str, message: str) -> APIError:
    return APIError(401, code, message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _transport():
    app = current_app
    t = app.extensions.get("pitchlint_google_transport")
    if t is None:
        t = app.extensions["pitchlint_google_transport"] = CachingGoogleRequest()
    return t


def endpoint_url() -> str:
    """This endpoint's public URL: Google's default audience for HTTP add-on ID tokens."""
    base = current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")
    return base + request.path


def verify_request() -> dict:
    """The verified claims of the request's Google ID token; raises APIError otherwise."""
    cfg = current_app.config
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing_google_token", "Gmail add-on requests must carry Google's ID "
                            "token as 'Authorization: Bearer <token>'")
    audiences = list(cfg.get("GOOGLE_AUDIENCES") or [])
    if cfg.get("PUBLIC_URL"):
        audiences.append(endpoint_url())
    if not audiences:
        raise APIError(503, "gmail_addon_not_configured", "the Gmail add-on is not configured: set "
                       "PITCHLINT_GOOGLE_AUDIENCE (or PITCHLINT_PUBLIC_URL) on the service")
    try:
        claims = id_token.verify_token(token, _transport(), audience=audiences,
                                       certs_url=cfg["GOOGLE_CERTS_URL"],
                                       clock_skew_in_seconds=CLOCK_SKEW_SECONDS)
    except google.auth.exceptions.TransportError as e:
        raise APIError(503, "google_certs_unavailable", f"Google's signing certificates could not "
                       f"be fetched ({type(e).__name__}); try again shortly") from None
    except ValueError as e:
        msg = str(e)
        if "expired" in msg.lower() or "too early" in msg.lower():
            raise _unauthorized("google_token_expired", f"Google's ID token is not valid now: {msg}") from None
        if "audience" in msg.lower():
            raise _unauthorized("google_wrong_audience", f"Google's ID token was issued for another "
                                f"audience: {msg}") from None
        raise _unauthorized("invalid_google_token", f"Google's ID token could not be verified: {msg}") from None
    except Exception as e:  # malformed tokens surface as several exception types
        raise _unauthorized("invalid_google_token", f"Google's ID token could not be verified "
                            f"({type(e).__name__})") from None
    if claims.get("iss") not in cfg["GOOGLE_ISSUERS"]:
        raise _unauthorized("google_wrong_issuer", f"Google's ID token has issuer "
                            f"{claims.get('iss')!r}; expected one of {', '.join(cfg['GOOGLE_ISSUERS'])}")
    expected = cfg.get("GOOGLE_ADDON_EMAIL")
    if expected and (claims.get("email") != expected or not claims.get("email_verified", True)):
        raise _unauthorized("google_wrong_caller", f"the ID token belongs to {claims.get('email')!r}, "
                            "not this add-on's service account")
    return claims
