"""The OpenAPI 3.1 description of the service, served at /openapi.json and rendered at /docs."""
from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify

from .. import __version__, sizes
from .schemas import analyze_request_schema, team_settings_schema
from .team.queries import MAX_MEMBER_ID, MAX_PAGE, MAX_PER_PAGE

bp = Blueprint("docs", __name__)

_SCORES = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error(desc):
    return {"description": desc, "content": {"application/json": {"schema": _ERROR_REF}}}


SCHEMAS = {
    # Described once, by the model that checks every analyze request (schemas.py).
    "AnalyzeRequest": analyze_request_schema(sizes.MAX_TEXT_CHARS),
    "Sentence": {
        "type": "object",
        "required": ["start", "end", "text", "focus", "tone", "flagged", "message"],
        "properties": {
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
            "text": {"type": "string"},
            "focus": {"type": "object", "required": ["label", "scores"], "properties": {
                "label": {"enum": ["me_talk", "customer_centric", "other"]}, "scores": _SCORES}},
            "tone": {"type": "object", "required": ["label", "scores"], "properties": {
                "label": {"enum": ["desperate", "threatening", "neutral"]}, "scores": _SCORES}},
            "flagged": {"type": "boolean"},
            "message": {"type": ["string", "null"]},
            "quoted": {"type": "boolean"},
            "signature": {"type": "boolean"},
            "sample_id": {"type": "integer", "description": "set when the sentence was kept in the "
                          "team's history (send it to /v1/feedback)"},
        },
    },
    "AnalyzeResponse": {
        "type": "object", "required": ["model", "focus", "tone", "sentences"],
        "properties": {
            "id": {},
            "model": {"$ref": "#/components/schemas/ModelRef"},
            "focus": {"type": "object", "required": ["label", "scores"], "properties": {
                "label": {"enum": ["me_talk", "customer_centric"]}, "scores": _SCORES}},
            "tone": {"type": "object", "required": ["label", "flags", "scores"], "properties": {
                "label": {"enum": ["desperate", "threatening", "neutral"]},
                "flags": {"type": "array", "items": {"enum": ["desperate", "threatening"]}},
                "scores": _SCORES}},
            "sentences": {"type": "array", "items": {"$ref": "#/components/schemas/Sentence"}},
            "history": {"type": "object", "required": ["kept"], "description":
                        "present for a user's key: whether the team's history kept this analysis",
                        "properties": {"kept": {"type": "boolean"}, "samples": {"type": "integer"},
                                       "error": {"type": "string"}}},
        },
    },
    "Team": {
        "type": "object", "required": ["id", "name", "organisation", "history_enabled", "retention_days"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "organisation": {"type": "object", "required": ["id", "name"]},
                       "history_enabled": {"type": "boolean"},
                       "retention_days": {"type": "integer", "minimum": 1}},
    },
    "TeamSettings": team_settings_schema(),
    "Teams": {"type": "object", "required": ["teams"],
              "properties": {"teams": {"type": "array", "items": {"$ref": "#/components/schemas/Team"}}}},
    "Me": {"type": "object", "required": ["id", "email", "role", "organisation", "team"],
           "properties": {"id": {"type": "integer"}, "email": {"type": "string"},
                          "name": {"type": "string"}, "role": {"enum": ["member", "lead", "admin"]},
                          "organisation": {"type": "object"},
                          "team": {"oneOf": [{"$ref": "#/components/schemas/Team"}, {"type": "null"}]}}},
    "Sample": {
        "type": "object",
        "required": ["id", "team_id", "member", "created_at", "source", "model_version", "text",
                     "context", "focus", "tone", "labels", "feedback"],
        "properties": {
            "id": {"type": "integer"}, "team_id": {"type": "integer"}, "analysis_id": {"type": "integer"},
            "member": {"type": "object", "required": ["id"]},
            "created_at": {"type": "string"}, "source": {"enum": ["compose", "read"]},
            "model_version": {"type": "string"}, "text": {"type": "string", "description": "masked"},
            "context": {"type": "object", "properties": {"before": {"type": ["string", "null"]},
                                                         "after": {"type": ["string", "null"]}}},
            "focus": {"type": "object"}, "tone": {"type": "object"}, "scores": {"type": "object"},
            "labels": {"type": "array", "items": {"enum": ["me_talk", "desperate", "threatening"]}},
            "feedback": {"type": ["object", "null"]},
        },
    },
    "SamplePage": {
        "type": "object", "required": ["team", "total", "page", "per_page", "samples"],
        "properties": {"team": {"$ref": "#/components/schemas/Team"}, "total": {"type": "integer"},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"},
                       "model_versions": {"type": "array", "items": {"type": "string"}},
                       "samples": {"type": "array", "items": {"$ref": "#/components/schemas/Sample"}}},
    },
    "Trends": {
        "type": "object", "required": ["weeks", "members", "series", "phrasings"],
        "properties": {"weeks": {"type": "array", "items": {"type": "string"}},
                       "sentences": {"type": "object"}, "flagged": {"type": "object"},
                       "members": {"type": "array"},
                       "series": {"type": "object"}, "phrasings": {"type": "array"}},
    },
    "FeedbackRequest": {
        "type": "object", "required": ["sample_id", "kind"],
        "properties": {"sample_id": {"type": "integer"}, "kind": {"enum": ["wrong", "ignored"]},
                       "focus": {"enum": ["me_talk", "customer_centric", "other"]},
                       "tone": {"enum": ["desperate", "threatening", "neutral"]},
                       "note": {"type": "string", "maxLength": 2000}},
        "allOf": [
            {"anyOf": [  # 'wrong' says what it should be; 'ignored' takes no labels
                {"properties": {"kind": {"const": "wrong"}},
                 "anyOf": [{"required": ["focus"]}, {"required": ["tone"]}]},
                {"properties": {"kind": {"const": "ignored"}},
                 "not": {"anyOf": [{"required": ["focus"]}, {"required": ["tone"]}]}}]},
            {"not": {"required": ["focus", "tone"],  # pressure is never 'other' (the GUIDE)
                     "properties": {"focus": {"const": "other"},
                                    "tone": {"enum": ["desperate", "threatening"]}}}},
        ],
    },
    "FeedbackResponse": {"type": "object", "required": ["id", "sample"],
                         "properties": {"id": {"type": "integer"},
                                        "sample": {"$ref": "#/components/schemas/Sample"}}},
    "ModelRef": {"type": "object", "required": ["name", "version"],
                 "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "BatchRequest": {
        "type": "object", "required": ["emails"],
        "properties": {"emails": {
            "type": "array", "maxItems": 100,
            "description": "each item is an AnalyzeRequest; an item that is not valid gets its "
                           "own error in `results` and the others are still answered",
            "items": {}}},
    },
    "BatchResponse": {
        "type": "object", "required": ["model", "results"],
        "properties": {
            "model": {"$ref": "#/components/schemas/ModelRef"},
            "results": {"type": "array", "items": {"oneOf": [
                {"$ref": "#/components/schemas/AnalyzeResponse"},
                {"type": "object", "required": ["error"], "properties": {
                    "id": {}, "error": {"type": "object", "required": ["code", "message"]}}},
            ]}},
        },
    },
    "ModelInfo": {
        "type": "object", "required": ["name", "version", "labels", "thresholds", "metrics"],
        "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                       "base_encoder": {"type": ["string", "null"]},
                       "labels": {"type": "object"}, "thresholds": {"type": "object"},
                       "calibration": {"type": "object"}, "metrics": {"type": "object"}},
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "Ready": {"type": "object", "required": ["status", "checks"],
              "properties": {"status": {"enum": ["ready", "degraded", "not_ready"]},
                             "checks": {"type": "object"},
                             "reasons": {"type": "array", "items": {"type": "string"},
                                         "description": "why it is degraded: what still works"}}},
}

_AUTH_ERRORS = {
    "401": _error("missing or unknown API key"),
    "403": _error("revoked API key"),
    "429": _error("rate limited; see Retry-After"),
    "503": _error("model not ready, or the key can't be checked while the database is "
                  "unreachable (keys_unavailable; see Retry-After)"),
}


_TEAM_ERRORS = {
    "401": _error("missing or unknown API key"),
    "403": _error("a key of no user, a revoked key, or not allowed for the caller's role"),
    "404": _error("no such team or sample in the caller's organisation"),
    "429": _error("rate limited; see Retry-After"),
    "503": _error("the key can't be checked while the database is unreachable (keys_unavailable)"),
}
_TEAM_ID = {"name": "team_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_FILTERS = [
    {"name": "member", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_MEMBER_ID}},
    {"name": "label", "in": "query", "schema": {"enum": ["me_talk", "desperate", "threatening"]}},
    {"name": "source", "in": "query", "schema": {"enum": ["compose", "read"]}},
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "model_version", "in": "query", "schema": {"type": "string"}},
    {"name": "feedback", "in": "query", "schema": {"enum": ["wrong", "ignored", "none"]}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}},
]


def _json_body(schema):
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _ok(schema, desc="OK"):
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Pitchlint", "version": __version__,
             "description": "Flags me-talk, desperate and threatening sentences in sales email. "
                            "The analyze contract is shared/contract/ANALYZE.md."},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                       "description": "Authorization: Bearer <key>"}},
    },
    "security": [{"apiKey": []}, {}],
    "paths": {
        "/v1/analyze": {"post": {
            "summary": "Analyse one email",
            "operationId": "analyze",
            "requestBody": _json_body("AnalyzeRequest"),
            "responses": {"200": _ok("AnalyzeResponse"),
                          "400": _error("malformed JSON, missing or non-string text, unknown mode, empty text, bad history_key"),
                          "413": _error("body or text too large"),
                          "415": _error("not JSON"),
                          "503": _error("model not ready"), **_AUTH_ERRORS},
        }},
        "/v1/analyze/batch": {"post": {
            "summary": "Analyse up to 100 emails; answers in order, each bad item gets its own error",
            "operationId": "analyzeBatch",
            "requestBody": _json_body("BatchRequest"),
            "responses": {"200": _ok("BatchResponse"), "400": _error("malformed request"),
                          "413": _error("batch or body too large"), "415": _error("not JSON"),
                          "503": _error("model not ready"), **_AUTH_ERRORS},
        }},
        "/v1/model": {"get": {
            "summary": "The model: name, version, labels, thresholds, headline figures",
            "operationId": "model",
            "responses": {"200": _ok("ModelInfo"), "503": _error("model not ready"), **_AUTH_ERRORS},
        }},
        "/v1/me": {"get": {
            "summary": "The user the API key belongs to, their role and team",
            "operationId": "me", "responses": {"200": _ok("Me"), **_TEAM_ERRORS}}},
        "/v1/feedback": {"post": {
            "summary": "Mark a kept sample wrong (with the labels it should have) or ignored",
            "operationId": "feedback", "requestBody": _json_body("FeedbackRequest"),
            "responses": {"201": _ok("FeedbackResponse", "kept with the sample"),
                          "400": _error("no sample_id, unknown kind or label, no correction"),
                          "409": _error("the correction conflicts with the sample's labels: it "
                                        "changes nothing, or would make a pressured sentence "
                                        "'other'"),
                          "415": _error("not JSON"), **_TEAM_ERRORS}}},
        "/v1/teams": {"get": {
            "summary": "The teams the caller can see (their own; an admin: the organisation's)",
            "operationId": "teams", "responses": {"200": _ok("Teams"), **_TEAM_ERRORS}}},
        "/v1/teams/{team_id}": {
            "parameters": [_TEAM_ID],
            "get": {"summary": "One team and its settings", "operationId": "team",
                    "responses": {"200": _ok("Team"), **_TEAM_ERRORS}},
            "patch": {"summary": "Turn history on or off, set retention (admins)",
                      "operationId": "teamSettings", "requestBody": _json_body("TeamSettings"),
                      "responses": {"200": _ok("Team"), "400": _error("unknown or invalid setting"),
                                    "415": _error("not JSON"), **_TEAM_ERRORS}}},
        "/v1/teams/{team_id}/samples": {"get": {
            "summary": "Kept samples, newest first, filtered and paged (a member sees their own)",
            "operationId": "teamSamples", "parameters": [_TEAM_ID, *_FILTERS],
            "responses": {"200": _ok("SamplePage"), "400": _error("invalid filter"), **_TEAM_ERRORS}}},
        "/v1/samples/{sample_id}": {"get": {
            "summary": "One kept sample", "operationId": "sample",
            "parameters": [{"name": "sample_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": _ok("Sample"), **_TEAM_ERRORS}}},
        "/v1/teams/{team_id}/trends": {"get": {
            "summary": "Share of analysed sentences flagged, by week, per member and label",
            "operationId": "teamTrends",
            "parameters": [_TEAM_ID, {"name": "weeks", "in": "query",
                                      "schema": {"type": "integer", "minimum": 1, "maximum": 104}}],
            "responses": {"200": _ok("Trends"), "400": _error("invalid weeks"), **_TEAM_ERRORS}}},
        "/v1/teams/{team_id}/export": {"get": {
            "summary": "Stream the team's samples as CSV or the GUIDE's JSON Lines, corrections "
                       "applied (leads and admins)",
            "operationId": "teamExport",
            "parameters": [_TEAM_ID, {"name": "format", "in": "query",
                                      "schema": {"enum": ["csv", "jsonl"], "default": "csv"}}, *_FILTERS],
            "responses": {"200": {"description": "the export, streamed", "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}}}},
                "400": _error("invalid format or filter"), **_TEAM_ERRORS}}},
        "/healthz": {"get": {"summary": "The process is up", "operationId": "healthz", "security": [],
                             "responses": {"200": _ok("Health")}}},
        "/readyz": {"get": {"summary": "Can it answer analyze? ready, degraded (database or Redis "
                                       "unreachable: analyze still answers; see reasons) or not_ready "
                                       "(no model, 503)", "operationId": "readyz",
                            "security": [],
                            "responses": {"200": _ok("Ready", "ready or degraded"),
                                          "503": _ok("Ready", "not ready")}}},
    },
}


def spec_for(config) -> dict:
    """The document for an app: the request models' own schemas, with its configured limits."""
    batch = dict(SCHEMAS["BatchRequest"])
    batch["properties"] = {"emails": dict(batch["properties"]["emails"], maxItems=config["MAX_BATCH"])}
    schemas = dict(SCHEMAS, AnalyzeRequest=analyze_request_schema(config["MAX_TEXT_CHARS"]),
                   BatchRequest=batch)
    return dict(SPEC, components=dict(SPEC["components"], schemas=schemas))


@bp.get("/openapi.json")
def openapi_json():
    from flask import current_app

    return jsonify(spec_for(current_app.config))


@bp.get("/docs")
def docs():
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Pitchlint API</title>",
             "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}"
             "code,pre{background:#f4f4f4;padding:.1em .3em;border-radius:3px}pre{padding:1em;overflow:auto}"
             ".m{display:inline-block;min-width:4em;font-weight:bold}</style></head><body>",
             f"<h1>{e(SPEC['info']['title'])} API <small>{e(SPEC['info']['version'])}</small></h1>",
             f"<p>{e(SPEC['info']['description'])}</p>",
             "<p>Send <code>Authorization: Bearer &lt;key&gt;</code>. The machine-readable description is "
             "<a href='/openapi.json'>/openapi.json</a>.</p>",
             "<pre>curl -s http://127.0.0.1:8350/v1/analyze -H 'Content-Type: application/json' \\\n"
             "  -d '{\"text\": \"Hi Dana,\\n\\nSorry to chase again. Did my last three emails get through?\"}'</pre>"]
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if method == "parameters":  # shared by the path's operations, not an operation
                continue
            parts.append(f"<h2><span class='m'>{method.upper()}</span> <code>{e(path)}</code></h2>")
            parts.append(f"<p>{e(op['summary'])}</p><ul>")
            for status, r in op["responses"].items():
                parts.append(f"<li><b>{status}</b> {e(r['description'])}</li>")
            parts.append("</ul>")
    parts.append("<h2>Error shape</h2><pre>{\"error\": {\"code\": \"text_too_long\", "
                 "\"message\": \"text is 141,200 characters; the limit is 100,000\"}}</pre>")
    parts.append("</body></html>")
    return Response("".join(parts), mimetype="text/html")
