"""The HTTP API: the contract, the error table, keys, CORS, limits, probes."""
from __future__ import annotations

import json

import jsonschema
import pytest

from pitchlint.service.openapi import SPEC

pytestmark = pytest.mark.db

EMAIL = ("Hi Dana,\n\nSorry to chase you again, this is my fourth email and I really need an "
         "answer. If I don't hear back by Friday your discount is gone for good.\n\nTom")


def schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}


def check(resp, name: str) -> dict:
    body = resp.get_json()
    jsonschema.validate(body, schema(name), cls=jsonschema.Draft202012Validator)
    return body


def post(client, path, body=None, raw=None, ctype="application/json", headers=None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return client.post(path, data=data, content_type=ctype, headers=headers or {})


def test_analyze_follows_the_contract(client):
    resp = post(client, "/v1/analyze", {"text": EMAIL, "subject": "Re: quote", "mode": "compose"})
    assert resp.status_code == 200
    body = check(resp, "AnalyzeResponse")
    assert body["model"]["name"] == "pitchlint-minilm" and body["model"]["version"]
    for s in body["sentences"]:
        assert EMAIL[s["start"]:s["end"]] == s["text"]
        assert s["flagged"] == (s["focus"]["label"] == "me_talk" or s["tone"]["label"] != "neutral")
        assert (s["message"] is None) == (not s["flagged"])
    # sentences cover the whole text in order with only white space between them
    prev = 0
    for s in body["sentences"]:
        assert EMAIL[prev:s["start"]].strip() == ""
        prev = s["end"]
    assert body["tone"]["flags"], "a begging, threatening email must carry a tone flag"


def test_batch_answers_in_order_and_isolates_bad_items(client):
    emails = [{"id": "a", "text": EMAIL}, {"id": "b", "text": 5}, {"id": "c", "text": "   "},
              {"id": "d", "text": "Hi Ola, your trial ends Friday; the export is under Settings."}]
    resp = post(client, "/v1/analyze/batch", {"emails": emails})
    assert resp.status_code == 200
    body = check(resp, "BatchResponse")
    assert [r["id"] for r in body["results"]] == ["a", "b", "c", "d"]
    assert "sentences" in body["results"][0] and "sentences" in body["results"][3]
    assert body["results"][1]["error"]["code"] == "invalid_text"
    assert body["results"][2]["error"]["code"] == "empty_text"


def test_model_endpoint(client):
    resp = client.get("/v1/model")
    body = check(resp, "ModelInfo")
    assert body["labels"]["tone"] == ["desperate", "threatening", "neutral"]
    assert "dev" in body["metrics"] or "validation" in body["metrics"]


def test_openapi_document_is_served_and_docs_page_renders(client):
    assert client.get("/openapi.json").get_json()["openapi"] == "3.1.0"
    page = client.get("/docs")
    assert page.status_code == 200 and b"/v1/analyze" in page.data


BAD_INPUT = [
    # (description, request kwargs, status, code)
    ("no body", dict(raw=b""), 400, "missing_body"),
    ("not JSON", dict(raw=b"{text: nope"), 400, "invalid_json"),
    ("JSON list", dict(body=["text"]), 400, "invalid_body"),
    ("JSON string", dict(body="hello"), 400, "invalid_body"),
    ("wrong content type", dict(raw=b"text=hi", ctype="application/x-www-form-urlencoded"), 415,
     "unsupported_media_type"),
    ("text/plain", dict(raw=b'{"text": "hi"}', ctype="text/plain"), 415, "unsupported_media_type"),
    ("text missing", dict(body={"subject": "hi"}), 400, "missing_text"),
    ("text null", dict(body={"text": None}), 400, "invalid_text"),
    ("text number", dict(body={"text": 42}), 400, "invalid_text"),
    ("text list", dict(body={"text": ["a", "b"]}), 400, "invalid_text"),
    ("unknown mode", dict(body={"text": "Hi there.", "mode": "shout"}), 400, "invalid_mode"),
    ("subject number", dict(body={"text": "Hi there.", "subject": 3}), 400, "invalid_subject"),
    ("empty text", dict(body={"text": "  \n\t "}), 400, "empty_text"),
    ("only control characters", dict(body={"text": "\x00\x07 \ufeff\x85\x1f"}), 400, "empty_text"),
    ("text over the limit", dict(body={"text": "a" * 100_001}), 413, "text_too_long"),
    ("invalid UTF-8", dict(raw=b'{"text": "caf\xe9"}'), 400, "invalid_utf8"),
]


@pytest.mark.parametrize("desc,kwargs,status,code", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_a_clear_json_error(client, desc, kwargs, status, code):
    resp = post(client, "/v1/analyze", **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = check(resp, "Error")
    assert body["error"]["code"] == code
    assert len(body["error"]["message"]) > 10


def test_text_limit_message_names_both_numbers(client):
    body = post(client, "/v1/analyze", {"text": "a" * 141_200}).get_json()
    assert body["error"]["message"] == "text is 141,200 characters; the limit is 100,000"


def test_body_over_the_limit(make_app):
    client = make_app(MAX_BODY_BYTES=10_000).test_client()
    resp = post(client, "/v1/analyze", {"text": "word " * 5000})
    assert resp.status_code == 413
    assert check(resp, "Error")["error"]["code"] == "body_too_large"


def test_batch_of_101_is_refused(client):
    resp = post(client, "/v1/analyze/batch", {"emails": [{"text": "Hi."}] * 101})
    assert resp.status_code == 413
    assert resp.get_json()["error"] == {"code": "batch_too_large",
                                        "message": "the batch has 101 emails; the limit is 100"}


def test_batch_must_be_a_list(client):
    resp = post(client, "/v1/analyze/batch", {"emails": "Hi"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_batch"


def test_unknown_path_and_wrong_method_are_json(client):
    resp = client.get("/v1/nope")
    assert resp.status_code == 404 and check(resp, "Error")["error"]["code"] == "not_found"
    resp = client.get("/v1/analyze")
    assert resp.status_code == 405 and check(resp, "Error")["error"]["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]
    resp = client.delete("/v1/model")
    assert resp.status_code == 405 and resp.mimetype == "application/json"


# --- keys --------------------------------------------------------------------------------

@pytest.fixture
def strict_client(make_app):
    return make_app(REQUIRE_KEYS=True).test_client()


def test_missing_key_where_keys_are_required(strict_client):
    resp = post(strict_client, "/v1/analyze", {"text": EMAIL})
    assert resp.status_code == 401
    assert check(resp, "Error")["error"]["code"] == "missing_key"
    assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_bad_key(strict_client):
    resp = post(strict_client, "/v1/analyze", {"text": EMAIL}, headers={"Authorization": "Bearer pl_nope"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_key"
    resp = post(strict_client, "/v1/analyze", {"text": EMAIL}, headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_key"


def test_good_key_then_revoked_key(make_app):
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key, list_keys, revoke_key

    app = make_app(REQUIRE_KEYS=True)
    client = app.test_client()
    with app.app_context(), get_db().sessions() as s:
        row, key = create_key(s, "rep laptop")
        assert key.startswith("pl_") and row.key_hash != key and key not in row.key_hash
    auth = {"Authorization": f"Bearer {key}"}
    assert post(client, "/v1/analyze", {"text": EMAIL}, headers=auth).status_code == 200
    with app.app_context(), get_db().sessions() as s:
        assert list_keys(s)[0].last_used_at is not None
        revoke_key(s, str(row.id))
    resp = post(client, "/v1/analyze", {"text": EMAIL}, headers=auth)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "key_revoked"


# --- CORS, limits, probes -------------------------------------------------------------------

def test_cors_only_for_allowlisted_origins(make_app):
    client = make_app(CORS_ORIGINS=["chrome-extension://abcdef", "https://addin.example"]).test_client()
    ok = client.options("/v1/analyze", headers={"Origin": "chrome-extension://abcdef",
                                                "Access-Control-Request-Method": "POST"})
    assert ok.headers["Access-Control-Allow-Origin"] == "chrome-extension://abcdef"
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    resp = post(client, "/v1/analyze", {"text": EMAIL}, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers


def test_rate_limit_answers_429_with_retry_after(make_app):
    client = make_app(RATE_LIMIT_PER_MINUTE=3).test_client()
    codes = [post(client, "/v1/analyze", {"text": "Hi there."}).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    resp = post(client, "/v1/analyze", {"text": "Hi there."})
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


def test_rate_limit_in_redis_is_shared_between_apps(make_app):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis must run at 127.0.0.1:6379 (it does on every machine here)")
    a = make_app(RATE_LIMIT_PER_MINUTE=2, REDIS_URL=url).test_client()
    b = make_app(RATE_LIMIT_PER_MINUTE=2, REDIS_URL=url).test_client()
    assert post(a, "/v1/analyze", {"text": "Hi there."}).status_code == 200
    assert post(b, "/v1/analyze", {"text": "Hi there."}).status_code == 200
    assert post(a, "/v1/analyze", {"text": "Hi there."}).status_code == 429
    redis.Redis.from_url(url).flushdb()


def test_health_and_readiness(client, make_app):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and check(ready, "Ready")["checks"]["database"] == "ok"
    app = make_app()
    app.extensions["pitchlint_analyzer"] = None
    app.config["MODEL_DIR"] = "/nonexistent"
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["model"] == "not loaded"
    resp = post(app.test_client(), "/v1/analyze", {"text": EMAIL})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "model_not_ready"


def test_migrations_create_the_schema(app):
    from sqlalchemy import inspect

    from pitchlint.service.db import get_db

    with app.app_context():
        tables = set(inspect(get_db().engine).get_table_names())
    assert {"api_keys", "alembic_version"} <= tables


def test_serve_decides_keys_by_address():
    from pitchlint.service.serve import decide_keys, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert decide_keys("127.0.0.1", None) is False       # one local user, no keys
    assert decide_keys("127.0.0.1", True) is True
    assert decide_keys("0.0.0.0", None) is True          # any other address: keys required
    with pytest.raises(SystemExit, match="refusing to serve"):
        decide_keys("0.0.0.0", False)


def test_a_connection_lost_while_closing_the_session_is_not_a_500(app, client, monkeypatch):
    """The database dropping a connection under a request makes the session's closing rollback
    fail after the answer is made (seen under the fault harness's PostgreSQL cut): the answer
    stands, and the connection is discarded."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from pitchlint.service import db

    invalidated = []

    def close(self):
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "close", close)
    monkeypatch.setattr(Session, "invalidate", lambda self: invalidated.append(self))
    with app.test_request_context():
        db.session()  # the request opened a session
        app.do_teardown_appcontext()
    assert len(invalidated) == 1
