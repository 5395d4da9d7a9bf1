"""Request bodies described once: pydantic models that both check the requests and are their
schemas in /openapi.json; their errors become the contract's error shape, codes and messages.

- AnalyzeRequest: POST /v1/analyze, each email of a batch, the add-ins' analyses;
- TeamSettings: PATCH /v1/teams/<id> and the settings page.

Why pydantic alone rather than spectree or flask-openapi3 around it: both parse the body
themselves (`request.get_json(silent=True) or {}`), so malformed JSON would reach the model as
an empty object and be answered "text is required" instead of invalid_json with its position;
a batch checks each email on its own (a bad one gets its error in `results`, the others are
answered), which a per-route body model cannot say; and the size limits (413, not 400) come
from the app's configuration, not from the class. What they would add, validation and the JSON
Schema, is pydantic's own; the glue here is `analyze_item`.
"""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr,
                      ValidationError, ValidationInfo, field_validator)
from pydantic_core import PydanticCustomError

from .. import sizes
from .errors import APIError
from .team.models import MAX_RETENTION_DAYS

MAX_SUBJECT_CHARS = sizes.MAX_SUBJECT_CHARS
MAX_HISTORY_KEY = 1000  # ids are hashed before they are stored; Outlook's item ids are long
# Some character that is neither white space nor a control character: the model can read it.
READABLE = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="allow", title="AnalyzeRequest")

    text: StrictStr = Field(
        # The length limit is the app's (PITCHLINT_MAX_TEXT_CHARS, 413): checked below, and
        # written into the schema by analyze_request_schema.
        min_length=1, pattern=READABLE,
        description="the email body as plain text (not only white space or control characters; "
                    "the default limit is 100,000 characters)")
    subject: StrictStr | None = Field(None, max_length=MAX_SUBJECT_CHARS)
    mode: Literal["compose", "read"] = "compose"
    id: Any = Field(None, description="echoed back in batch answers")
    history_key: StrictStr | None = Field(
        None, min_length=1, max_length=MAX_HISTORY_KEY,
        description="the client's id of this email (a draft as it is written, a message as it is "
                    "read): when the team keeps history, a later analysis with the same key "
                    "replaces the member's earlier one (flagged sentences still there keep their "
                    "sample_id) rather than adding another; only its hash is stored")

    @field_validator("text", mode="before")
    @classmethod
    def _text_within_the_configured_limit(cls, value, info: ValidationInfo):
        limit = (info.context or {}).get("max_text_chars", sizes.MAX_TEXT_CHARS)
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError("text_too_long", sizes.too_long("text", len(value), limit))
        return value


def json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _api_error(error: dict, item: dict) -> APIError:
    """The contract's error for pydantic's first complaint about `item`."""
    field = error["loc"][0] if error["loc"] else ""
    kind = error["type"]
    value = item.get(field)
    if field == "text":
        if kind == "missing":
            return APIError(400, "missing_text", "the field 'text' is required (the email body as plain text)")
        if kind == "text_too_long":
            return APIError(413, "text_too_long", error["msg"])
        if kind in ("string_too_short", "string_pattern_mismatch"):
            return APIError(400, "empty_text", "text is empty or only white space; send the email "
                            "body to analyse")
        return APIError(400, "invalid_text", f"'text' must be a string, got {json_type(value)}")
    if field == "subject":
        if kind == "string_too_long":
            return APIError(413, "subject_too_long", sizes.too_long("subject", len(value), MAX_SUBJECT_CHARS))
        return APIError(400, "invalid_subject", f"'subject' must be a string, got {json_type(value)}")
    if field == "mode":
        return APIError(400, "invalid_mode", f"'mode' must be 'compose' or 'read', got {json.dumps(value)}")
    if field == "history_key":
        return APIError(400, "invalid_history_key", f"'history_key' must be a string of 1 to "
                        f"{MAX_HISTORY_KEY} characters (an id of the email being written or read)")
    return APIError(400, "invalid_item", error["msg"])


def analyze_item(item, max_text_chars: int) -> dict:
    """The analyze request fields of `item`, checked; APIError naming the first problem."""
    if not isinstance(item, dict):
        raise APIError(400, "invalid_item", f"each email must be a JSON object, got {json_type(item)}")
    try:
        req = AnalyzeRequest.model_validate(item, context={"max_text_chars": max_text_chars})
    except ValidationError as e:
        raise _api_error(e.errors(include_url=False)[0], item) from None
    out = {"text": req.text, "subject": req.subject, "mode": req.mode}
    if req.history_key is not None:
        out["history_key"] = req.history_key
    return out


def analyze_request_schema(max_text_chars: int) -> dict:
    """AnalyzeRequest as JSON Schema (OpenAPI 3.1), with this service's text limit."""
    schema = AnalyzeRequest.model_json_schema()
    schema["properties"]["text"]["maxLength"] = max_text_chars
    schema["properties"]["text"]["description"] = (
        f"the email body as plain text (not only white space or control characters; at most "
        f"{max_text_chars:,} characters here)")
    return schema


def _whole_number(value):
    """A JSON integer as JSON Schema counts them (14 and 14.0 alike); never true or "14"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not value.is_integer()):
        raise PydanticCustomError("whole_number", "not a whole number")
    return int(value)


class TeamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", title="TeamSettings")

    # Either may be left out; neither may be null.
    history_enabled: StrictBool = Field(None, description="keep members' flagged sentences (masked)")
    retention_days: Annotated[int, BeforeValidator(_whole_number)] = Field(
        None, ge=1, le=MAX_RETENTION_DAYS, description="days kept history is kept")


def team_settings(body: dict) -> dict:
    """The settings `body` changes, checked; APIError naming the problem."""
    try:
        settings = TeamSettings.model_validate(body)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        unknown = sorted(str(err["loc"][0]) for err in errors if err["type"] == "extra_forbidden")
        if unknown:
            raise APIError(400, "unknown_setting", f"unknown setting(s): {', '.join(unknown)}; "
                           "a team has history_enabled and retention_days") from None
        if errors[0]["loc"][0] == "history_enabled":
            raise APIError(400, "invalid_setting", "'history_enabled' must be true or false") from None
        raise APIError(400, "invalid_setting", f"'retention_days' must be a whole number from 1 "
                       f"to {MAX_RETENTION_DAYS}") from None
    return {name: getattr(settings, name) for name in settings.model_fields_set}


def team_settings_schema() -> dict:
    schema = TeamSettings.model_json_schema()
    for prop in schema["properties"].values():
        prop.pop("default", None)  # left out means unchanged; null is refused
    return schema
