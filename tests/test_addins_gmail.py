"""The Gmail add-on: Google's ID token on every request (signed by a local key, published as
Google publishes its certificates, by a loopback server), the cards each trigger answers
(checked against manifest/gmail/card.schema.json), the Gmail API reads (HttpMockSequence with
responses shaped as Gmail's), failures as readable cards, and feedback storage."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jsonschema
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from googleapiclient.http import HttpMockSequence

from .signing import certificate_pem
from .test_addins_text import LoopbackSite, RecordingAnalyzer, shipped_analyzer

ROOT = Path(__file__).resolve().parents[1]
AUDIENCE = "https://pitchlint.example.com/addin"
ADDON_EMAIL = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
CARD_SCHEMA = json.loads((ROOT / "manifest" / "gmail" / "card.schema.json").read_text())
PITCH = ("Hi Sam,\n\nI apologise for chasing again, but did my last three emails get through? "
         "Our company is the leading platform for logistics. Come January you will be moved to "
         "another account manager and 2013 pricing will be in full effect.\n\nTom")


@pytest.fixture(scope="module")
def analyzer():
    return RecordingAnalyzer(shipped_analyzer())


@pytest.fixture(scope="module")
def google_keys():
    return {"signing": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture(scope="module")
def certs_site(google_keys):
    site = LoopbackSite()
    site.docs["/oauth2/v1/certs"] = (200, {"g-key-1": certificate_pem(google_keys["signing"])})
    yield site
    site.close()


def google_token(key, kid="g-key-1", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "azp": "1234567890",
              "email": ADDON_EMAIL, "email_verified": True, "sub": "1234567890",
              "iat": now - 5, "exp": now + 3600}
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class RecordingHttp(HttpMockSequence):
    """Gmail's answers in order; keeps each request's URI and headers."""

    def __init__(self, iterable):
        super().__init__(iterable)
        self.requests: list[tuple[str, dict]] = []

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        self.requests.append((uri, dict(headers or {})))
        return super().request(uri, method, body, headers, redirections, connection_type)


@pytest.fixture
def gmail(make_app, certs_site, google_keys):
    """An app plus helpers: post(endpoint, event, answers) with Gmail answering `answers`."""

    class Harness:
        http: RecordingHttp | None = None

        def __init__(self, **overrides):
            cfg = {"GOOGLE_AUDIENCES": [AUDIENCE], "GOOGLE_ADDON_EMAIL": ADDON_EMAIL,
                   "GOOGLE_CERTS_URL": f"{certs_site.url}/oauth2/v1/certs",
                   "GMAIL_HTTP_FACTORY": lambda: self.http}
            cfg.update(overrides)
            self.app = make_app(**cfg)
            self.client = self.app.test_client()

        def post(self, endpoint, event=None, answers=(), token=None, check_card=True):
            self.http = RecordingHttp(list(answers))
            token = token if token is not None else google_token(google_keys["signing"])
            resp = self.client.post(f"/addin/gmail/{endpoint}", json=event if event is not None else {},
                                    headers={"Authorization": f"Bearer {token}"} if token else {})
            if check_card and resp.status_code == 200:
                jsonschema.validate(resp.get_json(), CARD_SCHEMA)
            return resp

    return Harness


def event(message_id="msg-1", thread_id=None, draft_id=None, params=None, with_token=True):
    gm = {"messageId": message_id, "accessToken": "per-message-token"}
    if thread_id:
        gm["threadId"] = thread_id
    if draft_id:
        gm["draftId"] = draft_id
    ev = {"commonEventObject": {"hostApp": "GMAIL", "platform": "WEB"}, "gmail": gm}
    if params:
        ev["commonEventObject"]["parameters"] = params
    if with_token:
        ev["authorizationEventObject"] = {"userOAuthToken": "ya29.user-token",
                                          "systemIdToken": "ignored"}
    return ev


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def part(mime, text, charset="UTF-8", filename=""):
    return {"partId": "0", "mimeType": mime, "filename": filename,
            "headers": [{"name": "Content-Type", "value": f'{mime}; charset="{charset}"'}],
            "body": {"size": len(text), "data": b64(text.encode(charset))}}


def message(payload, subject="Following up", msg_id="msg-1", labels=("INBOX",), size=4000):
    payload = dict(payload)
    payload["headers"] = payload.get("headers", []) + [{"name": "Subject", "value": subject},
                                                       {"name": "From", "value": "Tom <tom@acme.example>"}]
    return {"id": msg_id, "threadId": "t-1", "labelIds": list(labels), "sizeEstimate": size,
            "payload": payload}


def ok(doc):
    return ({"status": "200", "content-type": "application/json"}, json.dumps(doc))


def http_error(status, reason):
    return ({"status": str(status), "content-type": "application/json"},
            json.dumps({"error": {"code": status, "message": reason, "status": reason}}))


def card_of(resp):
    body = resp.get_json()
    if "action" in body:
        return body["action"]["navigations"][0]["pushCard"]
    return body["renderActions"]["action"]["navigations"][0]["updateCard"]


def card_text(card) -> str:
    return json.dumps(card, ensure_ascii=False)


# ---- Google's ID token --------------------------------------------------------------------

def test_homepage_with_a_valid_token(gmail):
    resp = gmail().post("homepage", {"commonEventObject": {"hostApp": "GMAIL"}})
    assert resp.status_code == 200
    assert "Nothing is stored" in card_text(card_of(resp))


@pytest.mark.parametrize("claims,code", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "google_token_expired"),
    ({"aud": "https://someone-else.example/addin"}, "google_wrong_audience"),
    ({"iss": "https://evil.example"}, "google_wrong_issuer"),
    ({"email": "attacker@other-project.iam.gserviceaccount.com"}, "google_wrong_caller"),
])
def test_bad_google_tokens_are_refused(gmail, google_keys, claims, code):
    resp = gmail().post("message", event(), token=google_token(google_keys["signing"], **claims))
    assert resp.status_code == 401, resp.get_json()
    assert resp.get_json()["error"]["code"] == code


def test_bad_signature_and_unknown_key_are_refused(gmail, google_keys):
    h = gmail()
    for token in (google_token(google_keys["other"]),                  # wrong key, right kid
                  google_token(google_keys["other"], kid="g-key-9"),   # key not published
                  "not-a-token"):
        resp = h.post("homepage", {}, token=token)
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "invalid_google_token"
        assert resp.get_json()["error"]["message"]


def test_missing_token_is_refused(gmail):
    resp = gmail().post("homepage", {}, token="")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "missing_google_token"


def test_the_endpoint_url_is_an_accepted_audience(gmail, google_keys):
    h = gmail(GOOGLE_AUDIENCES=[], PUBLIC_URL="https://pitchlint.example.com")
    token = google_token(google_keys["signing"], aud="https://pitchlint.example.com/addin/gmail/homepage")
    resp = h.post("homepage", {}, token=token)
    assert resp.status_code == 200
    assert card_of(resp)["header"]["imageUrl"] == "https://pitchlint.example.com/addin/outlook/assets/icon-64.png"
    # ... but only for that endpoint
    assert h.post("message", event(), token=token).status_code == 401


def test_unconfigured_add_on_says_what_to_set(gmail):
    resp = gmail(GOOGLE_AUDIENCES=[], PUBLIC_URL=None).post("homepage", {})
    assert resp.status_code == 503
    assert "PITCHLINT_GOOGLE_AUDIENCE" in resp.get_json()["error"]["message"]


def test_certificates_are_fetched_once(gmail, certs_site):
    h = gmail()
    before = certs_site.hits.get("/oauth2/v1/certs", 0)
    for _ in range(3):
        assert h.post("homepage", {}).status_code == 200
    assert certs_site.hits["/oauth2/v1/certs"] - before <= 1


# ---- the opened message -------------------------------------------------------------------

def test_plain_message_is_classified_in_read_mode(gmail, analyzer):
    h = gmail()
    resp = h.post("message", event(), [ok(message(part("text/plain", PITCH)))])
    card = card_of(resp)
    assert card["header"]["subtitle"].startswith("This incoming pitch")
    assert analyzer.asked[-1]["mode"] == "read"
    assert analyzer.asked[-1]["subject"] == "Following up"
    uri, headers = h.http.requests[0]
    assert "/gmail/v1/users/me/messages/msg-1" in uri and "format=full" in uri
    assert headers.get("authorization") == "Bearer ya29.user-token"
    assert headers.get("X-Goog-Gmail-Access-Token") == "per-message-token"
    # every flagged sentence is listed, each with a feedback button
    result = analyzer.inner.analyze_batch([analyzer.asked[-1]])[0]
    flagged = [s for s in result["sentences"] if s["flagged"]]
    listed = [w for sec in card["sections"][1:] for w in sec["widgets"] if "decoratedText" in w]
    assert len(listed) == len(flagged)
    for w in listed:
        assert w["decoratedText"]["button"]["onClick"]["action"]["function"].endswith("/addin/gmail/feedback")


def test_html_only_message_leaves_out_the_quoted_thread(gmail, analyzer):
    html = ("<div dir='ltr'><p>Hi Sam,</p><p>Sorry to chase &amp; bother you again.</p>"
            "<div class='gmail_quote'><div>On Mon, Nov 3, 2026 at 10:02 AM Sam &lt;sam@buyer.example&gt; wrote:</div>"
            "<blockquote>We have no budget this year.</blockquote></div></div>")
    resp = gmail().post("message", event(), [ok(message(part("text/html", html)))])
    assert resp.status_code == 200
    sent = analyzer.asked[-1]["text"]
    assert "Sorry to chase & bother you again." in sent
    assert "no budget" not in sent and "wrote:" not in sent


def test_multipart_message_prefers_plain_text_and_skips_attachments(gmail, analyzer):
    payload = {"mimeType": "multipart/mixed", "parts": [
        {"mimeType": "multipart/alternative", "parts": [
            part("text/plain", "Plain words: could we talk on Tuesday?"),
            part("text/html", "<p>HTML words: could we talk on Tuesday?</p>")]},
        {"mimeType": "application/pdf", "filename": "deck.pdf",
         "body": {"attachmentId": "att-1", "size": 200000}}]}
    resp = gmail().post("message", event(), [ok(message(payload))])
    assert resp.status_code == 200
    assert analyzer.asked[-1]["text"].startswith("Plain words")


@pytest.mark.parametrize("charset,text", [
    ("ISO-8859-1", "Désolé de vous relancer, mais avez-vous reçu mes messages ?"),
    ("windows-1252", "I\u2019m sorry to chase \u2013 did you get my note?"),
    ("no-such-charset", "Plain ASCII still reads fine."),
])
def test_non_utf8_charsets_are_decoded(gmail, analyzer, charset, text):
    p = part("text/plain", text, charset="latin-1" if charset == "no-such-charset" else charset)
    p["headers"] = [{"name": "Content-Type", "value": f"text/plain; charset={charset}"}]
    resp = gmail().post("message", event(), [ok(message({"mimeType": "text/plain", **p}))])
    assert resp.status_code == 200
    assert analyzer.asked[-1]["text"] == text


@pytest.mark.parametrize("answer,expected", [
    (http_error(403, "PERMISSION_DENIED"), "reopen the add-on"),
    (http_error(401, "UNAUTHENTICATED"), "reopen the add-on"),
    (http_error(404, "NOT_FOUND"), "could not find this message"),
    (http_error(500, "INTERNAL"), "answered with an error (500)"),
])
def test_gmail_errors_become_readable_cards(gmail, answer, expected):
    resp = gmail().post("message", event(), [answer, answer])
    assert resp.status_code == 200
    card = card_of(resp)
    assert card["header"]["subtitle"] == "Could not check this email"
    assert expected.lower() in card_text(card).lower()


def test_oversized_message_is_not_read(gmail, analyzer):
    before = len(analyzer.asked)
    resp = gmail().post("message", event(), [ok(message(part("text/plain", PITCH), size=30_000_000))])
    assert "30.0 MB" in card_text(card_of(resp))
    assert len(analyzer.asked) == before


def test_text_over_the_limit_gets_a_card(gmail):
    resp = gmail(MAX_TEXT_CHARS=100).post("message", event(), [ok(message(part("text/plain", PITCH)))])
    assert "too long" in card_text(card_of(resp))


def test_message_without_the_users_token_gets_a_card(gmail):
    resp = gmail().post("message", event(with_token=False))
    assert "permission" in card_text(card_of(resp))


def test_service_down_gets_a_card_not_a_blank_pane(gmail):
    h = gmail()
    h.app.extensions["pitchlint_analyzer"] = None
    h.app.config["MODEL_DIR"] = "/nonexistent/model"
    resp = h.post("message", event(), [ok(message(part("text/plain", PITCH)))])
    assert resp.status_code == 200
    assert "not ready" in card_text(card_of(resp))


def test_empty_own_text_gets_a_card(gmail):
    resp = gmail().post("message", event(), [ok(message(part("text/plain", "> only a quote\n> nothing else")))])
    assert "Nothing to check yet" in card_text(card_of(resp))


# ---- the draft being written --------------------------------------------------------------

def test_compose_reads_the_draft_by_id(gmail, analyzer):
    h = gmail()
    draft = {"id": "r-42", "message": message(part("text/plain", PITCH), labels=("DRAFT",))}
    resp = h.post("compose", event(draft_id="r-42"), [ok(draft)])
    card = card_of(resp)
    assert card["header"]["subtitle"].startswith("This draft")
    assert analyzer.asked[-1]["mode"] == "compose"
    assert "/drafts/r-42" in h.http.requests[0][0]
    assert "Analyse again" in card_text(card)


def test_compose_finds_the_draft_in_a_long_thread(gmail, analyzer):
    h = gmail()
    msgs = [message(part("text/plain", f"Earlier message number {i}."), msg_id=f"m{i}") for i in range(40)]
    msgs.append(message(part("text/plain", "Sorry to chase again, any news?\n\nOn Fri, Sam wrote:\n> no"),
                        msg_id="m40", labels=("DRAFT",)))
    resp = h.post("compose", event(thread_id="t-1"), [ok({"id": "t-1", "messages": msgs})])
    assert resp.status_code == 200
    assert analyzer.asked[-1]["text"] == "Sorry to chase again, any news?"
    assert "/threads/t-1" in h.http.requests[0][0]


def test_compose_without_ids_reads_the_newest_draft(gmail, analyzer):
    h = gmail()
    answers = [ok({"drafts": [{"id": "r-7", "message": {"id": "m-7", "threadId": "t-7"}}]}),
               ok({"id": "r-7", "message": message(part("text/plain", "We are the best vendor."))})]
    resp = h.post("compose", event(message_id=None), answers)
    assert resp.status_code == 200
    assert analyzer.asked[-1]["text"] == "We are the best vendor."
    assert "/drafts?" in h.http.requests[0][0] and "/drafts/r-7" in h.http.requests[1][0]


def test_compose_before_gmail_saved_the_draft(gmail):
    resp = gmail().post("compose", event(message_id=None), [ok({"resultSizeEstimate": 0})])
    assert "has not saved this draft yet" in card_text(card_of(resp))


def test_analyse_again_redraws_the_card(gmail):
    draft = {"id": "r-42", "message": message(part("text/plain", PITCH), labels=("DRAFT",))}
    resp = gmail().post("compose", event(draft_id="r-42", params={"refresh": "1"}), [ok(draft)])
    assert "updateCard" in resp.get_json()["renderActions"]["action"]["navigations"][0]


def test_compose_without_permission_gets_a_card(gmail):
    assert "permission" in card_text(card_of(gmail().post("compose", event(with_token=False))))


# ---- feedback: the only thing stored --------------------------------------------------------

@pytest.mark.db
def test_feedback_is_stored_masked(gmail):
    from sqlalchemy import select

    from pitchlint.service.addins.feedback import SentenceFeedback, sentence_hash
    from pitchlint.service.db import get_db

    h = gmail()
    sentence = "Sorry to chase, call me on +1 415 555 0100."
    resp = h.post("feedback", event(params={"sentence": sentence, "label": "desperate", "kind": "wrong"}))
    assert resp.get_json()["renderActions"]["action"]["notification"]["text"].startswith("Thanks")
    with h.app.app_context(), get_db().sessions() as s:
        rows = list(s.scalars(select(SentenceFeedback)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.source, row.label, row.kind) == ("gmail", "desperate", "wrong")
    assert row.masked_text == "Sorry to chase, call me on [phone]."
    assert row.sentence_hash == sentence_hash(sentence)


@pytest.mark.db
def test_bad_feedback_is_a_notification_and_stores_nothing(gmail):
    from sqlalchemy import func, select

    from pitchlint.service.addins.feedback import SentenceFeedback
    from pitchlint.service.db import get_db

    h = gmail()
    resp = h.post("feedback", event(params={"sentence": "x", "label": "rude", "kind": "wrong"}))
    assert "not saved" in resp.get_json()["renderActions"]["action"]["notification"]["text"]
    with h.app.app_context(), get_db().sessions() as s:
        assert s.scalar(select(func.count()).select_from(SentenceFeedback)) == 0


@pytest.mark.db
def test_analysing_stores_nothing(gmail):
    from sqlalchemy import func, select

    from pitchlint.service.addins.feedback import SentenceFeedback
    from pitchlint.service.db import get_db

    h = gmail()
    h.post("message", event(), [ok(message(part("text/plain", PITCH)))])
    with h.app.app_context(), get_db().sessions() as s:
        assert s.scalar(select(func.count()).select_from(SentenceFeedback)) == 0


# ---- team history -----------------------------------------------------------------------------

def _team_member(app, email="rep@acme.example", history=True):
    from pitchlint.service.db import get_db
    from pitchlint.service.team import admin

    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Acme", "Sales", history=history)
        return admin.add_user(s, email, team, "member", name="Rep").id


def _kept(app):
    from sqlalchemy import select

    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Analysis, Sample

    with app.app_context(), get_db().sessions() as s:
        return ([(a.user_id, a.source) for a in s.scalars(select(Analysis).order_by(Analysis.id))],
                {x.id: (x.user_id, x.text, x.tone, x.feedback, x.corrected_tone)
                 for x in s.scalars(select(Sample))})


def profile(address="Rep@Acme.example"):
    return ok({"emailAddress": address, "messagesTotal": 10, "threadsTotal": 7, "historyId": "1"})


def _buttons(card):
    return [w["decoratedText"]["button"]["onClick"]["action"] for sec in card["sections"][1:]
            for w in sec["widgets"] if "button" in w.get("decoratedText", {})]


@pytest.mark.db
def test_a_members_gmail_analyses_are_kept_when_the_team_keeps_history(gmail):
    h = gmail()
    member = _team_member(h.app)
    resp = h.post("message", event(), [ok(message(part("text/plain", PITCH))), profile()])
    card = card_of(resp)
    assert "Kept in your team" in card_text(card)
    assert "/gmail/v1/users/me/profile" in h.http.requests[1][0]
    analyses, samples = _kept(h.app)
    assert analyses == [(member, "read")]
    assert samples and all(uid == member for uid, *_ in samples.values())
    kept_text = " ".join(text for _, text, *_ in samples.values())
    assert "Sam" not in kept_text and "Tom" not in kept_text  # names from greeting and sign-off
    # every kept sentence's button carries its sample id
    ids = {int(p["value"]) for a in _buttons(card) for p in a["parameters"] if p["key"] == "sample_id"}
    assert ids == set(samples)

    # the same token again: Gmail is not asked whose mailbox it is a second time
    h.post("compose", event(draft_id="d-1"), [ok({"id": "d-1", "message": message(part("text/plain", PITCH))})])
    assert len(h.http.requests) == 1
    assert [src for _, src in _kept(h.app)[0]] == ["read", "compose"]
    # the same draft checked again (Analyse again), and the message opened again: no new analyses
    h.post("compose", event(draft_id="d-1", params={"refresh": "1"}),
           [ok({"id": "d-1", "message": message(part("text/plain", PITCH + "\n\nThanks."))})])
    h.post("message", event(), [ok(message(part("text/plain", PITCH)))])
    assert [src for _, src in _kept(h.app)[0]] == ["read", "compose"]


@pytest.mark.db
def test_not_right_on_a_kept_sentence_reaches_the_teams_sample(gmail):
    h = gmail()
    _team_member(h.app)
    card = card_of(h.post("message", event(), [ok(message(part("text/plain", PITCH))), profile()]))
    params = {}
    for a in _buttons(card):
        p = {x["key"]: x["value"] for x in a["parameters"]}
        if p["label"] == "desperate":
            params = p
            break
    assert params, "the model flagged no desperate sentence in PITCH"
    resp = h.post("feedback", event(params=params))
    assert "team's history has it" in resp.get_json()["renderActions"]["action"]["notification"]["text"]
    _, samples = _kept(h.app)
    _, _, tone, fb, corrected = samples[int(params["sample_id"])]
    assert (tone, fb, corrected) == ("desperate", "wrong", "neutral")


@pytest.mark.db
def test_someone_elses_sample_id_is_not_touched_from_gmail(gmail):
    from pitchlint.service.db import get_db
    from pitchlint.service.team import admin

    h = gmail()
    _team_member(h.app)
    card = card_of(h.post("message", event(), [ok(message(part("text/plain", PITCH))), profile()]))
    a = _buttons(card)[0]
    params = {x["key"]: x["value"] for x in a["parameters"]}
    with h.app.app_context(), get_db().sessions() as s:  # a second user's Gmail presses the button
        admin.add_user(s, "other@acme.example", admin.find_team(s, "Acme/Sales"), "member")
    ev = event(params=params)
    ev["authorizationEventObject"]["userOAuthToken"] = "ya29.other-user"
    resp = h.post("feedback", ev, [profile("other@acme.example")])
    assert "team's history" not in resp.get_json()["renderActions"]["action"]["notification"]["text"]
    assert all(fb is None for *_, fb, _ in _kept(h.app)[1].values())


@pytest.mark.db
@pytest.mark.parametrize("case", ["history off", "not a user", "profile refused"])
def test_gmail_keeps_nothing_without_a_member_whose_team_keeps_history(gmail, case):
    h = gmail()
    _team_member(h.app, history=(case != "history off"))
    answers = [ok(message(part("text/plain", PITCH)))]
    if case == "not a user":
        answers.append(profile("stranger@elsewhere.example"))
    elif case == "profile refused":
        answers.append(http_error(403, "PERMISSION_DENIED"))
    card = card_of(h.post("message", event(), answers))
    assert "Flagged sentences" in card_text(card) and "Kept in your team" not in card_text(card)
    assert _kept(h.app) == ([], {})
    if case == "history off":  # nobody keeps history: Gmail is not asked whose mailbox it is
        assert len(h.http.requests) == 1


# ---- the deployment descriptor --------------------------------------------------------------

def test_deployment_asks_for_exactly_the_scopes_used():
    dep = json.loads((ROOT / "manifest" / "gmail" / "deployment.json").read_text())
    assert sorted(dep["oauthScopes"]) == sorted([
        "https://www.googleapis.com/auth/gmail.addons.execute",
        "https://www.googleapis.com/auth/gmail.addons.current.message.readonly",
        "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
        "https://www.googleapis.com/auth/gmail.compose",
    ])
    gm = dep["addOns"]["gmail"]
    assert gm["composeTrigger"]["draftAccess"] == "METADATA"
    urls = [dep["addOns"]["common"]["homepageTrigger"]["runFunction"],
            gm["contextualTriggers"][0]["onTriggerFunction"],
            gm["composeTrigger"]["selectActions"][0]["runFunction"]]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["homepage", "message", "compose"]
    assert all(u.startswith("https://") for u in urls)


def test_every_api_method_used_is_covered_by_a_granted_scope():
    import googleapiclient

    doc = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
                      / "gmail.v1.json").read_text())
    granted = set(json.loads((ROOT / "manifest" / "gmail" / "deployment.json").read_text())["oauthScopes"])
    users = doc["resources"]["users"]["resources"]
    for resource, method in [("messages", "get"), ("threads", "get"), ("drafts", "get"), ("drafts", "list")]:
        assert granted & set(users[resource]["methods"][method]["scopes"]), (resource, method)
    assert granted & set(doc["resources"]["users"]["methods"]["getProfile"]["scopes"])  # team history
