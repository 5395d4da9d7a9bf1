"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis).

Every generated request, valid or not, must get an answer that the document describes:
no 500, no HTML, the documented status codes and shapes. (Driven through hypothesis directly;
schemathesis's pytest plugin does not load under this pytest version.)"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

pytestmark = pytest.mark.db


def test_api_matches_its_openapi_document(make_app):
    app = make_app()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(operation.label)
        fuzz_operation(operation, GenerationMode.POSITIVE)
        if operation.method.upper() == "POST":  # nothing to get wrong in a bare GET
            fuzz_operation(operation, GenerationMode.NEGATIVE)
    assert "POST /v1/analyze" in seen and "POST /v1/analyze/batch" in seen


def fuzz_operation(operation, mode):
    """Valid requests must be answered as documented; invalid ones refused, never a 500."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        # Our "too large" answers are 413 (the contract), which schemathesis's own negative-data
        # check does not count as a refusal; the assertion below checks refusals instead.
        response = case.call_and_validate(excluded_checks=[checks.negative_data_rejection])
        assert response.status_code < 500
        if mode is GenerationMode.NEGATIVE:
            assert 400 <= response.status_code < 500, (case.body, response.status_code)
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), content_type

    fuzz()
