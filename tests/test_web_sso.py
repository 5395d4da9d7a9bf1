"""Sign-in with Microsoft and Google (web/sso.py), against a local identity provider.

Nothing here reaches Microsoft or Google. `FakeIdP` is a requests transport adapter mounted on
the module's own HttpSession (the app's `SSO_HTTP_SESSION`), so every request the real code
makes (msal's OpenID discovery and token redemption, the Microsoft key set, Google's token
endpoint and certificates through google-auth's Request(session)) is answered in-process: the
discovery documents and key sets publish a local RSA key, and the token endpoints check the
client secret, the redirect URI and the PKCE verifier against what the browser was sent to the
authorization endpoint with, then return an ID token signed by that key carrying the nonce of
that request. `idp.authorize(location)` plays the person signing in at the provider's page: it
reads the authorization URL the service redirected to and returns the callback URL with a code.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from .signing import certificate_pem, jwk

MS_CLIENT_ID = "6f1c3a52-8d0e-4b7a-9c21-0a5d2e7f9b14"
MS_SECRET = "ms-web-secret"
TENANT = "9b2d4e61-1f3a-4c8b-a7d5-3e6f8a0b2c4d"
OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
MS_HOST = "https://login.microsoftonline.com"
G_CLIENT_ID = "1234567890-web.apps.googleusercontent.com"
G_SECRET = "google-web-secret"
G_AUTH = "https://accounts.google.com/o/oauth2/v2/auth"
G_TOKEN = "https://oauth2.googleapis.com/token"
G_CERTS = "https://www.googleapis.com/oauth2/v1/certs"
TOM_OID = "0b8e3f2a-0000-4000-8000-000000000001"
TOM_SUB = "109876543210987654321"

# msal suggests form_post on every flow; sso.py stays on query responses (see its doc).
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")


@pytest.fixture(scope="module")
def analyzer():
    """No model: sign-in never analyses anything."""
    return None


@pytest.fixture(scope="module")
def keys():
    return {"signing": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdP(requests.adapters.BaseAdapter):
    """Microsoft's and Google's endpoints, answered in-process (see the module's doc)."""

    def __init__(self, keys):
        super().__init__()
        self.keys = keys
        self.hits: list[tuple[str, str]] = []
        self.token_requests: list[dict] = []
        self.codes: dict[str, dict] = {}
        self.token_error: tuple[int, dict] | None = None
        for tenant in ("organizations", "common", TENANT):
            self._ms_meta(tenant)

    def _ms_meta(self, tenant):
        setattr(self, f"meta_{tenant}", {
            "issuer": f"{MS_HOST}/{{tenantid}}/v2.0" if tenant in ("organizations", "common")
            else f"{MS_HOST}/{tenant}/v2.0",
            "authorization_endpoint": f"{MS_HOST}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{MS_HOST}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{MS_HOST}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "id_token_signing_alg_values_supported": ["RS256"]})

    # -- the transport --
    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.hits.append((request.method, url))
        status, body = self._answer(request.method, url, request)
        resp = requests.Response()
        resp.status_code = status
        resp._content = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json; charset=utf-8"
        resp.encoding = "utf-8"
        resp.url = request.url
        resp.request = request
        return resp

    def close(self):
        pass

    def _answer(self, method, url, request):
        path = url[len(MS_HOST):] if url.startswith(MS_HOST + "/") else None
        if method == "GET" and path is not None:
            tenant, _, rest = path[1:].partition("/")
            meta = getattr(self, f"meta_{tenant}", None)
            if rest == "v2.0/.well-known/openid-configuration" and meta:
                return 200, meta
            if rest == "discovery/v2.0/keys" and meta:
                return 200, {"keys": [jwk(self.keys["signing"], "key-1")]}
            if path == "/common/discovery/instance":
                return 200, {"tenant_discovery_endpoint":
                             f"{MS_HOST}/organizations/v2.0/.well-known/openid-configuration"}
        if method == "POST" and path is not None and path.endswith("/oauth2/v2.0/token"):
            return self._token("microsoft", request)
        if method == "GET" and url == G_CERTS:
            return 200, {"g-key-1": certificate_pem(self.keys["signing"])}
        if method == "POST" and url == G_TOKEN:
            return self._token("google", request)
        return 404, {"error": "not_found"}

    # -- the person at the provider's sign-in page --
    def authorize(self, location: str, *, state: str | None = None, error: str | None = None,
                  key: str = "signing", kid: str | None = None, **claims) -> str:
        parts = urlsplit(location)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        provider = "google" if location.startswith(G_AUTH + "?") else "microsoft"
        if provider == "microsoft":
            assert location.startswith(f"{MS_HOST}/"), location
            assert parts.path.endswith("/oauth2/v2.0/authorize")
            assert q["client_id"] == MS_CLIENT_ID
        else:
            assert q["client_id"] == G_CLIENT_ID
        assert q["response_type"] == "code"
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
        assert "openid" in q["scope"].split()
        assert q["state"] and q["nonce"]
        back = {"state": state if state is not None else q["state"]}
        if error:
            back.update(error=error, error_description="The user has cancelled.\nTrace ID: x")
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"provider": provider, "q": q, "claims": claims, "key": key,
                                "kid": kid or ("key-1" if provider == "microsoft" else "g-key-1")}
            back["code"] = code
        return q["redirect_uri"] + "?" + urlencode(back)

    def _token(self, provider, request):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        form = {k: v[0] for k, v in parse_qs(body or "").items()}
        self.token_requests.append(form)
        if self.token_error:
            return self.token_error
        grant = self.codes.pop(form.get("code"), None)
        secret = MS_SECRET if provider == "microsoft" else G_SECRET
        client = MS_CLIENT_ID if provider == "microsoft" else G_CLIENT_ID
        if (grant is None or grant["provider"] != provider or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != client or form.get("client_secret") != secret
                or form.get("redirect_uri") != grant["q"]["redirect_uri"]
                or _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
                != grant["q"]["code_challenge"]):
            return 400, {"error": "invalid_grant", "error_description": "bad code, client or verifier"}
        now = int(time.time())
        if provider == "microsoft":
            claims = {"aud": MS_CLIENT_ID, "iss": f"{MS_HOST}/{TENANT}/v2.0", "tid": TENANT,
                      "oid": TOM_OID, "sub": "pairwise-subject", "name": "Tom Rep",
                      "preferred_username": "tom@contoso.example", "nonce": grant["q"]["nonce"],
                      "iat": now - 10, "nbf": now - 10, "exp": now + 3600, "ver": "2.0"}
        else:
            claims = {"iss": "https://accounts.google.com", "aud": G_CLIENT_ID, "azp": G_CLIENT_ID,
                      "sub": TOM_SUB, "email": "tom@contoso.example", "email_verified": True,
                      "nonce": grant["q"]["nonce"], "iat": now - 5, "exp": now + 3600}
        claims.update(grant["claims"])
        claims = {k: v for k, v in claims.items() if v is not None}
        id_token = jwt.encode(claims, self.keys[grant["key"]], algorithm="RS256",
                              headers={"kid": grant["kid"]})
        answer = {"token_type": "Bearer", "access_token": "opaque-access-token", "expires_in": 3599,
                  "id_token": id_token, "scope": grant["q"]["scope"]}
        if provider == "microsoft":
            answer["client_info"] = _b64(json.dumps({"uid": claims.get("oid", "x"),
                                                     "utid": claims.get("tid", "y")}).encode())
        return 200, answer


@pytest.fixture
def idp(keys):
    return FakeIdP(keys)


@pytest.fixture
def sso_app(make_app, idp):
    """An app with both providers configured, talking to `idp`, and four users."""
    from pitchlint.service.db import get_db, utcnow
    from pitchlint.service.team import admin
    from pitchlint.service.web.sso import HttpSession

    def _make(**overrides):
        http = HttpSession()
        http.mount("https://", idp)
        http.mount("http://", idp)
        cfg = {"SECRET_KEY": "test-secret-key", "MS_CLIENT_ID": MS_CLIENT_ID,
               "MS_CLIENT_SECRET": MS_SECRET, "MS_TENANT": "organizations",
               "MS_AUTHORITY_HOST": MS_HOST, "MS_JWKS_URL": None, "PUBLIC_URL": None,
               "GOOGLE_CLIENT_ID": G_CLIENT_ID, "GOOGLE_CLIENT_SECRET": G_SECRET,
               "GOOGLE_AUTH_URI": G_AUTH, "GOOGLE_TOKEN_URI": G_TOKEN, "GOOGLE_CERTS_URL": G_CERTS,
               "GOOGLE_ISSUERS": ["https://accounts.google.com", "accounts.google.com"],
               "GOOGLE_HOSTED_DOMAIN": None, "MS_WEB_REDIRECT_URI": None,
               "GOOGLE_WEB_REDIRECT_URI": None, "SSO_HTTP_SESSION": http}
        cfg.update(overrides)
        app = make_app(**cfg)
        with app.app_context(), get_db().sessions() as s:
            team = admin.create_team(s, "Contoso", "Sales")
            admin.add_user(s, "Tom@Contoso.example", team, name="Tom")
            admin.add_user(s, "ana@contoso.example", team, role="lead")
            gone = admin.add_user(s, "gone@contoso.example", team)
            gone.disabled_at = utcnow()
            bound = admin.add_user(s, "bound@contoso.example", team)
            bound.ms_tid, bound.ms_oid, bound.google_sub = TENANT, "bound-oid", "bound-sub"
            s.commit()
        return app
    return _make


def _user(app, email):
    from pitchlint.service.db import get_db
    from pitchlint.service.team.admin import find_user

    with app.app_context(), get_db().sessions() as s:
        return find_user(s, email)


def _session(client) -> dict:
    with client.session_transaction() as s:
        return dict(s)


def _flashes(client) -> list[str]:
    return [m for _cat, m in _session(client).get("_flashes", [])]


def sign_in(client, site, provider, next_="/team", **at_provider):
    """Start at /signin/<provider>, sign in at the provider, come back to the callback."""
    start = client.get(f"/signin/{provider}", query_string={"next": next_})
    assert start.status_code == 302, start.get_data(as_text=True)
    return client.get(site.authorize(start.headers["Location"], **at_provider))


def assert_refused(client, resp, message_part):
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/signin"
    s = _session(client)
    assert "uid" not in s and "sso" not in s
    flashes = _flashes(client)
    assert flashes and message_part.lower() in flashes[-1].lower(), flashes


# --- happy paths ---------------------------------------------------------------------------------

def test_microsoft_sign_in_binds_the_user_and_lands_on_next(sso_app, idp):
    app = sso_app()
    client = app.test_client()
    start = client.get("/signin/microsoft?next=/team/samples%3Fweek%3D2")
    assert start.status_code == 302
    loc = urlsplit(start.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(loc.query).items()}
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == f"{MS_HOST}/organizations/oauth2/v2.0/authorize"
    assert q["redirect_uri"] == "http://localhost/auth/microsoft/callback"
    assert q["prompt"] == "select_account" and "offline_access" not in q["scope"]
    cookie = client.get_cookie("pitchlint_session")
    assert cookie is not None and len(cookie.value) < 1500  # the flow is kept small
    assert "uid" not in _session(client)

    resp = client.get(idp.authorize(start.headers["Location"]))
    assert resp.status_code == 302, _flashes(client)
    assert resp.headers["Location"] == "/team/samples?week=2"
    assert resp.headers["Cache-Control"] == "no-store"
    tom = _user(app, "tom@contoso.example")
    s = _session(client)
    assert s["uid"] == tom.id and s["sv"] == tom.session_version and "sso" not in s
    assert (tom.ms_tid, tom.ms_oid) == (TENANT, TOM_OID)
    # msal redeemed the code with the PKCE verifier and the client secret (the IdP checked both).
    assert idp.token_requests and idp.token_requests[-1]["code_verifier"]
    assert ("GET", f"{MS_HOST}/organizations/discovery/v2.0/keys") in idp.hits


def test_google_sign_in_binds_the_user_and_lands_on_next(sso_app, idp):
    app = sso_app()
    client = app.test_client()
    start = client.get("/signin/google?next=/team/trends")
    loc = start.headers["Location"]
    assert loc.startswith(G_AUTH + "?")
    q = {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}
    assert q["redirect_uri"] == "http://localhost/auth/google/callback"
    assert set(q["scope"].split()) == {"openid", "email", "profile"}
    resp = client.get(idp.authorize(loc))
    assert resp.status_code == 302 and resp.headers["Location"] == "/team/trends", _flashes(client)
    tom = _user(app, "tom@contoso.example")
    assert _session(client)["uid"] == tom.id
    assert tom.google_sub == TOM_SUB
    form = idp.token_requests[-1]
    assert form["client_secret"] == G_SECRET and form["redirect_uri"] == q["redirect_uri"]
    assert ("GET", G_CERTS) in idp.hits


def test_google_certificates_are_fetched_once_for_many_sign_ins(sso_app, idp):
    app = sso_app()
    for _ in range(3):
        client = app.test_client()
        resp = sign_in(client, idp, "google")
        assert resp.status_code == 302 and resp.headers["Location"] == "/team", _flashes(client)
    assert idp.hits.count(("GET", G_CERTS)) == 1


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_redirect_uri_comes_from_public_url(sso_app, idp, provider):
    client = sso_app(PUBLIC_URL="https://pitchlint.contoso.example").test_client()
    start = client.get(f"/signin/{provider}")
    q = parse_qs(urlsplit(start.headers["Location"]).query)
    assert q["redirect_uri"] == [f"https://pitchlint.contoso.example/auth/{provider}/callback"]
    callback = idp.authorize(start.headers["Location"])
    resp = client.get(urlsplit(callback).path + "?" + urlsplit(callback).query)
    assert resp.status_code == 302 and resp.headers["Location"] == "/team", _flashes(client)


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_a_bound_identity_signs_in_even_after_the_address_changes(sso_app, idp, provider):
    app = sso_app()
    client = app.test_client()
    who = {"oid": "bound-oid", "preferred_username": "renamed@contoso.example"} \
        if provider == "microsoft" else {"sub": "bound-sub", "email": "renamed@gmail.example"}
    resp = sign_in(client, idp, provider, **who)
    assert resp.status_code == 302 and resp.headers["Location"] == "/team", _flashes(client)
    assert _session(client)["uid"] == _user(app, "bound@contoso.example").id


# --- who may sign in -----------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_unknown_person_is_sent_back_without_a_session(sso_app, idp, provider):
    client = sso_app().test_client()
    who = {"oid": "stranger-oid", "preferred_username": "stranger@contoso.example"} \
        if provider == "microsoft" else {"sub": "999", "email": "stranger@contoso.example"}
    resp = sign_in(client, idp, provider, next_="/team/samples", **who)
    assert_refused(client, resp, "No Pitchlint account for stranger@contoso.example; ask your "
                   "admin to add you")
    assert parse_qs(urlsplit(resp.headers["Location"]).query) == {"next": ["/team/samples"]}


def test_unverified_google_address_is_refused(sso_app, idp):
    app = sso_app()
    client = app.test_client()
    resp = sign_in(client, idp, "google", email_verified=False)
    assert_refused(client, resp, "has not verified tom@contoso.example")
    assert _user(app, "tom@contoso.example").google_sub is None


def test_microsoft_unverified_email_claim_is_not_used_to_match(sso_app, idp):
    """Entra's `email` claim can be typed in by any tenant's admin: without xms_edov it does
    not match an account in a multi-tenant setup; the tenant's own sign-in name does."""
    app = sso_app()
    client = app.test_client()
    resp = sign_in(client, idp, "microsoft", tid=OTHER_TENANT, iss=f"{MS_HOST}/{OTHER_TENANT}/v2.0",
                   oid="attacker", preferred_username="mallory@evil.example",
                   email="tom@contoso.example")
    assert_refused(client, resp, "No Pitchlint account for mallory@evil.example")
    assert _user(app, "tom@contoso.example").ms_oid is None
    # With the domain-owner-verified flag, the same claim does count.
    resp = sign_in(client, idp, "microsoft", preferred_username="tom.rep@contoso.onmicrosoft.example",
                   email="tom@contoso.example", xms_edov=True)
    assert resp.status_code == 302 and resp.headers["Location"] == "/team", _flashes(client)


@pytest.mark.parametrize("tenant", ["organizations", TENANT])
def test_microsoft_guest_addresses_are_not_used_to_match(sso_app, idp, tenant):
    """A guest's token (its home identity provider in `idp`) carries addresses the inviting
    tenant never verified."""
    app = sso_app(MS_TENANT=tenant)
    client = app.test_client()
    resp = sign_in(client, idp, "microsoft", oid="guest-oid", email="tom@contoso.example",
                   preferred_username="tom@contoso.example",
                   idp="https://sts.windows.net/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/")
    assert_refused(client, resp, "did not share a verified e-mail address")
    assert _user(app, "tom@contoso.example").ms_oid is None


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_account_bound_to_another_identity_cannot_be_taken_over(sso_app, idp, provider):
    app = sso_app()
    client = app.test_client()
    who = {"oid": "another-oid", "preferred_username": "bound@contoso.example"} \
        if provider == "microsoft" else {"sub": "another-sub", "email": "bound@contoso.example"}
    resp = sign_in(client, idp, provider, **who)
    assert_refused(client, resp, "is linked to a different")
    bound = _user(app, "bound@contoso.example")
    assert (bound.ms_oid, bound.google_sub) == ("bound-oid", "bound-sub")


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_disabled_user_is_refused(sso_app, idp, provider):
    app = sso_app()
    client = app.test_client()
    who = {"oid": "gone-oid", "preferred_username": "gone@contoso.example"} \
        if provider == "microsoft" else {"sub": "gone-sub", "email": "gone@contoso.example"}
    resp = sign_in(client, idp, provider, **who)
    assert_refused(client, resp, "is disabled")
    gone = _user(app, "gone@contoso.example")
    assert gone.ms_oid is None and gone.google_sub is None
    # Disabled after binding: still refused.
    from pitchlint.service.db import get_db, utcnow
    with app.app_context(), get_db().sessions() as s:
        from pitchlint.service.team.admin import find_user
        tom = find_user(s, "tom@contoso.example")
        tom.ms_tid, tom.ms_oid, tom.google_sub, tom.disabled_at = TENANT, TOM_OID, TOM_SUB, utcnow()
        s.commit()
    assert_refused(client, sign_in(client, idp, provider), "is disabled")


def test_single_tenant_refuses_other_tenants(sso_app, idp):
    client = sso_app(MS_TENANT=TENANT).test_client()
    resp = sign_in(client, idp, "microsoft", tid=OTHER_TENANT, iss=f"{MS_HOST}/{OTHER_TENANT}/v2.0")
    assert_refused(client, resp, "organisation is not accepted")
    # The one accepted tenant's own `email` attribute counts (its admins set it).
    resp = sign_in(client, idp, "microsoft", preferred_username="tom.rep@contoso.onmicrosoft.example",
                   email="tom@contoso.example")
    assert resp.headers["Location"] == "/team", _flashes(client)


def test_hosted_domain_is_enforced(sso_app, idp):
    client = sso_app(GOOGLE_HOSTED_DOMAIN="contoso.example").test_client()
    start = client.get("/signin/google")
    assert parse_qs(urlsplit(start.headers["Location"]).query)["hd"] == ["contoso.example"]
    assert_refused(client, client.get(idp.authorize(start.headers["Location"])),
                   "Only contoso.example Google accounts")
    resp = sign_in(client, idp, "google", hd="contoso.example")
    assert resp.headers["Location"] == "/team", _flashes(client)


# --- bad tokens ----------------------------------------------------------------------------------

NOW = int(time.time())
MS_BAD = {
    "wrong audience": ({"aud": "00000003-0000-0000-c000-000000000000"}, "another application"),
    "expired": ({"iat": NOW - 7200, "nbf": NOW - 7200, "exp": NOW - 3600}, "expired"),
    "wrong issuer": ({"iss": f"https://evil.example/{TENANT}/v2.0"}, "wrong issuer"),
    "issuer of another tenant": ({"iss": f"{MS_HOST}/{OTHER_TENANT}/v2.0"}, "wrong issuer"),
    "bad signature": ({"key": "other"}, "bad signature"),
    "unpublished key": ({"key": "other", "kid": "rotated-away"}, "does not publish"),
    "wrong nonce": ({"nonce": hashlib.sha256(b"another").hexdigest()}, "nonce"),
    "no nonce": ({"nonce": None}, "nonce"),
    "personal account": ({"tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
                          "iss": f"{MS_HOST}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"},
                         "organisation is not accepted"),
}


@pytest.mark.parametrize("case", list(MS_BAD))
def test_bad_microsoft_tokens_are_refused(sso_app, idp, case):
    app = sso_app()
    client = app.test_client()
    at_provider, message = MS_BAD[case]
    resp = sign_in(client, idp, "microsoft", **at_provider)
    assert_refused(client, resp, message)
    assert _user(app, "tom@contoso.example").ms_oid is None


G_BAD = {
    "wrong audience": ({"aud": "someone-else.apps.googleusercontent.com"}, "another application"),
    "expired": ({"iat": NOW - 7200, "exp": NOW - 3600}, "expired"),
    "wrong issuer": ({"iss": "https://accounts.evil.example"}, "wrong issuer"),
    "bad signature": ({"key": "other"}, "could not be verified"),
    "wrong nonce": ({"nonce": "another-nonce"}, "nonce"),
    "no nonce": ({"nonce": None}, "nonce"),
}


@pytest.mark.parametrize("case", list(G_BAD))
def test_bad_google_tokens_are_refused(sso_app, idp, case):
    app = sso_app()
    client = app.test_client()
    at_provider, message = G_BAD[case]
    resp = sign_in(client, idp, "google", **at_provider)
    assert_refused(client, resp, message)
    assert _user(app, "tom@contoso.example").google_sub is None


# --- the flow itself -----------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_state_mismatch_is_refused(sso_app, idp, provider):
    """Login CSRF: a callback carrying someone else's code and state is not this browser's."""
    client = sso_app().test_client()
    resp = sign_in(client, idp, provider, state="forged-state")
    assert_refused(client, resp, "state mismatch")
    assert idp.token_requests == []  # the code was never redeemed


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_callback_without_a_started_flow_is_refused(sso_app, idp, provider):
    app = sso_app()
    starter, victim = app.test_client(), app.test_client()
    start = starter.get(f"/signin/{provider}")
    callback = idp.authorize(start.headers["Location"])  # the attacker's own code and state
    resp = victim.get(callback)
    assert_refused(victim, resp, "was not started here")
    assert idp.token_requests == []


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_a_flow_is_used_once(sso_app, idp, provider):
    """A failed callback ends the flow too: no second guess at the state."""
    client = sso_app().test_client()
    start = client.get(f"/signin/{provider}")
    callback = idp.authorize(start.headers["Location"])
    parts = urlsplit(callback)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = f"{parts.path}?{urlencode(dict(q, state='guessed'))}"
    assert_refused(client, client.get(forged), "state mismatch")
    assert_refused(client, client.get(callback), "was not started here")
    assert idp.token_requests == []


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_cancelled_at_the_provider(sso_app, idp, provider):
    client = sso_app().test_client()
    resp = sign_in(client, idp, provider, error="access_denied")
    assert_refused(client, resp, "was cancelled")


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_token_endpoint_error_is_refused(sso_app, idp, provider):
    client = sso_app().test_client()
    idp.token_error = (400, {"error": "invalid_grant", "error_description": "AADSTS70008: expired code"})
    resp = sign_in(client, idp, provider)
    assert_refused(client, resp, "invalid_grant")


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_pkce_verifier_must_match(sso_app, idp, provider):
    """The token endpoint gets the verifier of this browser's flow: a code issued for another
    flow's challenge is not redeemable with it."""
    client = sso_app().test_client()
    start = client.get(f"/signin/{provider}")
    other = urlsplit(start.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(other.query).items()}
    q["code_challenge"] = _b64(hashlib.sha256(b"x" * 64).digest())
    tampered = f"{other.scheme}://{other.netloc}{other.path}?{urlencode(q)}"
    assert_refused(client, client.get(idp.authorize(tampered)), "invalid_grant")


@pytest.mark.parametrize("provider", ["microsoft", "google"])
@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "/\\/evil.example", "javascript:alert(1)", " //evil.example"])
def test_next_cannot_leave_the_site(sso_app, idp, provider, target):
    client = sso_app().test_client()
    resp = sign_in(client, idp, provider, next_=target)
    assert resp.status_code == 302, _flashes(client)
    assert resp.headers["Location"] == "/team"
    assert "uid" in _session(client)


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_no_session_fixation(sso_app, idp, provider):
    app = sso_app()
    client = app.test_client()
    with client.session_transaction() as s:  # values an attacker planted before sign-in
        s["csrf"] = "attacker-knows-this"
        s["planted"] = "by-attacker"
        s["uid"] = 999
    before = client.get_cookie("pitchlint_session").value
    resp = sign_in(client, idp, provider)
    assert resp.headers["Location"] == "/team", _flashes(client)
    s = _session(client)
    assert "planted" not in s
    assert s["csrf"] and s["csrf"] != "attacker-knows-this"
    assert s["uid"] == _user(app, "tom@contoso.example").id
    assert client.get_cookie("pitchlint_session").value != before


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_not_configured_is_404(sso_app, idp, provider):
    off = {"MS_CLIENT_SECRET": None} if provider == "microsoft" else {"GOOGLE_CLIENT_ID": None}
    client = sso_app(**off).test_client()
    for path in (f"/signin/{provider}", f"/auth/{provider}/callback?code=x&state=y"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "signin_not_configured"
    assert idp.hits == []


def test_microsoft_unreachable_is_a_message_not_a_crash(sso_app, idp):
    client = sso_app(MS_TENANT="contoso-unknown.example").test_client()
    resp = client.get("/signin/microsoft")
    assert_refused(client, resp, "unavailable")
