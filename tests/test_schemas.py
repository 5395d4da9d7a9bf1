"""One description of the analyze request: the pydantic model that checks requests is the
AnalyzeRequest schema of /openapi.json, with the app's configured limits."""
from __future__ import annotations

import pytest

from pitchlint.service.errors import APIError
from pitchlint.service.schemas import AnalyzeRequest, analyze_item


def refusal(item, limit=100):
    with pytest.raises(APIError) as e:
        analyze_item(item, limit)
    return e.value.status, e.value.code, e.value.message


def test_each_refusal_keeps_the_contract_code_and_message():
    assert refusal([1]) == (400, "invalid_item", "each email must be a JSON object, got a list")
    assert refusal({"subject": "x"})[:2] == (400, "missing_text")
    assert refusal({"text": None})[1:] == ("invalid_text", "'text' must be a string, got null")
    assert refusal({"text": "x" * 101}) == (413, "text_too_long", "text is 101 characters; the limit is 100")
    assert refusal({"text": " \n\t"})[:2] == (400, "empty_text")
    assert refusal({"text": "Hi", "subject": 3})[1:] == ("invalid_subject", "'subject' must be a string, got a number")
    assert refusal({"text": "Hi", "subject": "s" * 2001}, 10_000)[:2] == (413, "subject_too_long")
    assert refusal({"text": "Hi", "mode": None})[1:] == ("invalid_mode", "'mode' must be 'compose' or 'read', got null")
    assert refusal({"text": "Hi", "history_key": ""})[:2] == (400, "invalid_history_key")
    # The first problem in the contract's order is the one named.
    assert refusal({"text": 5, "mode": "shout"})[1] == "invalid_text"


def test_a_good_request_is_read_with_its_defaults():
    assert analyze_item({"text": "Hi", "id": 7, "other": 1}, 100) == \
        {"text": "Hi", "subject": None, "mode": "compose"}
    assert analyze_item({"text": "Hi", "mode": "read", "history_key": "k"}, 100)["history_key"] == "k"


def test_openapi_gives_the_models_schema_with_the_configured_limits(make_app):
    app = make_app(MAX_TEXT_CHARS=5000, MAX_BATCH=7)
    doc = app.test_client().get("/openapi.json").get_json()
    schema = doc["components"]["schemas"]["AnalyzeRequest"]
    model = AnalyzeRequest.model_json_schema()
    assert schema["properties"]["text"]["maxLength"] == 5000
    assert set(schema["properties"]) == set(model["properties"]) and schema["required"] == ["text"]
    assert schema["properties"]["mode"] == model["properties"]["mode"]
    assert doc["components"]["schemas"]["BatchRequest"]["properties"]["emails"]["maxItems"] == 7


def test_a_repeated_query_parameter_is_refused(client):
    resp = client.get("/v1/model?x=1&x=2")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "repeated_parameter"


def test_team_settings_are_checked_and_documented_by_one_model(client):
    from pitchlint.service.schemas import team_settings

    assert team_settings({"retention_days": 14.0}) == {"retention_days": 14}
    for bad, code in (({"history_enabled": None}, "invalid_setting"), ({"retention_days": "14"}, "invalid_setting"),
                      ({"colour": 1, "retention_days": 0}, "unknown_setting")):
        with pytest.raises(APIError) as e:
            team_settings(bad)
        assert e.value.code == code
    doc = client.get("/openapi.json").get_json()["components"]["schemas"]["TeamSettings"]
    assert doc["additionalProperties"] is False
    assert doc["properties"]["retention_days"]["maximum"] >= 365 and "default" not in doc["properties"]["history_enabled"]
