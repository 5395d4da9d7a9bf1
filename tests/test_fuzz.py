"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis).

Every generated request, valid or not, must get an answer that the document describes:
no 500, no HTML, the documented status codes and shapes. (Driven through hypothesis directly;
schemathesis's pytest plugin does not load under this pytest version.)

The examples are derandomized (the same ones every run, so main stays green on a fixed tree);
explore further with PITCHLINT_FUZZ_RANDOM=1 and PITCHLINT_FUZZ_EXAMPLES=500, e.g.
    PITCHLINT_FUZZ_RANDOM=1 PITCHLINT_FUZZ_EXAMPLES=500 pytest tests/test_fuzz.py
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

pytestmark = pytest.mark.db

EXAMPLES = int(os.environ.get("PITCHLINT_FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("PITCHLINT_FUZZ_RANDOM", "") not in ("", "0")


def _team_admin_key(app) -> str:
    """A team with history on and an admin's key, so the team endpoints run for real."""
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key
    from pitchlint.service.team import admin

    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Acme", "Sales", history=True)
        boss = admin.add_user(s, "boss@acme.example", team, "admin")
        _, key = create_key(s, "fuzz", user_id=boss.id)
    client = app.test_client()
    for text in ("Sorry to bother you again, I have emailed you five times.",
                 "We are the best agency in the world. Reply by Friday or lose the discount."):
        assert client.post("/v1/analyze", json={"text": text},
                           headers={"Authorization": f"Bearer {key}"}).status_code == 200
    return key


def test_api_matches_its_openapi_document(make_app):
    app = make_app()
    headers = {"Authorization": f"Bearer {_team_admin_key(app)}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(operation.label)
        fuzz_operation(operation, GenerationMode.POSITIVE, headers)
        if operation.method.upper() in ("POST", "PATCH"):  # nothing to get wrong in a bare GET
            fuzz_operation(operation, GenerationMode.NEGATIVE, headers)
    assert "POST /v1/analyze" in seen and "POST /v1/feedback" in seen
    assert "GET /v1/teams/{team_id}/export" in seen


STREAMED = {"text/csv", "application/x-ndjson"}


def fuzz_operation(operation, mode, headers):
    """Valid requests must be answered as documented; invalid ones refused, never a 500."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None, derandomize=not RANDOM)
    def fuzz(case):
        # Our "too large" answers are 413 (the contract), which schemathesis's own negative-data
        # check does not count as a refusal; the assertion below checks refusals instead.
        response = case.call_and_validate(headers=headers,
                                           excluded_checks=[checks.negative_data_rejection])
        assert response.status_code < 500
        if mode is GenerationMode.NEGATIVE:
            assert 400 <= response.status_code < 500, (case.body, response.status_code)
        content_type = response.headers.get("content-type", [""])[0]
        if operation.path.endswith("/export") and response.status_code == 200:
            assert content_type.split(";")[0] in STREAMED, content_type
        else:
            assert content_type.startswith("application/json"), content_type

    fuzz()
