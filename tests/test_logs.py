"""Structured logs: a JSON line per request with its id (echoed as X-Request-Id), and nothing of
an email (text, subject, address) nor a key in any log line at any level."""
from __future__ import annotations

import io
import json
import logging

import pytest

pytestmark = pytest.mark.db

MARKERS = {"text": "Quillfeather Overtonwick", "subject": "Zanzibar renewal Pelargonium",
           "address": "zed.quillfeather@leaky.example", "history_key": "hk-Marrowbone-77"}


@pytest.fixture
def captured_logs():
    """Every logger through the service's JSON formatter at DEBUG, into a buffer."""
    from pitchlint.service import logs

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buf = io.StringIO()
    logs.configure("DEBUG", stream=buf)
    yield buf
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _team_key(app) -> tuple[str, str]:
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key
    from pitchlint.service.team import admin

    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Leakproof", "Sales", history=True)
        rep = admin.add_user(s, "rep.quillfeather@leakproof.example", team, "member")
        _, key = create_key(s, "logs", user_id=rep.id)
    return key, "rep.quillfeather@leakproof.example"


def test_no_email_text_subject_address_or_key_reaches_a_log_line(make_app, captured_logs):
    app = make_app(REQUIRE_KEYS=True, MAX_TEXT_CHARS=2000)
    key, member = _team_key(app)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    text = (f"Hi {MARKERS['text']},\n\nSorry to chase again, write to {MARKERS['address']}. "
            "Reply by Friday or lose the discount.\n\nTom")
    answers = [
        client.post("/v1/analyze", json={"text": text, "subject": MARKERS["subject"],
                                         "history_key": MARKERS["history_key"]}, headers=auth),
        client.post("/v1/analyze/batch", json={"emails": [{"text": text}, {"text": 5}]}, headers=auth),
        client.post("/v1/analyze", json={"text": text, "mode": MARKERS["subject"]}, headers=auth),
        client.post("/v1/analyze", data="{" + text, content_type="application/json", headers=auth),
        client.post("/v1/analyze", json={"text": text * 50}, headers=auth),
        client.post("/v1/analyze", json={"text": text},
                    headers={"Authorization": f"Bearer pl_{MARKERS['history_key']}"}),
        client.get(f"/v1/teams/1/samples?model_version={MARKERS['subject']}", headers=auth),
        client.post("/signin", data={"email": MARKERS["address"], "password": MARKERS["text"]}),
    ]
    assert [a.status_code for a in answers][:7] == [200, 200, 400, 400, 413, 401, 200]
    assert answers[0].get_json()["history"]["kept"] is True
    log = captured_logs.getvalue()
    lines = [json.loads(line) for line in log.splitlines()]
    requests = [l for l in lines if l["logger"] == "pitchlint.request"]
    assert len(requests) == len(answers)
    assert [r["status"] for r in requests][:7] == [a.status_code for a in answers][:7]
    assert requests[0]["route"] == "/v1/analyze" and requests[0]["key_id"] >= 1
    assert requests[2]["error_code"] == "invalid_mode"
    for r, a in zip(requests, answers):
        assert r["request_id"] == a.headers["X-Request-Id"]
    found = [s for s in (*MARKERS.values(), key, key[3:], member) if s in log]
    assert not found, found


def test_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    assert given.headers["X-Request-Id"] == "lb-1234.abc"
    made = client.get("/healthz", headers={"X-Request-Id": "not a token <script>"})
    assert len(made.headers["X-Request-Id"]) == 32 and "<" not in made.headers["X-Request-Id"]
    assert client.get("/nowhere").headers["X-Request-Id"]


def test_an_exception_is_logged_as_its_type_and_stack_never_its_message():
    from pitchlint.service.logs import JSONFormatter

    try:
        raise ValueError(f"duplicate key value (email)=({MARKERS['address']})")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed", (),
                                                   __import__("sys").exc_info())
    line = json.loads(JSONFormatter().format(record))
    assert line["error"] == "ValueError" and line["stack"][0] == "ValueError"
    assert MARKERS["address"] not in json.dumps(line)
