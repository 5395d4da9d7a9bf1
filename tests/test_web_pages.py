"""The team lead's pages (server-rendered): sign-in, sessions and CSRF, the samples list with
its filters and paging, one sample with feedback, trends, settings, exports, and who may see
what. No model is needed: the history is written straight into the database."""
from __future__ import annotations

import datetime as dt
import functools
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import _database_url, _reset_postgres

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
COOKIE = "pitchlint_session"
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
SCORES = {"focus": {"me_talk": 0.9, "customer_centric": 0.06, "other": 0.04},
          "tone": {"neutral": 0.2, "desperate": 0.7, "threatening": 0.1}}


@pytest.fixture
def web(tmp_path):
    """An app with two organisations: Acme (teams Sales, history on, and Support) and Other."""
    from pitchlint.service import create_app
    from pitchlint.service.db import get_db
    from pitchlint.service.team import admin

    url = _database_url(tmp_path)
    if not url.startswith("sqlite"):
        _reset_postgres(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "LOAD_MODEL_AT_START": False,
                      "REQUIRE_KEYS": True, "RATE_LIMIT_PER_MINUTE": 0, "CORS_ORIGINS": [],
                      "SECRET_KEY": "test-secret-key-for-pages"})
    ids = {}
    with app.app_context(), get_db().sessions() as s:
        sales = admin.create_team(s, "Acme", "Sales", history=True)
        support = admin.create_team(s, "Acme", "Support", history=False)
        other = admin.create_team(s, "Other", "Elsewhere", history=True)
        for key, email, team, role in (("admin", "admin@acme.example", None, "admin"),
                                       ("lead", "lead@acme.example", sales, "lead"),
                                       ("ana", "ana@acme.example", sales, "member"),
                                       ("ben", "ben@acme.example", sales, "member"),
                                       ("sue", "sue@acme.example", support, "member"),
                                       ("eve", "eve@other.example", other, "lead")):
            user = admin.add_user(s, email, team, role, name=key.capitalize(),
                                  org_name="Acme" if team is None else None)
            user.password_hash = password_hash()  # hashed once per run: argon2 is slow on purpose
            ids[key] = user.id
        s.commit()
        ids.update(sales=sales.id, support=support.id, other=other.id)
        ids["samples"] = {
            "ana_me": add_sample(s, ids["ana"], sales.id, NOW - dt.timedelta(hours=1), "me_talk", "neutral",
                                 text="We are the leading provider of widgets in [LOCATION].",
                                 before="Hi [NAME], hope you are well.", after="Please, I really need a reply.",
                                 after_labels={"focus": "other", "tone": "desperate"}),
            "ana_desperate": add_sample(s, ids["ana"], sales.id, NOW - dt.timedelta(hours=2), "other", "desperate",
                                        text="I'm begging you, please reply to [EMAIL]."),
            "ana_read": add_sample(s, ids["ana"], sales.id, NOW - dt.timedelta(days=20), "me_talk", "threatening",
                                   source="read", version="2026.10.01",
                                   text="Sign today or the price doubles."),
            "ben_threat": add_sample(s, ids["ben"], sales.id, NOW - dt.timedelta(hours=3), "other", "threatening",
                                     text="If you don't sign by Friday, you lose your discount."),
            "ben_me": add_sample(s, ids["ben"], sales.id, NOW - dt.timedelta(days=3), "me_talk", "neutral",
                                 text="Our company has won many awards.", feedback="ignored"),
            "sue": add_sample(s, ids["sue"], support.id, NOW - dt.timedelta(hours=1), "me_talk", "neutral",
                              text="We at Support are the best."),
            "eve": add_sample(s, ids["eve"], other.id, NOW - dt.timedelta(hours=1), "me_talk", "neutral",
                              text="Our product is the best in the world."),
        }
    yield app, ids
    app.extensions["pitchlint_db"].engine.dispose()


@functools.cache
def password_hash() -> str:
    from pitchlint.service.team.admin import hash_password

    return hash_password(PASSWORD)


def add_sample(s, user_id, team_id, when, focus, tone, *, text, source="compose", version="2026.11.28",
               before=None, after=None, before_labels=None, after_labels=None, feedback=None,
               sentences=6) -> int:
    from pitchlint.service.team.models import Analysis, Sample

    a = Analysis(team_id=team_id, user_id=user_id, created_at=when, source=source, model_version=version,
                 email_focus=focus if focus != "other" else "customer_centric", email_tone=tone,
                 sentences=sentences, flagged=1)
    s.add(a)
    s.flush()
    row = Sample(analysis_id=a.id, team_id=team_id, user_id=user_id, created_at=when, source=source,
                 model_version=version, position=1, text=text, before=before, after=after,
                 before_labels=before_labels or ({"focus": "other", "tone": "neutral"} if before else None),
                 after_labels=after_labels or ({"focus": "other", "tone": "neutral"} if after else None),
                 focus=focus, tone=tone, focus_score=0.9, tone_score=0.7, scores=SCORES, feedback=feedback)
    s.add(row)
    s.commit()
    return row.id


def token_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def sign_in(client, email, password=PASSWORD, nxt=None):
    page = client.get("/signin", headers=HTML)
    data = {"email": email, "password": password, "csrf_token": token_of(page.text)}
    if nxt is not None:
        data["next"] = nxt
    return client.post("/signin", data=data, headers=HTML)


@pytest.fixture
def as_user(web):
    app, _ = web

    def _as(email):
        client = app.test_client()
        resp = sign_in(client, email)
        assert resp.status_code == 303, resp.text
        return client
    return _as


def sample_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-sample="(\d+)"', html)]


def csrf_for(client, path):
    return token_of(client.get(path, headers=HTML).text)


# ---- the landing page ----------------------------------------------------------------------

def test_the_landing_page_says_what_the_service_is_and_where_to_go(web):
    import json

    from pitchlint.model.artifact import DEFAULT_MODEL_DIR

    app, _ = web
    version = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["version"]
    for accept in (HTML, {"Accept": "*/*"}):  # a browser, and curl
        page = app.test_client().get("/", headers=accept)
        assert page.status_code == 200 and page.mimetype == "text/html"
        text = unescape(page.text)
        assert "me-talk" in text and "desperate" in text and "threatening" in text
        assert f"version {version}" in " ".join(re.sub(r"<[^>]+>", "", text).split())
        for link in ('href="/docs"', 'href="/openapi.json"', 'href="/signin"', 'href="/team"',
                     'href="#extension"', 'id="extension"'):
            assert link in page.text, link
        assert "chrome://extensions" in text and "Load unpacked" in text
        assert "Authorization: Bearer" in text  # this app requires keys, and says so
        assert "Content-Security-Policy" in page.headers


def test_the_landing_page_says_no_cors_is_needed_for_the_default_local_service(make_app_for_home):
    page = make_app_for_home(PUBLIC_URL="http://127.0.0.1:8350").test_client().get("/", headers=HTML)
    assert "no CORS setting is involved" in page.text and "PITCHLINT_CORS_ORIGINS" not in page.text
    other = make_app_for_home(PUBLIC_URL="https://pitchlint.acme.example").test_client().get("/", headers=HTML)
    assert "PITCHLINT_CORS_ORIGINS=chrome-extension://&lt;ID&gt;" in other.text
    assert "https://pitchlint.acme.example/v1/analyze" in other.text


@pytest.fixture
def make_app_for_home(tmp_path):
    from pitchlint.service import create_app

    apps = []

    def _make(**config):
        url = _database_url(tmp_path)
        if not url.startswith("sqlite") and not apps:
            _reset_postgres(url)
        apps.append(create_app({"TESTING": True, "DATABASE_URL": url, "LOAD_MODEL_AT_START": False,
                                "REQUIRE_KEYS": False, "SECRET_KEY": "k", **config}))
        return apps[-1]
    yield _make
    for app in apps:
        app.extensions["pitchlint_db"].engine.dispose()


# ---- sign-in, sessions, CSRF ---------------------------------------------------------------

def test_sign_in_lands_on_the_team_and_failures_say_the_same(web):
    app, ids = web
    client = app.test_client()
    wrong = sign_in(client, "lead@acme.example", "wrong password here")
    unknown = sign_in(client, "nobody@acme.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401  # the sign-in page again, as a refusal
    message = "That email and password don&#39;t match an account"
    assert message in wrong.text and message in unknown.text
    assert 'value="lead@acme.example"' in wrong.text  # the address is kept, not the password
    assert client.get("/team", headers=HTML).status_code == 302  # still signed out

    ok = sign_in(client, "LEAD@acme.example")  # addresses are matched without case
    assert ok.status_code == 303 and ok.location == "/team"
    team = client.get("/team", headers=HTML)
    assert team.status_code == 302 and team.location == f"/teams/{ids['sales']}/samples"
    page = client.get(team.location, headers=HTML)
    assert page.status_code == 200
    assert "lead@acme.example" in page.text and "team lead" in page.text and "Sales" in page.text
    assert ">Settings<" not in page.text  # the nav shows Settings to admins only


def test_password_guessing_is_slowed_per_account(web):
    app, _ = web
    client = app.test_client()
    limit = app.config["SIGNIN_ATTEMPTS_PER_MINUTE"]
    for _ in range(limit):
        assert sign_in(client, "lead@acme.example", "wrong password here").status_code == 401
    refused = sign_in(client, "lead@acme.example")  # even the right password, for a minute
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many sign-in attempts" in refused.text
    assert client.get("/team", headers=HTML).status_code == 302


def test_admin_without_a_team_gets_the_organisations_teams(as_user, web):
    _, ids = web
    client = as_user("admin@acme.example")
    resp = client.get("/team", headers=HTML)
    assert resp.location == "/teams"
    page = client.get("/teams", headers=HTML).text
    assert f"/teams/{ids['sales']}/samples" in page and f"/teams/{ids['support']}/samples" in page
    assert f"/teams/{ids['other']}/" not in page


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/\t/evil.example"])
def test_next_never_leaves_the_site(web, target):
    app, _ = web
    client = app.test_client()
    assert f'value="{target}"' not in client.get("/signin", query_string={"next": target}, headers=HTML).text
    resp = sign_in(client, "lead@acme.example", nxt=target)
    assert resp.status_code == 303 and resp.location == "/team"


def test_next_to_a_page_on_the_site_is_followed(web):
    app, ids = web
    client = app.test_client()
    target = f"/teams/{ids['sales']}/trends?weeks=4"
    redirect = client.get(target, headers=HTML)
    assert redirect.status_code == 302
    assert parse_qs(urlsplit(redirect.location).query)["next"] == [target]
    page = client.get(redirect.location, headers=HTML)
    assert f'name="next" value="{target}"' in unescape(page.text)
    assert sign_in(client, "lead@acme.example", nxt=target).location == target


def test_signing_in_replaces_the_session(web):
    app, ids = web
    client = app.test_client()
    before_token = token_of(client.get("/signin", headers=HTML).text)
    before_cookie = client.get_cookie(COOKIE).value
    resp = client.post("/signin", data={"email": "lead@acme.example", "password": PASSWORD,
                                        "csrf_token": before_token}, headers=HTML)
    assert resp.status_code == 303
    after_cookie = client.get_cookie(COOKIE).value
    assert after_cookie != before_cookie
    after_token = csrf_for(client, f"/teams/{ids['sales']}/samples")
    assert after_token != before_token

    # whoever held the pre-sign-in cookie (planted or observed) is not signed in by it
    stranger = app.test_client()
    stranger.set_cookie(COOKIE, before_cookie)
    assert stranger.get(f"/teams/{ids['sales']}/samples", headers=HTML).status_code == 302
    # and the old CSRF token does not work in the new session
    assert client.post("/signout", data={"csrf_token": before_token}).status_code == 403
    assert client.get(f"/teams/{ids['sales']}/samples", headers=HTML).status_code == 200


def test_signed_out_browsers_are_sent_to_sign_in_and_api_clients_get_401(web):
    app, ids = web
    client = app.test_client()
    page = client.get(f"/teams/{ids['sales']}/samples?label=me_talk", headers=HTML)
    assert page.status_code == 302 and page.location.startswith("/signin?next=")
    api = client.get(f"/teams/{ids['sales']}/samples", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "signed_out"


def test_sign_in_post_needs_the_forms_token(web):
    app, _ = web
    client = app.test_client()
    client.get("/signin", headers=HTML)
    resp = client.post("/signin", data={"email": "lead@acme.example", "password": PASSWORD}, headers=HTML)
    assert resp.status_code == 403 and "This form had expired" in resp.text
    assert client.get("/team", headers=HTML).status_code == 302  # not signed in


def test_sign_out_needs_the_token(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    token = csrf_for(client, f"/teams/{ids['sales']}/samples")
    missing = client.post("/signout", headers=HTML)
    wrong = client.post("/signout", data={"csrf_token": token[::-1]})
    assert missing.status_code == 403 and "expired or did not come from this site" in missing.text
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "csrf_failed"
    assert client.get("/team", headers=HTML).status_code == 302 and \
        client.get("/team", headers=HTML).location.startswith("/teams/")  # still signed in
    out = client.post("/signout", data={"csrf_token": token}, headers=HTML)
    assert out.status_code == 303 and out.location == "/signin"
    assert "You are signed out" in client.get("/signin", headers=HTML).text
    assert client.get("/team", headers=HTML).location.startswith("/signin")


def test_sign_in_page_shows_sso_links_only_when_configured_and_flashed_errors(web):
    app, _ = web
    client = app.test_client()
    page = client.get("/signin?next=/teams/1/trends", headers=HTML).text
    assert "/signin/microsoft" not in page and "/signin/google" not in page
    app.config.update(MS_CLIENT_ID="ms-client", GOOGLE_CLIENT_ID="google-client")  # add-ins only
    page = client.get("/signin", headers=HTML).text
    assert "/signin/microsoft" not in page and "/signin/google" not in page
    app.config.update(MS_CLIENT_SECRET="ms-secret", GOOGLE_CLIENT_SECRET="google-secret")
    page = unescape(client.get("/signin?next=/teams/1/trends", headers=HTML).text)
    assert "/signin/microsoft?next=/teams/1/trends" in page.replace("%2F", "/")
    assert "/signin/google?next=/teams/1/trends" in page.replace("%2F", "/")

    with client.session_transaction() as sess:  # what the SSO routes do on failure
        sess["_flashes"] = [("error", "Your Microsoft account isn't a Pitchlint user.")]
    assert "Your Microsoft account isn&#39;t a Pitchlint user." in client.get("/signin", headers=HTML).text
    assert "didn&#39;t complete" in client.get("/signin?error=sso_failed", headers=HTML).text
    crafted = client.get("/signin?error=Call+555-0100+to+unlock", headers=HTML).text
    assert "555-0100" not in crafted and "Sign-in didn&#39;t work" in crafted


# ---- the samples list ----------------------------------------------------------------------

def test_lead_sees_the_teams_samples_newest_first(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    page = client.get(f"/teams/{ids['sales']}/samples", headers=HTML)
    assert page.status_code == 200
    smp = ids["samples"]
    assert sample_ids(page.text) == [smp["ana_me"], smp["ana_desperate"], smp["ben_threat"],
                                     smp["ben_me"], smp["ana_read"]]
    assert "Showing <strong>1–5</strong> of <strong>5</strong>" in page.text
    assert 'class="chip chip-me_talk"' in page.text and 'class="chip chip-threatening"' in page.text
    assert "We are the leading provider of widgets in [LOCATION]." in page.text
    assert 'name="member"' in page.text and "Ana" in page.text and "Ben" in page.text
    assert "Export CSV" in page.text and f"/teams/{ids['sales']}/export.csv" in page.text


@pytest.mark.parametrize("args, expected", [
    ({"label": "me_talk"}, ["ana_me", "ben_me", "ana_read"]),
    ({"label": "desperate"}, ["ana_desperate"]),
    ({"label": "threatening"}, ["ben_threat", "ana_read"]),
    ({"source": "read"}, ["ana_read"]),
    ({"model_version": "2026.10.01"}, ["ana_read"]),
    ({"feedback": "ignored"}, ["ben_me"]),
    ({"feedback": "none"}, ["ana_me", "ana_desperate", "ben_threat", "ana_read"]),
    ({"from": (NOW - dt.timedelta(days=5)).date().isoformat()}, ["ana_me", "ana_desperate", "ben_threat", "ben_me"]),
    ({"to": (NOW - dt.timedelta(days=10)).date().isoformat()}, ["ana_read"]),
    ({"member": "ben", "label": "threatening"}, ["ben_threat"]),
])
def test_filters_narrow_the_list(as_user, web, args, expected):
    _, ids = web
    client = as_user("lead@acme.example")
    if "member" in args:
        args = dict(args, member=ids[args["member"]])
    page = client.get(f"/teams/{ids['sales']}/samples", query_string=args, headers=HTML).text
    assert sample_ids(page) == [ids["samples"][k] for k in expected]
    for name, value in args.items():  # the form shows the filter that is on
        assert (f'value="{value}" selected' in page or f'name="{name}" value="{value}"' in page), name


def test_member_filter_lists_the_teams_members(as_user, web):
    _, ids = web
    page = as_user("lead@acme.example").get(f"/teams/{ids['sales']}/samples",
                                              query_string={"member": ids["ana"]}, headers=HTML).text
    assert sample_ids(page) == [ids["samples"][k] for k in ("ana_me", "ana_desperate", "ana_read")]
    options = re.findall(r'<option value="(\d+)"', page.split('name="member"')[1].split("</select>")[0])
    assert sorted(int(o) for o in options) == sorted([ids["lead"], ids["ana"], ids["ben"]])


def test_a_bad_filter_is_a_400_page(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    resp = client.get(f"/teams/{ids['sales']}/samples?from=yesterday", headers=HTML)
    assert resp.status_code == 400 and "must be a date as YYYY-MM-DD" in resp.text
    api = client.get(f"/teams/{ids['sales']}/samples?label=rude")
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "invalid_filter"


def test_a_reversed_date_range_matches_nothing_and_says_why(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    args = {"from": "2026-11-20", "to": "2026-11-01"}
    resp = client.get(f"/teams/{ids['sales']}/samples", query_string=args, headers=HTML)
    assert resp.status_code == 200 and sample_ids(resp.text) == []
    assert "date range is reversed" in resp.text
    csv = client.get(f"/teams/{ids['sales']}/export.csv", query_string=args)
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 1  # the header alone


def test_paging(as_user, web):
    app, ids = web
    from pitchlint.service.db import get_db

    with app.app_context(), get_db().sessions() as s:
        for k in range(60):
            add_sample(s, ids["ben"], ids["sales"], NOW - dt.timedelta(days=40, minutes=k), "me_talk",
                       "neutral", text=f"Our platform is number {k} in the market.")
    client = as_user("lead@acme.example")
    base = f"/teams/{ids['sales']}/samples"
    first = client.get(base, query_string={"per_page": 25}, headers=HTML).text
    assert "Showing <strong>1–25</strong> of <strong>65</strong>" in first
    assert len(sample_ids(first)) == 25 and 'rel="prev"' not in first
    nxt = unescape(re.search(r'rel="next" href="([^"]+)"', first).group(1))
    assert parse_qs(urlsplit(nxt).query) == {"per_page": ["25"], "page": ["2"]}
    second = client.get(nxt, headers=HTML).text
    assert "Showing <strong>26–50</strong> of <strong>65</strong>" in second and "Page 2 of 3" in second
    assert not set(sample_ids(first)) & set(sample_ids(second))
    prev = unescape(re.search(r'rel="prev" href="([^"]+)"', second).group(1))
    assert parse_qs(urlsplit(prev).query) == {"per_page": ["25"]}
    last = client.get(base, query_string={"per_page": 25, "page": 3, "label": "me_talk"}, headers=HTML).text
    assert "Showing <strong>51–63</strong> of <strong>63</strong>" in last and 'rel="next"' not in last
    assert "label=me_talk" in unescape(re.search(r'rel="prev" href="([^"]+)"', last).group(1))


# ---- one sample and feedback ---------------------------------------------------------------

def test_sample_page_shows_the_masked_context_highlighted(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    sid = ids["samples"]["ana_me"]
    page = client.get(f"/samples/{sid}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Hi [NAME], hope you are well." in text
    assert re.search(r'<mark class="hl hl-me_talk hl-target"[^>]*>We are the leading provider of widgets '
                     r'in \[LOCATION\]\.</mark>', text)
    # the sentence after was flagged (desperate) too: it is highlighted in its colour
    assert re.search(r'<mark class="hl hl-desperate"[^>]*>Please, I really need a reply\.</mark>', text)
    assert "<mark class=\"hl" not in text.split("Hi [NAME], hope you are well.")[0][-120:]
    assert "2026.11.28" in text and "ana@acme.example" in text and "90%" in text
    assert 'name="csrf_token"' in text and 'name="focus"' in text and 'name="tone"' in text


def test_feedback_needs_the_token_and_is_saved(as_user, web):
    app, ids = web
    client = as_user("lead@acme.example")
    sid = ids["samples"]["ana_me"]
    token = csrf_for(client, f"/samples/{sid}")
    form = {"kind": "wrong", "focus": "customer_centric", "tone": "neutral"}
    assert client.post(f"/samples/{sid}", data=form, headers=HTML).status_code == 403
    assert client.post(f"/samples/{sid}", data=dict(form, csrf_token="x" * 43)).status_code == 403

    resp = client.post(f"/samples/{sid}", data=dict(form, csrf_token=token, note="they asked for this"),
                       headers=HTML)
    assert resp.status_code == 303 and resp.location == f"/samples/{sid}"
    page = client.get(resp.location, headers=HTML).text
    assert "your feedback is saved" in page and "customer-centric" in page and "they asked for this" in page
    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Sample

    with app.app_context(), get_db().sessions() as s:
        row = s.get(Sample, sid)
        assert (row.feedback, row.corrected_focus, row.corrected_tone) == ("wrong", "customer_centric", None)
    listed = client.get(f"/teams/{ids['sales']}/samples?feedback=wrong", headers=HTML).text
    assert sample_ids(listed) == [sid] and "corrected" in listed

    ignored = client.post(f"/samples/{ids['samples']['ben_threat']}",
                          data={"kind": "ignored", "csrf_token": token, "focus": "me_talk"}, headers=HTML)
    assert ignored.status_code == 303


def test_feedback_errors_are_shown_on_the_page(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    sid = ids["samples"]["ana_desperate"]
    token = csrf_for(client, f"/samples/{sid}")
    same = client.post(f"/samples/{sid}", headers=HTML, data={"kind": "wrong", "focus": "other",
                                                               "tone": "desperate", "csrf_token": token})
    assert same.status_code == 409 and "already labelled this sentence other and desperate" in same.text
    assert "Flagged sentence" in same.text  # the page itself, with the form
    bad = client.post(f"/samples/{sid}", headers=HTML, data={"kind": "wrong", "focus": "rude",
                                                              "csrf_token": token})
    assert bad.status_code == 400 and "&#39;focus&#39; must be one of" in bad.text
    nokind = client.post(f"/samples/{sid}", headers=HTML, data={"csrf_token": token})
    assert nokind.status_code == 400 and "&#39;kind&#39; must be" in nokind.text


# ---- trends --------------------------------------------------------------------------------

def test_trends_draw_one_line_per_label(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    page = client.get(f"/teams/{ids['sales']}/trends", headers=HTML)
    assert page.status_code == 200
    team_svg = re.search(r"<svg class=\"chart\".*?</svg>", page.text, re.S).group(0)
    labels = re.findall(r'<path class="line line-(\w+)" data-label="\w+" d="([^"]*)"', team_svg)
    assert [l for l, _ in labels] == ["me_talk", "desperate", "threatening"]
    assert all(d.startswith("M") for _, d in labels), labels
    assert 'data-has-data="yes"' in team_svg and "<circle" in team_svg
    assert re.search(r">\d+%</text>", team_svg)  # percentage axis
    assert re.search(r">[A-Z][a-z]{2} \d{1,2}</text>", team_svg)  # week dates
    assert "<table" in page.text and "Week of" in page.text
    # small multiples: one chart per member with data (Ana and Ben)
    assert page.text.count('class="card member-card"') == 2
    assert 'data-member="ana@acme.example"' in page.text and 'data-member="ben@acme.example"' in page.text


def test_trends_gap_where_a_week_has_no_data(web):
    from pitchlint.service.web.pages import line_chart

    weeks = [(dt.date(2026, 11, 2) + dt.timedelta(weeks=i)).isoformat() for i in range(4)]
    chart = line_chart(weeks, {"me_talk": [0.1, None, 0.2, 0.3], "desperate": [None] * 4,
                               "threatening": [0.05, 0.0, None, None]}, 0.5)
    d = {line["label"]: line["d"] for line in chart["lines"]}
    assert d["me_talk"].count("M") == 2 and d["me_talk"].count("L") == 1
    assert d["desperate"] == ""
    assert d["threatening"].count("M") == 1 and d["threatening"].count("L") == 1
    assert [label for _, label in chart["y_ticks"]] == ["0%", "10%", "20%", "30%", "40%", "50%"]
    assert [label for _, label in chart["x_ticks"]] == ["Nov 2", "Nov 9", "Nov 16", "Nov 23"]


def test_member_sees_only_their_own_trends(as_user, web):
    _, ids = web
    page = as_user("ana@acme.example").get(f"/teams/{ids['sales']}/trends", headers=HTML).text
    assert 'data-member="ana@acme.example"' in page and "ben@acme.example" not in page
    assert "You see your own emails only" in page


# ---- settings ------------------------------------------------------------------------------

def test_settings_are_for_admins(as_user, web):
    _, ids = web
    for email in ("lead@acme.example", "ana@acme.example"):
        client = as_user(email)
        assert client.get(f"/teams/{ids['sales']}/settings", headers=HTML).status_code == 403
        token = csrf_for(client, f"/teams/{ids['sales']}/samples")
        resp = client.post(f"/teams/{ids['sales']}/settings", headers=HTML,
                           data={"csrf_token": token, "history": "off", "retention_days": "5"})
        assert resp.status_code == 403 and "only an admin" in resp.text
    eve = as_user("eve@other.example")
    missing = eve.get(f"/teams/{ids['sales']}/settings", headers=HTML)
    assert missing.status_code == 404 and "no such team" in missing.text


def test_admin_changes_settings_through_the_form(as_user, web):
    app, ids = web
    client = as_user("admin@acme.example")
    url = f"/teams/{ids['support']}/settings"
    page = client.get(url, headers=HTML).text
    assert 'value="off" checked' in page and 'value="30"' in page and "sue@acme.example" in page
    token = token_of(page)
    form = {"history": "on", "retention_days": "45"}
    assert client.post(url, data=form, headers=HTML).status_code == 403
    assert client.post(url, data=dict(form, csrf_token="nope")).status_code == 403

    resp = client.post(url, data=dict(form, csrf_token=token), headers=HTML)
    assert resp.status_code == 303 and resp.location == url
    page = client.get(url, headers=HTML).text
    assert "History is on; samples are kept for 45 days" in page and 'value="on" checked' in page

    bad = client.post(url, data={"csrf_token": token, "history": "off", "retention_days": "0"}, headers=HTML)
    assert bad.status_code == 400 and "whole number of days from 1 to 3650" in bad.text
    from pitchlint.service.db import get_db
    from pitchlint.service.team.models import Team

    with app.app_context(), get_db().sessions() as s:
        team = s.get(Team, ids["support"])
        assert (team.history_enabled, team.retention_days) == (True, 45)  # nothing half-saved


# ---- exports -------------------------------------------------------------------------------

def test_export_downloads_with_the_filters(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    csv = client.get(f"/teams/{ids['sales']}/export.csv", query_string={"label": "threatening"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("sample_id,created_at,member")
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == \
        sorted([ids["samples"]["ben_threat"], ids["samples"]["ana_read"]])
    jsonl = client.get(f"/teams/{ids['sales']}/export.jsonl")
    assert jsonl.status_code == 200 and jsonl.mimetype == "application/x-ndjson"
    assert len(jsonl.text.strip().splitlines()) == 5
    page = client.get(f"/teams/{ids['sales']}/samples?label=threatening&page=1&per_page=25", headers=HTML).text
    href = unescape(re.search(r'href="([^"]*export\.csv[^"]*)"', page).group(1))
    assert parse_qs(urlsplit(href).query) == {"label": ["threatening"]}


def test_members_cannot_export(as_user, web):
    _, ids = web
    client = as_user("ana@acme.example")
    assert "Export CSV" not in client.get(f"/teams/{ids['sales']}/samples", headers=HTML).text
    resp = client.get(f"/teams/{ids['sales']}/export.csv")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


# ---- who sees what -------------------------------------------------------------------------

def test_member_sees_only_their_own_samples(as_user, web):
    _, ids = web
    client = as_user("ana@acme.example")
    smp = ids["samples"]
    page = client.get(f"/teams/{ids['sales']}/samples", headers=HTML).text
    assert sample_ids(page) == [smp["ana_me"], smp["ana_desperate"], smp["ana_read"]]
    assert 'name="member"' not in page
    # asking for a colleague's samples by filter shows nothing of theirs
    assert sample_ids(client.get(f"/teams/{ids['sales']}/samples?member={ids['ben']}", headers=HTML).text) == []
    assert client.get(f"/samples/{smp['ana_me']}", headers=HTML).status_code == 200
    colleague = client.get(f"/samples/{smp['ben_threat']}", headers=HTML)
    assert colleague.status_code == 403 and "your own samples" in colleague.text
    other_org = client.get(f"/samples/{smp['eve']}", headers=HTML)
    assert other_org.status_code == 404 and "no such sample" in other_org.text
    assert client.get(f"/teams/{ids['support']}/samples", headers=HTML).status_code == 403
    assert client.get(f"/teams/{ids['other']}/samples", headers=HTML).status_code == 404
    token = csrf_for(client, f"/samples/{smp['ana_me']}")
    assert client.post(f"/samples/{smp['ben_threat']}", headers=HTML,
                       data={"kind": "ignored", "csrf_token": token}).status_code == 403


def test_errors_are_html_for_browsers_and_json_for_everyone_else(as_user, web):
    _, ids = web
    client = as_user("lead@acme.example")
    page = client.get(f"/teams/{ids['other']}/samples", headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "There is no such team" in page.text and "lead@acme.example" in page.text
    api = client.get(f"/teams/{ids['other']}/samples")
    assert api.status_code == 404 and api.get_json() == {"error": {"code": "not_found", "message": f"no team {ids['other']}"}}
    forbidden = client.get(f"/teams/{ids['support']}/trends", headers={"Accept": "*/*"})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    assert client.get(f"/samples/{ids['samples']['sue']}", headers=HTML).status_code == 403


def test_admin_sees_every_team_of_the_organisation(as_user, web):
    _, ids = web
    client = as_user("admin@acme.example")
    page = client.get(f"/teams/{ids['support']}/samples", headers=HTML).text
    assert sample_ids(page) == [ids["samples"]["sue"]] and ">Settings<" in page
    assert client.get(f"/samples/{ids['samples']['eve']}", headers=HTML).status_code == 404


def test_pages_are_not_cached_and_not_framed(as_user, web):
    _, ids = web
    resp = as_user("lead@acme.example").get(f"/teams/{ids['sales']}/samples", headers=HTML)
    assert resp.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_the_stylesheet_is_served(web):
    app, _ = web
    resp = app.test_client().get("/web-static/pitchlint.css")
    assert resp.status_code == 200 and resp.mimetype == "text/css" and ".chip-me_talk" in resp.text
