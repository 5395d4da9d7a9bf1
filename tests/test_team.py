"""Teams: opt-in history (masked), feedback, the authorization matrix, exports, trends, purge.

Analyses go through the real model over the HTTP API; runs on SQLite and on PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from pitchlint.corpus import check_guide

pytestmark = pytest.mark.db

PITCH = ("Hi Dana,\n\nSorry to bother you again, Dana. I have emailed you five times now and I "
         "really need this meeting. We are the leading provider of payroll software. Call me on "
         "+44 20 7946 0958 or write to tom.baker@acme-sales.example, or book at "
         "https://cal.example.com/book?invite=Zx81kLmN0pQ7rS2t.\n\nBest,\nTom Baker\nHead of Sales")
THREAT = ("Hello Priya,\n\nIf I don't hear back by Friday, your discount is gone for good and I will "
          "escalate this to your CEO. We are the number one CRM in Europe.\n\nRegards,\nMarta")
QUOTED = ("Thanks, that works for me.\n\nOn Mon, 3 Nov 2026, Bob Seller <bob@seller.example> "
          "wrote:\n> I have emailed you ten times, please answer me, I am begging you.\n"
          "> We are the best agency in the world.")


def _make_world(app):
    """Two organisations; Acme has Sales and Support, Globex has Ops; a key for each user."""
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key
    from pitchlint.service.team import admin

    people = {}
    with app.app_context(), get_db().sessions() as s:
        sales = admin.create_team(s, "Acme", "Sales", history=True)
        support = admin.create_team(s, "Acme", "Support", history=True)
        ops = admin.create_team(s, "Globex", "Ops", history=True)
        quiet = admin.create_team(s, "Acme", "Quiet")  # history off: the default
        spec = {
            "acme_admin": (None, "admin", "Acme"), "sales_lead": (sales, "lead", None),
            "rep1": (sales, "member", None), "rep2": (sales, "member", None),
            "support_lead": (support, "lead", None), "support_rep": (support, "member", None),
            "globex_admin": (None, "admin", "Globex"), "globex_rep": (ops, "member", None),
            "quiet_rep": (quiet, "member", None),
        }
        for name, (team, role, org) in spec.items():
            user = admin.add_user(s, f"{name}@{(org or team.org.name).lower()}.example", team, role,
                                  name=name.replace("_", " ").title(), org_name=org)
            _, key = create_key(s, name, user_id=user.id)
            people[name] = {"id": user.id, "key": key, "email": user.email}
        teams = {"sales": sales.id, "support": support.id, "ops": ops.id, "quiet": quiet.id}
    return people, teams


@pytest.fixture
def world(make_app):
    app = make_app()
    people, teams = _make_world(app)
    client = app.test_client()
    samples = {}
    for who, text in (("rep1", PITCH), ("rep2", THREAT), ("support_rep", PITCH), ("globex_rep", THREAT)):
        body = analyze(client, people[who]["key"], text)
        assert body["history"]["kept"] is True, who
        samples[who] = [s["sample_id"] for s in body["sentences"] if s.get("sample_id")]
        assert samples[who], f"the model flagged nothing in {who}'s email"
    return {"app": app, "client": client, "people": people, "teams": teams, "samples": samples}


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def analyze(client, key, text, mode="compose", **extra):
    resp = client.post("/v1/analyze", json={"text": text, "mode": mode, **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _all_stored_text(app) -> str:
    from sqlalchemy import text

    from pitchlint.service.db import get_db

    with app.app_context(), get_db().engine.connect() as conn:
        rows = []
        for table in ("analyses", "samples", "sample_feedback"):
            rows += [json.dumps([str(v) for v in r]) for r in conn.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(rows)


# --- what is kept ---------------------------------------------------------------------------

def _kept(app, user_id):
    from sqlalchemy import select

    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Analysis, Sample

    with app.app_context(), get_db().sessions() as s:
        analyses = list(s.scalars(select(Analysis).where(Analysis.user_id == user_id).order_by(Analysis.id)))
        samples = {x.id: x.text for x in s.scalars(select(Sample).where(Sample.user_id == user_id))}
        return [(a.source, a.sentences, a.flagged) for a in analyses], samples


DRAFT = ["Hi Dana,", "I'm so sorry to bother you again, this is my fourth email.",
         "We are the leading agency in Europe and our team has won every award.",
         "Please, I really need this deal, just give me ten minutes.", "Best,\nTom"]


def test_a_draft_analysed_as_it_is_written_is_one_analysis(world):
    c, p, app = world["client"], world["people"], world["app"]
    key, uid = p["quiet_rep"]["key"], p["quiet_rep"]["id"]
    c.patch(f"/v1/teams/{world['teams']['quiet']}", json={"history_enabled": True},
            headers=auth(p["acme_admin"]["key"]))
    draft = "draft-7f3a"
    first = analyze(c, key, "\n\n".join(DRAFT[:3]), history_key=draft)
    ids1 = {s["text"]: s["sample_id"] for s in first["sentences"] if s.get("sample_id")}
    assert len(ids1) >= 2, first["sentences"]
    # the writer ignores one flag, goes on writing, then deletes the sentence they ignored
    ignored_text, ignored_id = next(iter(ids1.items()))
    assert c.post("/v1/feedback", json={"sample_id": ignored_id, "kind": "ignored"},
                  headers=auth(key)).status_code == 201
    second = analyze(c, key, "\n\n".join(DRAFT[:4]), history_key=draft)
    ids2 = {s["text"]: s["sample_id"] for s in second["sentences"] if s.get("sample_id")}
    assert {t: ids2[t] for t in ids1} == ids1  # sentences still there keep their samples
    final = [x for x in DRAFT if x != ignored_text]
    third = analyze(c, key, "\n\n".join(final), history_key=draft)
    ids3 = {s["text"]: s["sample_id"] for s in third["sentences"] if s.get("sample_id")}
    analyses, samples = _kept(app, uid)
    assert len(analyses) == 1 and analyses[0][0] == "compose"
    assert analyses[0][1] == len([s for s in third["sentences"] if not s.get("signature")])
    # what the final draft flags, plus the sentence with feedback that was edited away
    assert set(samples) == set(ids3.values()) | {ignored_id}
    # another email, or the same key from another member, is another analysis
    analyze(c, key, "\n\n".join(DRAFT[:3]), history_key="draft-other")
    analyze(c, p["rep1"]["key"], "\n\n".join(DRAFT[:3]), history_key=draft)
    assert len(_kept(app, uid)[0]) == 2
    # without a key each compose analysis is its own
    analyze(c, key, "\n\n".join(DRAFT[:2]))
    analyze(c, key, "\n\n".join(DRAFT[:2]))
    assert len(_kept(app, uid)[0]) == 4


def test_a_message_read_twice_is_one_analysis(world):
    c, p, app = world["client"], world["people"], world["app"]
    before = len(_kept(app, p["rep1"]["id"])[0])
    analyze(c, p["rep1"]["key"], THREAT, mode="read")
    analyze(c, p["rep1"]["key"], THREAT, mode="read")
    assert len(_kept(app, p["rep1"]["id"])[0]) == before + 1


@pytest.mark.parametrize("bad", ["", 7, "x" * 1001])
def test_history_key_must_be_a_short_string(world, bad):
    resp = world["client"].post("/v1/analyze", json={"text": PITCH, "history_key": bad},
                                headers=auth(world["people"]["rep1"]["key"]))
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_history_key"


def test_history_is_off_by_default_and_nothing_is_stored(world):
    c, p = world["client"], world["people"]
    before = _all_stored_text(world["app"])
    body = analyze(c, p["quiet_rep"]["key"], PITCH)
    assert body["history"] == {"kept": False}
    assert all("sample_id" not in s for s in body["sentences"])
    after = _all_stored_text(world["app"])
    assert after == before


def test_a_key_without_a_user_keeps_nothing(world):
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key

    with world["app"].app_context(), get_db().sessions() as s:
        _, key = create_key(s, "service key")
    body = analyze(world["client"], key, PITCH)
    assert "history" not in body and all("sample_id" not in s for s in body["sentences"])


def test_kept_samples_are_masked_and_only_the_senders_flagged_sentences(world):
    stored = _all_stored_text(world["app"])
    # the phone number's digit groups with their spaces: a bare "7946" can be a timestamp's microseconds
    for secret in ("tom.baker@acme-sales.example", "+44", "20 7946", "7946 0958", "Zx81kLmN0pQ7rS2t",
                   "Dana", "Tom Baker", "Priya", "Marta"):
        assert secret not in stored, secret
    assert "[phone]" in stored and "[email]" in stored and "[name]" in stored
    assert "https://cal.example.com/[token]" in stored


def test_quoted_history_is_not_the_members_text(world):
    c, p = world["client"], world["people"]
    body = analyze(c, p["rep1"]["key"], QUOTED)
    kept = [s for s in body["sentences"] if s.get("sample_id")]
    assert all(not s["quoted"] for s in kept)
    assert "begging" not in _all_stored_text(world["app"])


def test_sample_carries_labels_scores_model_source_member_and_time(world):
    c, p = world["client"], world["people"]
    sid = world["samples"]["rep1"][0]
    body = c.get(f"/v1/samples/{sid}", headers=auth(p["rep1"]["key"])).get_json()
    assert body["member"]["email"] == p["rep1"]["email"]
    assert body["source"] == "compose" and body["model_version"]
    assert set(body["scores"]["focus"]) == {"me_talk", "customer_centric", "other"}
    assert body["labels"] and dt.datetime.fromisoformat(body["created_at"].rstrip("Z"))
    read = analyze(c, p["rep1"]["key"], THREAT, mode="read")
    rid = next(s["sample_id"] for s in read["sentences"] if s.get("sample_id"))
    assert c.get(f"/v1/samples/{rid}", headers=auth(p["rep1"]["key"])).get_json()["source"] == "read"


# --- feedback ---------------------------------------------------------------------------------

def test_feedback_wrong_with_labels_then_export_applies_it(world):
    c, p = world["client"], world["people"]
    sid = world["samples"]["rep1"][0]
    sample = c.get(f"/v1/samples/{sid}", headers=auth(p["rep1"]["key"])).get_json()
    new_tone = "neutral" if sample["tone"]["label"] != "neutral" else "desperate"
    resp = c.post("/v1/feedback", json={"sample_id": sid, "kind": "wrong", "tone": new_tone},
                  headers=auth(p["rep1"]["key"]))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["sample"]["feedback"] == {"kind": "wrong", "focus": None, "tone": new_tone}
    lines = c.get(f"/v1/teams/{world['teams']['sales']}/export?format=jsonl&feedback=wrong",
                  headers=auth(p["sales_lead"]["key"])).get_data(as_text=True).splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    target = rec["sentences"][rec["pitchlint"]["target"]]
    assert target["tone"] == new_tone and rec["pitchlint"]["corrected"] is True
    assert rec["tone"] == sorted({s["tone"] for s in rec["sentences"]} - {"neutral"})


def test_feedback_ignored_is_kept_with_the_sample(world):
    c, p = world["client"], world["people"]
    sid = world["samples"]["rep2"][0]
    resp = c.post("/v1/feedback", json={"sample_id": sid, "kind": "ignored"}, headers=auth(p["rep2"]["key"]))
    assert resp.status_code == 201
    listed = c.get(f"/v1/teams/{world['teams']['sales']}/samples?feedback=ignored",
                   headers=auth(p["sales_lead"]["key"])).get_json()
    assert [s["id"] for s in listed["samples"]] == [sid]


@pytest.mark.parametrize("body,code", [
    ({"kind": "wrong", "tone": "neutral"}, "missing_sample_id"),
    ({"sample_id": "1", "kind": "wrong"}, "missing_sample_id"),
    ({"sample_id": 0, "kind": "bogus"}, "invalid_kind"),
    ({"sample_id": 0, "kind": "wrong"}, "missing_correction"),
    ({"sample_id": 0, "kind": "wrong", "tone": "angry"}, "invalid_tone"),
    ({"sample_id": 0, "kind": "wrong", "focus": "me-talk"}, "invalid_focus"),
    ({"sample_id": 0, "kind": "ignored", "tone": "neutral"}, "unexpected_labels"),
    ({"sample_id": 0, "kind": "ignored", "tone": None}, "invalid_tone"),
    ({"sample_id": 0, "kind": "wrong", "focus": "other", "tone": "desperate"}, "pressure_never_other"),
])
def test_feedback_errors_are_clear(world, body, code):
    c, p = world["client"], world["people"]
    if body.get("sample_id") == 0:
        body = {**body, "sample_id": world["samples"]["rep1"][0]}
    resp = c.post("/v1/feedback", json=body, headers=auth(p["rep1"]["key"]))
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code


def test_a_correction_that_would_make_the_samples_pressure_other_is_a_conflict(world):
    c, p = world["client"], world["people"]
    key = p["rep1"]["key"]
    pressured = [x for x in (c.get(f"/v1/samples/{sid}", headers=auth(key)).get_json()
                             for sid in world["samples"]["rep1"]) if x["tone"]["label"] != "neutral"]
    assert pressured, "the model flagged no pressure in rep1's email"
    resp = c.post("/v1/feedback", json={"sample_id": pressured[0]["id"], "kind": "wrong", "focus": "other"},
                  headers=auth(key))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "pressure_never_other"
    # with the tone corrected to neutral in the same request, 'other' is fine
    resp = c.post("/v1/feedback", json={"sample_id": pressured[0]["id"], "kind": "wrong", "focus": "other",
                                        "tone": "neutral"}, headers=auth(key))
    assert resp.status_code == 201, resp.get_json()


def test_feedback_that_changes_nothing_is_refused(world):
    c, p = world["client"], world["people"]
    sid = world["samples"]["rep1"][0]
    s = c.get(f"/v1/samples/{sid}", headers=auth(p["rep1"]["key"])).get_json()
    resp = c.post("/v1/feedback", json={"sample_id": sid, "kind": "wrong", "tone": s["tone"]["label"]},
                  headers=auth(p["rep1"]["key"]))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "same_labels"


# --- the authorization matrix ------------------------------------------------------------------

ROLES = ["rep1", "sales_lead", "support_lead", "acme_admin", "globex_admin"]
# (endpoint, what it targets) -> expected status per caller
MATRIX = {
    ("team", "sales"):           {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("team", "ops"):             {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 200},
    ("samples", "sales"):        {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("samples", "support"):      {"rep1": 403, "sales_lead": 403, "support_lead": 200, "acme_admin": 200, "globex_admin": 404},
    ("trends", "sales"):         {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("export", "sales"):         {"rep1": 403, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("export", "ops"):           {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 200},
    ("settings", "sales"):       {"rep1": 403, "sales_lead": 403, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("sample", "rep1"):          {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("sample", "rep2"):          {"rep1": 403, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("sample", "support_rep"):   {"rep1": 403, "sales_lead": 403, "support_lead": 200, "acme_admin": 200, "globex_admin": 404},
    ("sample", "globex_rep"):    {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 200},
    ("feedback", "rep2"):        {"rep1": 403, "sales_lead": 201, "support_lead": 403, "acme_admin": 201, "globex_admin": 404},
    ("feedback", "globex_rep"):  {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 201},
}


def _call(w, endpoint, target, key):
    c, t = w["client"], w["teams"]
    h = auth(key)
    if endpoint == "team":
        return c.get(f"/v1/teams/{t[target]}", headers=h)
    if endpoint == "samples":
        return c.get(f"/v1/teams/{t[target]}/samples", headers=h)
    if endpoint == "trends":
        return c.get(f"/v1/teams/{t[target]}/trends", headers=h)
    if endpoint == "export":
        return c.get(f"/v1/teams/{t[target]}/export?format=csv", headers=h)
    if endpoint == "settings":
        return c.patch(f"/v1/teams/{t[target]}", json={"retention_days": 14}, headers=h)
    sid = w["samples"][target][0]
    if endpoint == "sample":
        return c.get(f"/v1/samples/{sid}", headers=h)
    return c.post("/v1/feedback", json={"sample_id": sid, "kind": "ignored"}, headers=h)


@pytest.mark.parametrize("endpoint,target", list(MATRIX), ids=[f"{e}-{t}" for e, t in MATRIX])
def test_authorization_matrix(world, endpoint, target):
    for caller in ROLES:
        resp = _call(world, endpoint, target, world["people"][caller]["key"])
        resp.get_data()
        resp.close()
        want = MATRIX[(endpoint, target)][caller]
        assert resp.status_code == want, (caller, endpoint, target, resp.status_code, resp.get_data(as_text=True)[:200])
        if want >= 400:
            err = resp.get_json()["error"]
            assert err["code"] in ("forbidden", "not_found") and err["message"]


def test_lists_hold_only_what_the_caller_may_see(world):
    c, p, t = world["client"], world["people"], world["teams"]

    def members(key, team):
        body = c.get(f"/v1/teams/{t[team]}/samples?per_page=200", headers=auth(key)).get_json()
        return {s["member"]["email"] for s in body["samples"]}

    assert members(p["rep1"]["key"], "sales") == {p["rep1"]["email"]}
    assert members(p["sales_lead"]["key"], "sales") == {p["rep1"]["email"], p["rep2"]["email"]}
    assert members(p["acme_admin"]["key"], "support") == {p["support_rep"]["email"]}
    teams = c.get("/v1/teams", headers=auth(p["acme_admin"]["key"])).get_json()["teams"]
    assert {x["name"] for x in teams} == {"Sales", "Support", "Quiet"}
    assert [x["name"] for x in c.get("/v1/teams", headers=auth(p["rep1"]["key"])).get_json()["teams"]] == ["Sales"]
    trend = c.get(f"/v1/teams/{t['sales']}/trends", headers=auth(p["rep1"]["key"])).get_json()
    assert [m["id"] for m in trend["members"]] == [p["rep1"]["id"]]


def test_team_endpoints_need_a_users_key(world, make_app):
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key

    c = world["client"]
    resp = c.get(f"/v1/teams/{world['teams']['sales']}/samples")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "missing_key"
    with world["app"].app_context(), get_db().sessions() as s:
        _, key = create_key(s, "service key")
    resp = c.get(f"/v1/teams/{world['teams']['sales']}/samples", headers=auth(key))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "no_user"


def test_admin_turns_history_on_and_sets_retention(world):
    c, p, t = world["client"], world["people"], world["teams"]
    h = auth(p["acme_admin"]["key"])
    resp = c.patch(f"/v1/teams/{t['quiet']}", json={"history_enabled": True, "retention_days": 7}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["history_enabled"] is True
    assert analyze(c, p["quiet_rep"]["key"], PITCH)["history"]["kept"] is True
    for bad in ({"history_enabled": "yes"}, {"retention_days": 0}, {"retention_days": True},
                {"retention_days": 7.5}, {"colour": 1}):
        resp = c.patch(f"/v1/teams/{t['quiet']}", json=bad, headers=h)
        assert resp.status_code == 400, bad
    # 14.0 is a JSON integer as JSON Schema (and the OpenAPI document) counts them
    resp = c.patch(f"/v1/teams/{t['quiet']}", json={"retention_days": 14.0}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["retention_days"] == 14


# --- filters, export ----------------------------------------------------------------------------

def test_filters_and_paging(world):
    c, p, t = world["client"], world["people"], world["teams"]
    h = auth(p["sales_lead"]["key"])
    url = f"/v1/teams/{t['sales']}/samples"
    everything = c.get(url, headers=h).get_json()
    assert everything["total"] == len(world["samples"]["rep1"]) + len(world["samples"]["rep2"])
    only_rep2 = c.get(f"{url}?member={p['rep2']['id']}", headers=h).get_json()
    assert {s["member"]["id"] for s in only_rep2["samples"]} == {p["rep2"]["id"]}
    threats = c.get(f"{url}?label=threatening", headers=h).get_json()
    assert threats["total"] >= 1 and all("threatening" in s["labels"] for s in threats["samples"])
    assert c.get(f"{url}?source=read", headers=h).get_json()["total"] == 0
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert c.get(f"{url}?from={tomorrow}", headers=h).get_json()["total"] == 0
    assert c.get(f"{url}?model_version=0.0.0", headers=h).get_json()["total"] == 0
    page1 = c.get(f"{url}?per_page=2", headers=h).get_json()
    page2 = c.get(f"{url}?per_page=2&page=2", headers=h).get_json()
    assert len(page1["samples"]) == 2 and not {s["id"] for s in page1["samples"]} & {s["id"] for s in page2["samples"]}
    for bad in ("label=angry", "source=fax", "from=yesterday", "page=0", "per_page=1000"):
        resp = c.get(f"{url}?{bad}", headers=h)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_filter", bad
    # a reversed range is an empty range, not an error (each value is valid on its own)
    assert c.get(f"{url}?from=2026-02-02&to=2026-01-01", headers=h).get_json()["total"] == 0


def test_export_csv_and_jsonl(world):
    c, p, t = world["client"], world["people"], world["teams"]
    h = auth(p["sales_lead"]["key"])
    n = len(world["samples"]["rep1"]) + len(world["samples"]["rep2"])
    resp = c.get(f"/v1/teams/{t['sales']}/export?format=csv", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == n and {r["member"] for r in rows} == {p["rep1"]["email"], p["rep2"]["email"]}
    resp = c.get(f"/v1/teams/{t['sales']}/export?format=jsonl&member={p['rep2']['id']}", headers=h)
    recs = [json.loads(x) for x in resp.get_data(as_text=True).splitlines()]
    assert len(recs) == len(world["samples"]["rep2"])
    for rec in recs:
        assert check_guide(rec) == [], rec
        assert rec["source"] in ("outreach", "incoming")
    resp = c.get(f"/v1/teams/{t['sales']}/export?format=xml", headers=h)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_format"


# --- trends ---------------------------------------------------------------------------------------

def test_trends_shares_by_week(make_app):
    from pitchlint.service.db import get_db
    from pitchlint.service.team import admin
    from pitchlint.service.team.models import Analysis, Sample
    from pitchlint.service.team.trends import trends, week_of

    app = make_app()
    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Acme", "Sales", history=True)
        lead = admin.add_user(s, "lead@acme.example", team, "lead")
        rep = admin.add_user(s, "rep@acme.example", team, "member")
        today = dt.date(2026, 11, 25)
        this_week = dt.datetime.combine(week_of(today), dt.time(10))
        last_week = this_week - dt.timedelta(days=7)
        for when, sentences, labels in ((this_week, 10, [("me_talk", "neutral"), ("me_talk", "desperate")]),
                                        (last_week, 4, [("other", "threatening")])):
            a = Analysis(team_id=team.id, user_id=rep.id, created_at=when, source="compose",
                         model_version="t", email_focus="me_talk", email_tone="neutral",
                         sentences=sentences, flagged=len(labels))
            s.add(a)
            s.flush()
            for k, (focus, tone) in enumerate(labels):
                s.add(Sample(analysis_id=a.id, team_id=team.id, user_id=rep.id, created_at=when,
                             source="compose", model_version="t", position=k, text="We are the best.",
                             focus=focus, tone=tone, focus_score=0.9, tone_score=0.9, scores={}))
        s.commit()
        out = trends(s, lead, team, weeks=2, today=today)
    assert out["weeks"] == [week_of(today - dt.timedelta(days=7)).isoformat(), week_of(today).isoformat()]
    assert out["series"]["team"]["me_talk"] == [0.0, 0.2]
    assert out["series"]["team"]["desperate"] == [0.0, 0.1]
    assert out["series"]["team"]["threatening"] == [0.25, 0.0]
    assert out["series"]["members"][rep.id]["me_talk"] == [0.0, 0.2]
    assert out["phrasings"][0] == {"text": "We are the best.", "count": 3,
                                   "labels": out["phrasings"][0]["labels"]}


# --- retention --------------------------------------------------------------------------------------

def test_purge_follows_each_teams_retention(world):
    from sqlalchemy import func, select, update

    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Analysis, Sample, SampleFeedback
    from pitchlint.service.team.purge import purge

    c, p, t = world["client"], world["people"], world["teams"]
    old = world["samples"]["rep1"][0]
    c.post("/v1/feedback", json={"sample_id": old, "kind": "ignored"}, headers=auth(p["rep1"]["key"]))
    with world["app"].app_context(), get_db().sessions() as s:
        long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=31)
        s.execute(update(Sample).where(Sample.team_id.in_([t["sales"], t["support"]])).values(created_at=long_ago))
        s.execute(update(Analysis).where(Analysis.team_id.in_([t["sales"], t["support"]])).values(created_at=long_ago))
        s.execute(update(Analysis).where(Analysis.team_id == t["support"]).values(created_at=long_ago))
        from pitchlint.service.team.models import Team
        s.get(Team, t["support"]).retention_days = 60
        s.commit()
        counts = purge(s)
        left = dict(s.execute(select(Sample.team_id, func.count()).group_by(Sample.team_id)).all())
        assert s.scalar(select(func.count()).select_from(SampleFeedback)) == 0
    assert counts["samples"] == len(world["samples"]["rep1"]) + len(world["samples"]["rep2"])
    assert t["sales"] not in left
    assert left[t["support"]] == len(world["samples"]["support_rep"])  # 60 days: kept
    assert left[t["ops"]] == len(world["samples"]["globex_rep"])


# --- the command line --------------------------------------------------------------------------------

def test_admin_commands_and_export(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pitchlint.cli import main

    monkeypatch.setenv("PITCHLINT_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("PITCHLINT_DATABASE_URL", raising=False)
    run = CliRunner().invoke
    r = run(main, ["admin", "create-team", "--org", "Acme", "--name", "Sales", "--history"])
    assert r.exit_code == 0 and "history on" in r.output, r.output
    r = run(main, ["admin", "add-user", "--email", "boss@acme.example", "--org", "Acme", "--role", "admin",
                   "--password"], input="correct horse battery\ncorrect horse battery\n")
    assert r.exit_code == 0, r.output
    r = run(main, ["admin", "add-user", "--email", "rep@acme.example", "--team", "Acme/Sales"])
    assert r.exit_code == 0 and "member of team Acme/Sales" in r.output
    r = run(main, ["admin", "set-role", "rep@acme.example", "lead"])
    assert r.exit_code == 0 and "now lead" in r.output
    r = run(main, ["admin", "add-user", "--email", "x@acme.example", "--team", "Nope"])
    assert r.exit_code != 0 and "no team 'Nope'" in r.output
    r = run(main, ["admin", "add-user", "--email", "rep@acme.example", "--team", "Sales"])
    assert r.exit_code != 0 and "already a user" in r.output
    r = run(main, ["admin", "add-user", "--email", "y@acme.example", "--team", "Sales", "--password"],
            input="short\nshort\n")
    assert r.exit_code != 0 and "12 characters" in r.output
    r = run(main, ["admin", "list"])
    assert "team 1 Sales: history on" in r.output and "lead   rep@acme.example" in r.output
    r = run(main, ["keys", "create", "--user", "rep@acme.example"])
    assert r.exit_code == 0 and r.output.strip().splitlines()[-1].startswith("pl_")
    out = tmp_path / "export.jsonl"
    r = run(main, ["export", "--team", "Sales", "--out", str(out)])
    assert r.exit_code == 0 and out.read_text() == "" and "wrote 0 samples" in r.output
    r = run(main, ["purge"])
    assert r.exit_code == 0 and "purged 0 samples" in r.output


# --- the same matrix on the team lead's pages (signed-in sessions) --------------------------------

PAGE_MATRIX = {
    ("samples", "sales"):   {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("samples", "ops"):     {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 200},
    ("trends", "sales"):    {"rep1": 200, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("export", "sales"):    {"rep1": 403, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("settings", "sales"):  {"rep1": 403, "sales_lead": 403, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("sample", "rep2"):     {"rep1": 403, "sales_lead": 200, "support_lead": 403, "acme_admin": 200, "globex_admin": 404},
    ("sample", "globex_rep"): {"rep1": 404, "sales_lead": 404, "support_lead": 404, "acme_admin": 404, "globex_admin": 200},
}


def _signed_in_client(app, user_id):
    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import User

    with app.app_context(), get_db().sessions() as s:
        version = s.get(User, user_id).session_version
    c = app.test_client()
    with c.session_transaction() as sess:  # what login_user() leaves in the cookie
        sess.update({"uid": user_id, "sv": version, "csrf": "token"})
    return c


@pytest.mark.parametrize("page,target", list(PAGE_MATRIX), ids=[f"{p}-{t}" for p, t in PAGE_MATRIX])
def test_authorization_matrix_on_pages(world, page, target):
    t = world["teams"]
    for caller in ROLES:
        c = _signed_in_client(world["app"], world["people"][caller]["id"])
        if page == "sample":
            url = f"/samples/{world['samples'][target][0]}"
        elif page == "export":
            url = f"/teams/{t[target]}/export.csv"
        else:
            url = f"/teams/{t[target]}/{page}"
        want = PAGE_MATRIX[(page, target)][caller]
        resp = c.get(url)  # no Accept: text/html, so refusals come in the JSON error shape
        resp.get_data()
        resp.close()  # a streamed export holds its request context until closed, as a server does
        assert resp.status_code == want, (caller, url, resp.status_code)
        if want >= 400:
            assert resp.get_json()["error"]["code"] in ("forbidden", "not_found")
        html = c.get(url, headers={"Accept": "text/html"})
        html.get_data()
        html.close()
        assert html.status_code == want and (want == 200 or "text/html" in html.content_type)


def test_a_jsonl_export_is_accepted_by_train_extra(world, tmp_path):
    """The export's records pass the training command's own check of --extra files."""
    from pitchlint.model.train import load_extra

    c, p, t = world["client"], world["people"], world["teams"]
    body = c.get(f"/v1/teams/{t['sales']}/export?format=jsonl",
                 headers=auth(p["sales_lead"]["key"])).get_data(as_text=True)
    path = tmp_path / "sales.jsonl"
    path.write_text(body, encoding="utf-8")
    records = load_extra([str(path)])
    assert len(records) == len(world["samples"]["rep1"]) + len(world["samples"]["rep2"])


def test_the_service_purges_on_a_schedule(world):
    import time

    from sqlalchemy import func, select, update

    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Sample
    from pitchlint.service.team.purge import start_scheduler

    app, t = world["app"], world["teams"]
    with app.app_context(), get_db().sessions() as s:
        old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=45)
        s.execute(update(Sample).where(Sample.team_id == t["sales"]).values(created_at=old))
        s.commit()
    start_scheduler(app, 0.2)
    try:
        deadline = time.time() + 10
        while True:
            with app.app_context(), get_db().sessions() as s:
                left = s.scalar(select(func.count()).select_from(Sample).where(Sample.team_id == t["sales"]))
                others = s.scalar(select(func.count()).select_from(Sample).where(Sample.team_id != t["sales"]))
            if left == 0 or time.time() > deadline:
                break
            time.sleep(0.1)
    finally:
        app.extensions["pitchlint_purge_stop"].set()
    assert left == 0 and others > 0


def test_ignoring_after_a_correction_keeps_the_correction(world):
    c, p, t = world["client"], world["people"], world["teams"]
    sid = world["samples"]["rep1"][0]
    s = c.get(f"/v1/samples/{sid}", headers=auth(p["rep1"]["key"])).get_json()
    new_tone = "neutral" if s["tone"]["label"] != "neutral" else "desperate"
    lead = auth(p["sales_lead"]["key"])
    assert c.post("/v1/feedback", json={"sample_id": sid, "kind": "wrong", "tone": new_tone},
                  headers=lead).status_code == 201
    assert c.post("/v1/feedback", json={"sample_id": sid, "kind": "ignored"},
                  headers=auth(p["rep1"]["key"])).status_code == 201
    recs = [json.loads(x) for x in c.get(f"/v1/teams/{t['sales']}/export?format=jsonl",
                                         headers=lead).get_data(as_text=True).splitlines()]
    rec = next(r for r in recs if r["pitchlint"]["sample_id"] == sid)
    assert rec["pitchlint"]["corrected"] is True and rec["pitchlint"]["feedback"] == "ignored"
    assert rec["sentences"][rec["pitchlint"]["target"]]["tone"] == new_tone
