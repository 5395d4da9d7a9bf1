"""Sign-in with Microsoft and Google: OpenID Connect, authorization-code flow with PKCE.

    GET /signin/microsoft?next=PATH   -> Microsoft's sign-in page (the flow is msal's)
    GET /auth/microsoft/callback      <- Microsoft sends the browser back here
    GET /signin/google?next=PATH      -> Google's sign-in page
    GET /auth/google/callback         <- Google sends the browser back here

Nobody signs up here. A sign-in must match an existing, enabled user: first by the identity
bound at an earlier sign-in (Microsoft's tenant id + object id, Google's subject), else by a
verified e-mail address, case-insensitively, and then that identity is bound to the user. A user
already bound to another Microsoft/Google identity is refused, so an address that changes hands
at the provider cannot take over someone else's account.

Which Microsoft addresses count as verified: Entra ID's `email` claim is not verified in general
(a tenant admin can type anything there), so it counts only with `xms_edov` (email domain owner
verified, an optional claim) or, for the tenant's own members, when the service accepts that
one tenant only (its admins set it). Otherwise the sign-in name (`preferred_username`, the
UPN, whose domain the tenant has verified) of a work account that is a member of the issuing
tenant. Personal accounts and guests match only through `xms_edov`.

The pending flow (state, nonce, PKCE verifier, `next`) lives in the signed session cookie; the
callback takes it out whatever happens, so each flow is used once. The callback is a GET
(response_mode=query): a cross-site POST (form_post) would arrive without the SameSite=Lax
session cookie. Any failure flashes a plain message and returns to /signin without a session.

Everything sent to Microsoft and Google goes through one requests.Session (msal's http_client,
the key sets, Google's token endpoint and certificates); `SSO_HTTP_SESSION` in the app config
replaces it (tests answer with a local identity provider there).

Settings (app config, from environment variables unless given to create_app):
    GOOGLE_CLIENT_ID          PITCHLINT_GOOGLE_CLIENT_ID       Google OAuth client (web application)
    GOOGLE_CLIENT_SECRET      PITCHLINT_GOOGLE_CLIENT_SECRET
    GOOGLE_HOSTED_DOMAIN      PITCHLINT_GOOGLE_HOSTED_DOMAIN   accept only this Workspace domain (hd)
    GOOGLE_AUTH_URI           PITCHLINT_GOOGLE_AUTH_URI        default Google's authorization endpoint
    GOOGLE_TOKEN_URI          PITCHLINT_GOOGLE_TOKEN_URI       default Google's token endpoint
    GOOGLE_WEB_REDIRECT_URI   PITCHLINT_GOOGLE_WEB_REDIRECT_URI  default PUBLIC_URL (or this host)
                                                                 + /auth/google/callback
    MS_WEB_REDIRECT_URI       PITCHLINT_MS_WEB_REDIRECT_URI    default PUBLIC_URL (or this host)
                                                                 + /auth/microsoft/callback
Microsoft also needs MS_CLIENT_ID and MS_CLIENT_SECRET (addins/settings.py); MS_TENANT,
MS_AUTHORITY_HOST and MS_JWKS_URL apply as they do to the Outlook add-in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
import warnings
from urllib.parse import urlencode

import jwt
import requests
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from sqlalchemy import select

from ..addins.microsoft import ALGORITHMS, LEEWAY_SECONDS, MicrosoftTokenValidator
from ..db import session as db_session
from ..errors import APIError
from ..team.identity import user_by_email, user_by_microsoft
from ..team.models import User
from .session import DEFAULT_NEXT, login_user, safe_next

bp = Blueprint("sso", __name__)

# msal recommends response_mode=form_post; the callback stays a GET (see above), protected by
# state, nonce and PKCE, and leaves no referrer.
warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended",
                        category=UserWarning, module=r"msal\.oauth2cli\.oauth2")

TIMEOUT_SECONDS = 10.0
FLOW_MAX_AGE_SECONDS = 15 * 60       # from leaving for the provider to coming back
KEYS_MAX_AGE_SECONDS = 3600          # Microsoft's key set is fetched again after this
KEYS_REFETCH_COOLDOWN_SECONDS = 60   # an unknown key id fetches again (key rotation), not oftener
GOOGLE_CLOCK_SKEW_SECONDS = 30
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts
MS_CALLBACK_PATH = "/auth/microsoft/callback"
GOOGLE_CALLBACK_PATH = "/auth/google/callback"
_SESSION_KEY = "sso"


def settings_from_environment() -> dict:
    env = os.environ.get
    return {
        "GOOGLE_CLIENT_ID": env("PITCHLINT_GOOGLE_CLIENT_ID") or None,
        "GOOGLE_CLIENT_SECRET": env("PITCHLINT_GOOGLE_CLIENT_SECRET") or None,
        "GOOGLE_HOSTED_DOMAIN": (env("PITCHLINT_GOOGLE_HOSTED_DOMAIN") or "").strip().lower() or None,
        "GOOGLE_AUTH_URI": env("PITCHLINT_GOOGLE_AUTH_URI") or "https://accounts.google.com/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URI": env("PITCHLINT_GOOGLE_TOKEN_URI") or "https://oauth2.googleapis.com/token",
        "GOOGLE_WEB_REDIRECT_URI": env("PITCHLINT_GOOGLE_WEB_REDIRECT_URI") or None,
        "MS_WEB_REDIRECT_URI": env("PITCHLINT_MS_WEB_REDIRECT_URI") or None,
    }


@bp.record_once
def _init(state) -> None:
    for key, value in settings_from_environment().items():
        state.app.config.setdefault(key, value)


class SignInError(Exception):
    """A sign-in that ends here: the message is shown to the person on /signin."""


class HttpSession(requests.Session):
    """requests.Session with a ceiling on every request's time and one retry on connection
    errors: the transport for everything this module asks Microsoft and Google."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        super().__init__()
        self.timeout = timeout
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method, url, **kwargs):
        t = kwargs.get("timeout")
        if t is None or (isinstance(t, (int, float)) and t > self.timeout):
            kwargs["timeout"] = self.timeout
        return super().request(method, url, **kwargs)


def _http() -> requests.Session:
    app = current_app
    given = app.config.get("SSO_HTTP_SESSION")
    if given is not None:
        return given
    http = app.extensions.get("pitchlint_sso_http")
    if http is None:
        http = app.extensions.setdefault("pitchlint_sso_http", HttpSession())
    return http


def _redirect_uri(override_key: str, endpoint: str, path: str) -> str:
    cfg = current_app.config
    if cfg.get(override_key):
        return cfg[override_key]
    public = (cfg.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public + path
    return url_for(endpoint, _external=True)


# --- the pending flow, in the session ----------------------------------------------------------

def _store_flow(provider: str, flow: dict, nxt: str) -> None:
    session[_SESSION_KEY] = {"p": provider, "flow": flow, "next": nxt, "t": int(time.time())}


def _take_flow(provider: str) -> dict | None:
    """The pending flow of `provider`, removed from the session (a flow is used once)."""
    pending = session.pop(_SESSION_KEY, None)
    if not isinstance(pending, dict) or pending.get("p") != provider:
        return None
    if not isinstance(pending.get("flow"), dict) or not isinstance(pending.get("t"), int):
        return None
    if abs(time.time() - pending["t"]) > FLOW_MAX_AGE_SECONDS:
        return None
    return pending


def _same(a, b) -> bool:
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def _check_state(pending: dict | None, provider_name: str) -> dict:
    if pending is None:
        raise SignInError(f"This sign-in with {provider_name} was not started here or took too "
                          "long; please start again.")
    if not _same(request.args.get("state"), pending["flow"].get("state")):
        raise SignInError(f"This sign-in with {provider_name} did not come from this browser's "
                          "sign-in (state mismatch); please start again.")
    error = request.args.get("error")
    if error:
        if error == "access_denied":
            raise SignInError(f"Sign-in with {provider_name} was cancelled.")
        desc = (request.args.get("error_description") or "").strip().splitlines()
        raise SignInError(f"{provider_name} did not sign you in ({error[:80]}"
                          + (f": {desc[0][:200]}" if desc else "") + ").")
    if not request.args.get("code"):
        raise SignInError(f"{provider_name} sent no authorization code; please start again.")
    return pending["flow"]


def _fail(message: str, nxt: str | None = None):
    session.pop(_SESSION_KEY, None)
    current_app.logger.info("sign-in refused: %s", message)
    flash(message, "error")
    target = url_for("web.signin")
    if nxt and nxt != DEFAULT_NEXT:
        target += "?" + urlencode({"next": nxt})
    return redirect(target)


@bp.after_request
def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


# --- matching the person to a user -------------------------------------------------------------

def _find_by_email(s, emails: list[str]) -> User | None:
    for email in emails:
        user = user_by_email(s, email)
        if user is not None:
            return user
    return None


def _match_user(provider_name: str, bound: User | None, emails: list[str], bind) -> User:
    """The signed-in user: `bound` (found by the provider's id), else the user of a verified
    address, which `bind(user)` then binds to the provider's id."""
    s = db_session()
    user = bound
    if user is None:
        if not emails:
            raise SignInError(f"Your {provider_name} account did not share a verified e-mail "
                              "address, so it can't be matched to a Pitchlint account; ask your "
                              "admin.")
        user = _find_by_email(s, emails)
        if user is None:
            raise SignInError(f"No Pitchlint account for {emails[0]}; ask your admin to add you.")
        if user.disabled_at is not None:
            raise SignInError(f"The Pitchlint account {user.email} is disabled; ask your admin.")
        if not bind(user):
            raise SignInError(f"The Pitchlint account {user.email} is linked to a different "
                              f"{provider_name} account; sign in with that one, or ask your admin.")
        s.commit()
    if user.disabled_at is not None:
        raise SignInError(f"The Pitchlint account {user.email} is disabled; ask your admin.")
    return user


def _finish(user: User, provider: str, pending: dict):
    login_user(user)
    current_app.logger.info("signed in: user %s with %s", user.id, provider)
    return redirect(safe_next(pending.get("next")))


# --- Microsoft ---------------------------------------------------------------------------------

def _ms_config() -> dict:
    cfg = current_app.config
    if not cfg.get("MS_CLIENT_ID") or not cfg.get("MS_CLIENT_SECRET"):
        raise APIError(404, "signin_not_configured", "sign-in with Microsoft is not set up on this "
                       "service (it needs PITCHLINT_MS_CLIENT_ID and PITCHLINT_MS_CLIENT_SECRET)")
    return cfg


def _ms_app():
    """msal's client for this request (its discovery answers are cached per app; its token
    cache is not kept: nothing of a user's tokens outlives the request)."""
    import msal

    cfg = current_app.config
    cache = current_app.extensions.setdefault("pitchlint_sso_msal_http_cache", {})
    return msal.ConfidentialClientApplication(
        cfg["MS_CLIENT_ID"], client_credential=cfg["MS_CLIENT_SECRET"],
        authority=f"{cfg['MS_AUTHORITY_HOST'].rstrip('/')}/{cfg['MS_TENANT']}",
        http_client=_http(), http_cache=cache, exclude_scopes=["offline_access"])


class _KeySet:
    """Microsoft's published signing keys, fetched through the module's transport."""

    def __init__(self):
        self.url: str | None = None
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched = 0.0
        self.lock = threading.Lock()

    def key(self, kid: str, url: str, http) -> jwt.PyJWK | None:
        with self.lock:
            age = time.monotonic() - self.fetched
            if self.url != url or age > KEYS_MAX_AGE_SECONDS or (
                    kid not in self.keys and age > KEYS_REFETCH_COOLDOWN_SECONDS):
                resp = http.get(url, headers={"Accept": "application/json"})
                resp.raise_for_status()
                found = jwt.PyJWKSet.from_dict(resp.json())
                self.keys = {k.key_id: k for k in found.keys if k.key_id}
                self.url, self.fetched = url, time.monotonic()
            return self.keys.get(kid)


def _ms_jwks_url(cca) -> str:
    cfg = current_app.config
    if cfg.get("MS_JWKS_URL"):
        return cfg["MS_JWKS_URL"]
    from msal.authority import tenant_discovery

    endpoint = (f"{cfg['MS_AUTHORITY_HOST'].rstrip('/')}/{cfg['MS_TENANT']}"
                "/v2.0/.well-known/openid-configuration")
    return tenant_discovery(endpoint, cca.http_client)["jwks_uri"]  # cached with msal's


def _ms_validator() -> MicrosoftTokenValidator:
    """The add-in's validator, for its tenant and issuer rules (the ID token is checked here)."""
    cfg = current_app.config
    return MicrosoftTokenValidator(cfg["MS_CLIENT_ID"], cfg["MS_TENANT"], cfg["MS_AUTHORITY_HOST"],
                                   None, required_scope=None)


def _ms_tenant_allowed(validator: MicrosoftTokenValidator, tid: str) -> bool:
    tenant = validator.tenant.lower()
    if validator.single_tenant:
        return tid.lower() == tenant
    if tenant == "organizations":
        return tid != CONSUMER_TENANT
    if tenant == "consumers":
        return tid == CONSUMER_TENANT
    return True  # common


def verify_microsoft_id_token(token: str, nonce: str, cca) -> dict:
    """The ID token's claims, checked here as well as by msal: RS256 signature against the
    tenant's published keys, audience (our client id), expiry, issuer (Microsoft's for the
    token's tenant), tenant (as MS_TENANT allows), and the nonce of this browser's flow."""
    cfg = current_app.config
    validator = _ms_validator()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise SignInError("Microsoft's sign-in token is malformed; please try again.") from None
    if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
        raise SignInError("Microsoft's sign-in token is not signed the way Microsoft signs; "
                          "sign-in refused.")
    keys = current_app.extensions.setdefault("pitchlint_sso_ms_keys", _KeySet())
    try:
        key = keys.key(header["kid"], _ms_jwks_url(cca), _http())
    except (requests.RequestException, ValueError, KeyError, jwt.PyJWKSetError):
        raise SignInError("Microsoft's signing keys could not be fetched; please try again "
                          "shortly.") from None
    if key is None:
        raise SignInError("Microsoft's sign-in token is signed with a key Microsoft does not "
                          "publish; sign-in refused.")
    try:
        claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=cfg["MS_CLIENT_ID"],
                            leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "iat", "iss", "aud", "tid", "oid", "nonce"]})
    except jwt.ExpiredSignatureError:
        raise SignInError("Microsoft's sign-in token has expired; please sign in again.") from None
    except jwt.InvalidSignatureError:
        raise SignInError("Microsoft's sign-in token has a bad signature; sign-in refused.") from None
    except jwt.InvalidAudienceError:
        raise SignInError("Microsoft's sign-in token was issued for another application; "
                          "sign-in refused.") from None
    except jwt.InvalidTokenError as e:
        raise SignInError(f"Microsoft's sign-in token is not valid ({e}); sign-in refused.") from None
    tid = str(claims["tid"])
    if claims["iss"] not in validator.issuers_for(tid):
        raise SignInError("Microsoft's sign-in token has the wrong issuer; sign-in refused.")
    if not _ms_tenant_allowed(validator, tid):
        raise SignInError("Your Microsoft organisation is not accepted by this service.")
    expected = hashlib.sha256(nonce.encode("ascii")).hexdigest()  # msal sends the nonce's hash
    if not _same(claims.get("nonce"), expected):
        raise SignInError("Microsoft's sign-in token belongs to another sign-in (nonce "
                          "mismatch); sign-in refused.")
    return claims


def microsoft_emails(claims: dict, single_tenant: bool) -> list[str]:
    """The addresses of the signed-in person that count as verified (see the module's doc)."""
    out: list[str] = []
    # A member of the issuing tenant (a guest's token names its home identity provider in `idp`).
    member = (not claims.get("idp") or claims.get("idp") == claims.get("iss")) \
        and str(claims.get("tid")) != CONSUMER_TENANT
    email = claims.get("email")
    if isinstance(email, str) and "@" in email and (
            claims.get("xms_edov") in (True, "true", "True", "1", 1) or (single_tenant and member)):
        out.append(email)
    upn = claims.get("preferred_username")
    if (member and isinstance(upn, str) and "@" in upn and "#ext#" not in upn.lower()
            and upn not in out):
        out.append(upn)
    return out


@bp.get("/signin/microsoft")
def microsoft_start():
    _ms_config()
    nxt = safe_next(request.args.get("next"))
    try:
        flow = _ms_app().initiate_auth_code_flow(
            scopes=[], prompt="select_account",
            redirect_uri=_redirect_uri("MS_WEB_REDIRECT_URI", "sso.microsoft_callback",
                                       MS_CALLBACK_PATH))
    except (requests.RequestException, ValueError) as e:
        current_app.logger.warning("Microsoft sign-in unavailable: %s", e)
        return _fail("Microsoft sign-in is unavailable right now; please try again shortly.", nxt)
    auth_uri = flow.pop("auth_uri")
    _store_flow("microsoft", flow, nxt)
    return redirect(auth_uri)


@bp.get(MS_CALLBACK_PATH)
def microsoft_callback():
    _ms_config()
    pending = _take_flow("microsoft")
    try:
        flow = _check_state(pending, "Microsoft")
        try:
            cca = _ms_app()
        except (requests.RequestException, ValueError) as e:
            current_app.logger.warning("Microsoft sign-in unavailable: %s", e)
            raise SignInError("Microsoft sign-in is unavailable right now; please try again "
                              "shortly.") from None
        nonce = flow.get("nonce")
        if not isinstance(nonce, str):
            raise SignInError("This sign-in with Microsoft is incomplete; please start again.")
        try:
            result = cca.acquire_token_by_auth_code_flow(dict(flow), request.args.to_dict())
        except ValueError:  # msal: a state it refuses (checked above) or an unreadable answer
            raise SignInError("Microsoft's answer to this sign-in could not be used; please "
                              "start again.") from None
        except RuntimeError:  # msal: the ID token's nonce is not this flow's
            raise SignInError("Microsoft's sign-in token belongs to another sign-in (nonce "
                              "mismatch); sign-in refused.") from None
        except requests.RequestException:
            raise SignInError("Microsoft could not be reached; please try again shortly.") from None
        if "error" in result:
            desc = (result.get("error_description") or "").strip().splitlines()
            raise SignInError(f"Microsoft did not sign you in ({str(result['error'])[:80]}"
                              + (f": {desc[0][:200]}" if desc else "") + ").")
        if not result.get("id_token"):
            raise SignInError("Microsoft sent no sign-in token; please try again.")
        claims = verify_microsoft_id_token(result["id_token"], nonce, cca)
        tid, oid = str(claims["tid"]), str(claims["oid"])
        single = _ms_validator().single_tenant
        bound = user_by_microsoft(db_session(), tid, oid)

        def bind(user: User) -> bool:
            if user.ms_oid is not None or user.ms_tid is not None:
                return False
            user.ms_tid, user.ms_oid = tid, oid
            return True

        user = _match_user("Microsoft", bound, microsoft_emails(claims, single), bind)
    except SignInError as e:
        return _fail(str(e), pending.get("next") if pending else None)
    return _finish(user, "microsoft", pending)


# --- Google ------------------------------------------------------------------------------------

def _google_config() -> dict:
    cfg = current_app.config
    if not cfg.get("GOOGLE_CLIENT_ID") or not cfg.get("GOOGLE_CLIENT_SECRET"):
        raise APIError(404, "signin_not_configured", "sign-in with Google is not set up on this "
                       "service (it needs PITCHLINT_GOOGLE_CLIENT_ID and "
                       "PITCHLINT_GOOGLE_CLIENT_SECRET)")
    return cfg


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@bp.get("/signin/google")
def google_start():
    cfg = _google_config()
    nxt = safe_next(request.args.get("next"))
    flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
            "cv": secrets.token_urlsafe(64),
            "ru": _redirect_uri("GOOGLE_WEB_REDIRECT_URI", "sso.google_callback",
                                GOOGLE_CALLBACK_PATH)}
    params = {"response_type": "code", "client_id": cfg["GOOGLE_CLIENT_ID"],
              "redirect_uri": flow["ru"], "scope": "openid email profile",
              "state": flow["state"], "nonce": flow["nonce"],
              "code_challenge": _pkce_challenge(flow["cv"]), "code_challenge_method": "S256",
              "prompt": "select_account"}
    if cfg.get("GOOGLE_HOSTED_DOMAIN"):
        params["hd"] = cfg["GOOGLE_HOSTED_DOMAIN"]  # a hint for Google's page; the claim is checked
    _store_flow("google", flow, nxt)
    return redirect(cfg["GOOGLE_AUTH_URI"] + "?" + urlencode(params))


def _google_exchange(cfg, flow: dict) -> str:
    try:
        resp = _http().post(cfg["GOOGLE_TOKEN_URI"], headers={"Accept": "application/json"}, data={
            "grant_type": "authorization_code", "code": request.args["code"],
            "client_id": cfg["GOOGLE_CLIENT_ID"], "client_secret": cfg["GOOGLE_CLIENT_SECRET"],
            "redirect_uri": flow.get("ru"), "code_verifier": flow.get("cv")})
    except requests.RequestException:
        raise SignInError("Google could not be reached; please try again shortly.") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if resp.status_code != 200:
        error = str(body.get("error") or f"HTTP {resp.status_code}")[:80]
        desc = str(body.get("error_description") or "").strip()[:200]
        raise SignInError(f"Google did not sign you in ({error}" + (f": {desc}" if desc else "") + ").")
    token = body.get("id_token")
    if not isinstance(token, str) or not token:
        raise SignInError("Google sent no sign-in token; please try again.")
    return token


def verify_google_id_token(token: str, nonce: str) -> dict:
    """The ID token's claims: google-auth checks the signature against Google's certificates,
    the audience (our client id) and expiry; then the issuer, nonce, a verified address and,
    when configured, the Workspace domain."""
    import google.auth.exceptions
    from google.oauth2 import id_token

    from ..addins.google_identity import CachingGoogleRequest

    cfg = current_app.config
    # Google's certificates are kept a few minutes (one fetch, not one per sign-in).
    transport = current_app.extensions.get("pitchlint_sso_google_transport")
    if transport is None:
        transport = current_app.extensions["pitchlint_sso_google_transport"] = \
            CachingGoogleRequest(timeout=TIMEOUT_SECONDS, session=_http())
    try:
        claims = id_token.verify_token(
            token, transport,
            audience=cfg["GOOGLE_CLIENT_ID"], certs_url=cfg["GOOGLE_CERTS_URL"],
            clock_skew_in_seconds=GOOGLE_CLOCK_SKEW_SECONDS)
    except google.auth.exceptions.TransportError:
        raise SignInError("Google's signing certificates could not be fetched; please try again "
                          "shortly.") from None
    except ValueError as e:
        msg = str(e).lower()
        if "expired" in msg or "too early" in msg:
            raise SignInError("Google's sign-in token is not valid now (expired); please sign in "
                              "again.") from None
        if "audience" in msg:
            raise SignInError("Google's sign-in token was issued for another application; sign-in "
                              "refused.") from None
        raise SignInError("Google's sign-in token could not be verified; sign-in refused.") from None
    except Exception as e:  # malformed tokens surface as several exception types
        current_app.logger.info("Google ID token unreadable: %s", type(e).__name__)
        raise SignInError("Google's sign-in token could not be verified; sign-in refused.") from None
    if claims.get("iss") not in cfg["GOOGLE_ISSUERS"]:
        raise SignInError("Google's sign-in token has the wrong issuer; sign-in refused.")
    if not _same(claims.get("nonce"), nonce):
        raise SignInError("Google's sign-in token belongs to another sign-in (nonce mismatch); "
                          "sign-in refused.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInError("Google's sign-in token names no account; sign-in refused.")
    hd = cfg.get("GOOGLE_HOSTED_DOMAIN")
    if hd and str(claims.get("hd") or "").lower() != hd.lower():
        raise SignInError(f"Only {hd} Google accounts can sign in here.")
    return claims


@bp.get(GOOGLE_CALLBACK_PATH)
def google_callback():
    cfg = _google_config()
    pending = _take_flow("google")
    try:
        flow = _check_state(pending, "Google")
        if not isinstance(flow.get("nonce"), str) or not isinstance(flow.get("cv"), str):
            raise SignInError("This sign-in with Google is incomplete; please start again.")
        claims = verify_google_id_token(_google_exchange(cfg, flow), flow["nonce"])
        sub = claims["sub"]
        email = claims.get("email")
        verified = claims.get("email_verified") in (True, "true")
        if isinstance(email, str) and "@" in email and not verified:
            raise SignInError(f"Google has not verified {email} for this account, so it can't be "
                              "matched to a Pitchlint account.")
        bound = db_session().scalars(select(User).where(User.google_sub == sub)).first()

        def bind(user: User) -> bool:
            if user.google_sub is not None:
                return False
            user.google_sub = sub
            return True

        emails = [email] if isinstance(email, str) and "@" in email and verified else []
        user = _match_user("Google", bound, emails, bind)
    except SignInError as e:
        return _fail(str(e), pending.get("next") if pending else None)
    return _finish(user, "google", pending)
