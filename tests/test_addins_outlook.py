"""The Outlook add-in's service side: Office SSO tokens (RS256, checked against a key set that a
loopback server publishes, as Microsoft's does), API keys as the alternative, and the add-in's
web files."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from .signing import jwk
from .test_addins_text import LoopbackSite, RecordingAnalyzer, shipped_analyzer

CLIENT_ID = "6f1c3a52-8d0e-4b7a-9c21-0a5d2e7f9b14"
TENANT = "9b2d4e61-1f3a-4c8b-a7d5-3e6f8a0b2c4d"
OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
PITCH = ("Hi Dana,\n\nI apologise for being a pain, but did my last three emails get through? "
         "Please, let's talk this week.\n\nTom")


@pytest.fixture(scope="module")
def analyzer():
    """The shipped model when there is one (see test_addins_text), recording what it is asked."""
    return RecordingAnalyzer(shipped_analyzer())


@pytest.fixture(scope="module")
def keys():
    return {"signing": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture(scope="module")
def identity_site(keys):
    site = LoopbackSite()
    site.docs["/discovery/v2.0/keys"] = (200, {"keys": [jwk(keys["signing"], "key-1")]})
    for tenant in ("organizations", TENANT):
        site.docs[f"/{tenant}/v2.0/.well-known/openid-configuration"] = (200, {
            "issuer": f"{site.url}/{{tenantid}}/v2.0",
            "authorization_endpoint": f"{site.url}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{site.url}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{site.url}/discovery/v2.0/keys"})
    yield site
    site.close()


def make_token(key, kid="key-1", **overrides) -> str:
    now = int(time.time())
    claims = {"aud": CLIENT_ID, "iss": ISSUER, "tid": TENANT, "oid": "0b8e3f2a-user",
              "name": "Tom Rep", "preferred_username": "tom@contoso.example", "scp": "access_as_user",
              "iat": now - 10, "nbf": now - 10, "exp": now + 3600, "ver": "2.0"}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def outlook_app(make_app, identity_site):
    def _make(**overrides):
        cfg = {"MS_CLIENT_ID": CLIENT_ID, "MS_TENANT": "organizations",
               "MS_JWKS_URL": f"{identity_site.url}/discovery/v2.0/keys", "REQUIRE_KEYS": True}
        cfg.update(overrides)
        return make_app(**cfg)
    return _make


def _analyze(client, token, text=PITCH):
    return client.post("/addin/outlook/api/analyze", json={"text": text},
                       headers={"Authorization": f"Bearer {token}"})


def test_valid_token_gets_the_contract_answer(outlook_app, keys):
    client = outlook_app().test_client()
    resp = _analyze(client, make_token(keys["signing"]))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert set(body) >= {"model", "focus", "tone", "sentences"}
    assert "".join(s["text"] for s in body["sentences"]).replace(" ", "") == PITCH.replace(" ", "").replace("\n", "")
    me = client.get("/addin/outlook/api/me", headers={"Authorization": f"Bearer {make_token(keys['signing'])}"})
    assert me.get_json() == {"signed_in_with": "microsoft", "name": "Tom Rep",
                             "username": "tom@contoso.example", "tenant_id": TENANT}


def test_v1_style_audience_and_issuer_are_accepted(outlook_app, keys):
    client = outlook_app().test_client()
    token = make_token(keys["signing"], aud=f"api://addin.contoso.example/{CLIENT_ID}",
                       iss=f"https://sts.windows.net/{TENANT}/", ver="1.0")
    assert _analyze(client, token).status_code == 200


@pytest.mark.parametrize("claims,code", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200, "nbf": int(time.time()) - 7200},
     "token_expired"),
    ({"aud": "00000003-0000-0000-c000-000000000000"}, "wrong_audience"),
    ({"aud": f"api://addin.contoso.example/{uuid.uuid4()}"}, "wrong_audience"),
    ({"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}, "wrong_issuer"),
    ({"iss": "https://evil.example/" + TENANT + "/v2.0"}, "wrong_issuer"),
    ({"oid": None}, "invalid_token"),
])
def test_bad_claims_are_refused(outlook_app, keys, claims, code):
    client = outlook_app().test_client()
    resp = _analyze(client, make_token(keys["signing"], **claims))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == code
    assert resp.get_json()["error"]["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_signature_is_refused(outlook_app, keys):
    # Signed by another key but naming the published key's id.
    resp = _analyze(outlook_app().test_client(), make_token(keys["other"], kid="key-1"))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "invalid_signature"


def test_tampered_token_is_refused(outlook_app, keys):
    head, payload, sig = make_token(keys["signing"]).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["oid"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    resp = _analyze(outlook_app().test_client(), f"{head}.{forged}.{sig}")
    assert resp.get_json()["error"]["code"] == "invalid_signature"


def test_unknown_key_id_is_refused(outlook_app, keys):
    resp = _analyze(outlook_app().test_client(), make_token(keys["other"], kid="key-rotated-away"))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unknown_signing_key"
    assert "key-rotated-away" in resp.get_json()["error"]["message"]


def test_token_without_the_add_in_scope_is_forbidden(outlook_app, keys):
    resp = _analyze(outlook_app().test_client(), make_token(keys["signing"], scp="User.Read"))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "missing_scope"


def test_single_tenant_refuses_other_tenants(outlook_app, keys):
    client = outlook_app(MS_TENANT=TENANT).test_client()
    assert _analyze(client, make_token(keys["signing"])).status_code == 200
    other = make_token(keys["signing"], tid=OTHER_TENANT,
                       iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")
    resp = _analyze(client, other)
    assert resp.get_json()["error"]["code"] == "wrong_tenant"


def test_key_set_found_through_openid_metadata(outlook_app, keys, identity_site):
    # No key-set URL configured: msal reads the authority's OpenID metadata to find it.
    app = outlook_app(MS_JWKS_URL=None, MS_AUTHORITY_HOST=identity_site.url, MS_TENANT=TENANT)
    token = make_token(keys["signing"], iss=f"{identity_site.url}/{TENANT}/v2.0")
    before = identity_site.hits.get(f"/{TENANT}/v2.0/.well-known/openid-configuration", 0)
    client = app.test_client()
    assert _analyze(client, token).status_code == 200
    assert _analyze(client, token).status_code == 200
    assert identity_site.hits[f"/{TENANT}/v2.0/.well-known/openid-configuration"] == before + 1


def test_unreachable_key_set_is_a_503_not_a_crash(outlook_app, keys):
    client = outlook_app(MS_JWKS_URL="http://127.0.0.1:9/keys").test_client()
    resp = _analyze(client, make_token(keys["signing"]))
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "identity_keys_unavailable"


def test_sign_in_not_configured_says_so(make_app, keys):
    client = make_app(REQUIRE_KEYS=True, MS_CLIENT_ID=None).test_client()
    resp = _analyze(client, make_token(keys["signing"]))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "signin_not_configured"


@pytest.mark.db
def test_api_keys_remain_an_alternative(outlook_app):
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key

    app = outlook_app()
    with app.app_context(), get_db().sessions() as s:
        _, key = create_key(s, "outlook test")
    client = app.test_client()
    assert _analyze(client, key).status_code == 200
    assert client.get("/addin/outlook/api/me", headers={"Authorization": f"Bearer {key}"}).get_json() == \
        {"signed_in_with": "api_key", "name": "outlook test"}
    missing = client.post("/addin/outlook/api/analyze", json={"text": PITCH})
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "missing_key"


@pytest.mark.db
def test_feedback_from_the_pane_is_stored_masked(outlook_app, keys):
    from sqlalchemy import select

    from pitchlint.service.addins.feedback import SentenceFeedback
    from pitchlint.service.db import get_db

    app = outlook_app()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {make_token(keys['signing'])}"}
    resp = client.post("/addin/outlook/api/feedback", headers=auth, json={
        "sentence": "Write to tom@acme.example, sorry to chase.", "label": "desperate", "kind": "wrong"})
    assert resp.status_code == 201 and resp.get_json()["stored"] is True
    bad = client.post("/addin/outlook/api/feedback", headers=auth,
                      json={"sentence": "x", "label": "rude", "kind": "wrong"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_feedback"
    assert client.post("/addin/outlook/api/feedback", json={"sentence": "x", "label": "desperate"}).status_code == 401
    with app.app_context(), get_db().sessions() as s:
        rows = list(s.scalars(select(SentenceFeedback)))
    assert [(r.source, r.label, r.kind, r.masked_text) for r in rows] == [
        ("outlook", "desperate", "wrong", "Write to [email], sorry to chase.")]


def test_contract_errors_keep_their_shape(outlook_app, keys):
    client = outlook_app().test_client()
    resp = client.post("/addin/outlook/api/analyze", json={"text": PITCH, "mode": "shout"},
                       headers={"Authorization": f"Bearer {make_token(keys['signing'])}"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_mode"


def test_serves_the_add_in_files_and_nothing_else(make_app):
    client = make_app(PUBLIC_URL="https://addin.contoso.example").test_client()
    page = client.get("/addin/outlook/taskpane.html")
    assert page.status_code == 200 and b"Pitchlint" in page.data
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/addin/outlook/src/onsend.js").status_code == 200
    assert client.get("/addin/outlook/assets/icon-64.png").mimetype == "image/png"
    for path in ("package.json", "test/onsend.test.js", "node_modules/x.js", "../../pyproject.toml",
                 "src/../package.json", "README.md"):
        assert client.get(f"/addin/outlook/{path}").status_code == 404, path
    bundle = client.get("/addin/outlook/launchevent.js")
    assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"
    text = bundle.get_data(as_text=True)
    assert 'var PITCHLINT_SERVICE_URL = "https://addin.contoso.example";' in text
    assert "Office.actions.associate" in text and "onMessageSendHandler" in text


NODE_HARNESS = r"""
const vm = require("vm"), fs = require("fs");
const bundle = fs.readFileSync(process.argv[2], "utf8");
const answer = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const associated = {};
const ctx = {
  setTimeout, clearTimeout, console,
  fetch: async (url, init) => ({ ok: true, status: 200, json: async () => answer, url }),
  Office: {
    actions: { associate: (name, fn) => { associated[name] = fn; } },
    context: { mailbox: { item: {
      body: { getAsync: (t, o, cb) => cb({ status: "succeeded", value: "I apologise for chasing again." }) },
      subject: { getAsync: (cb) => cb({ status: "succeeded", value: "Hi" }) } } },
      roamingSettings: { get: () => null } },
    auth: { getAccessToken: async () => { throw new Error("no SSO here"); } },
    CoercionType: { Text: "text" }, AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: { SendModeOverride: { PromptUser: "promptUser" } },
  },
};
vm.runInNewContext(bundle, ctx, { filename: "launchevent.js" });
associated.onMessageSendHandler({ completed: (o) => { console.log(JSON.stringify(o)); } });
"""


@pytest.mark.skipif(__import__("shutil").which("node") is None, reason="needs Node.js")
def test_launchevent_bundle_runs_as_one_plain_script(make_app, tmp_path):
    """Classic Outlook on Windows loads launchevent.js alone, in a runtime without modules."""
    import subprocess

    client = make_app(PUBLIC_URL="https://addin.contoso.example").test_client()
    (tmp_path / "launchevent.js").write_bytes(client.get("/addin/outlook/launchevent.js").data)
    answer = {"model": {"name": "m", "version": "1"}, "focus": {"label": "me_talk", "scores": {}},
              "tone": {"label": "desperate", "flags": ["desperate"], "scores": {}},
              "sentences": [{"start": 0, "end": 30, "text": "I apologise for chasing again.",
                             "focus": {"label": "me_talk", "scores": {}},
                             "tone": {"label": "desperate", "scores": {}}, "flagged": True,
                             "message": "Apologising reads as desperate."}]}
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    out = subprocess.run(["node", str(tmp_path / "harness.js"), str(tmp_path / "launchevent.js"),
                          str(tmp_path / "answer.json")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert options["allowEvent"] is False
    assert options["errorMessage"].startswith("1 sentence reads as desperate; 1 as me-talk.")
    assert options["sendModeOverride"] == "promptUser"


def test_a_bound_microsoft_account_keeps_team_history(outlook_app, keys):
    """A user who signed in to the pages with Microsoft (oid/tid bound) and whose team keeps
    history: the add-in's analyses are kept for them; an unbound account keeps nothing."""
    from pitchlint.service.db import get_db
    from pitchlint.service.team import admin

    app = outlook_app()
    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Contoso", "Sales", history=True)
        user = admin.add_user(s, "tom@contoso.example", team, "member")
        user.ms_tid, user.ms_oid = TENANT, "0b8e3f2a-user"
        s.commit()
    client = app.test_client()
    body = _analyze(client, make_token(keys["signing"])).get_json()
    assert body["history"]["kept"] is True and body["history"]["samples"] >= 1
    assert any(x.get("sample_id") for x in body["sentences"])
    other = _analyze(client, make_token(keys["signing"], oid="someone-else")).get_json()
    assert "history" not in other
