"""The Gmail add-on (Google Workspace add-on, HTTP runtime): Google posts an event object to
these endpoints and renders the card JSON they answer with.

    POST /addin/gmail/homepage   the add-on's home card
    POST /addin/gmail/message    contextual trigger: classify the opened (incoming) pitch
    POST /addin/gmail/compose    compose trigger: analyse the saved draft (read via the Gmail API)
    POST /addin/gmail/feedback   button: "this highlight is not right", stored as feedback

Every request must carry Google's ID token (google_identity.verify_request). Every failure
after that answers a readable card or notification, never an empty pane.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..api import validate_item
from ..db import session
from ..errors import APIError
from ..model import get_analyzer
from ...model.runtime import AnalyzeError
from . import cards, feedback
from .gmail_api import GmailError, gmail_service, read_draft, read_message
from .google_identity import verify_request
from .owntext import sender_text

bp = Blueprint("gmail_addon", __name__, url_prefix="/addin/gmail")


def _base() -> str:
    return current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")


def _url(endpoint: str) -> str:
    return f"{_base()}{bp.url_prefix}/{endpoint}"


def _error(title: str, message: str, retry: str | None = None) -> dict:
    return cards.push(cards.error_card(title, message, _url(retry) if retry else None, base_url=_base()))


@bp.before_request
def _verify():
    verify_request()
    if request.method == "POST":
        event = request.get_json(silent=True)
        if not isinstance(event, dict):
            raise APIError(400, "invalid_event", "the body must be the add-on's event object as JSON")
    return None


def _event() -> dict:
    return request.get_json(silent=True) or {}


def _user_token(event: dict) -> str | None:
    return (event.get("authorizationEventObject") or {}).get("userOAuthToken")


def _parameters(event: dict) -> dict:
    return (event.get("commonEventObject") or {}).get("parameters") or {}


def _analyse(text: str, subject: str | None, mode: str) -> dict:
    """The contract answer for the sender's own text; APIError says what went wrong."""
    item = validate_item({"text": text, "subject": subject or None, "mode": mode})
    try:
        return get_analyzer().analyze_batch([item])[0]
    except AnalyzeError as e:
        raise APIError(400, e.code, e.message) from None


def _problem(e: APIError) -> tuple[str, str]:
    if e.code == "empty_text":
        return ("Nothing to check yet", "There is no text of the sender's own here (quoted replies "
                "and signatures are left out).")
    if e.code in ("text_too_long", "subject_too_long"):
        return ("This email is too long to check", e.message + ".")
    if e.status == 503:
        return ("Pitchlint is not ready", "The analysis service is starting or unavailable; "
                "try again in a minute.")
    return ("Pitchlint could not check this email", e.message)


def _card_for(text_fn, mode: str, retry: str, reanalyse: bool):
    try:
        mail = text_fn()
        own = sender_text(mail.text)
        result = _analyse(own, mail.subject, mode)
    except GmailError as e:
        return _error("Gmail could not give us the message", e.message, retry)
    except APIError as e:
        title, message = _problem(e)
        return _error(title, message, retry)
    card = cards.analysis_card(result, mode, _url("feedback"), _url(retry) if reanalyse else None,
                               subject=mail.subject, base_url=_base())
    return cards.push(card)


@bp.post("/homepage")
def homepage():
    return jsonify(cards.push(cards.home_card(_base())))


@bp.post("/message")
def message():
    event = _event()
    gm = event.get("gmail") or {}
    token = _user_token(event)
    if not token or not gm.get("messageId"):
        return jsonify(_error("No message to read", "Open an email, then open Pitchlint again (the "
                              "add-on needs your permission to read the opened message)."))
    return jsonify(_card_for(lambda: read_message(gmail_service(token), gm["messageId"],
                                                  gm.get("accessToken")),
                             "read", "message", reanalyse=False))


@bp.post("/compose")
def compose():
    event = _event()
    gm = event.get("gmail") or {}
    token = _user_token(event)
    if not token:
        return jsonify(_error("No permission to read the draft", "Pitchlint needs your permission "
                              "to read the draft you are writing. Close the add-on and open it again "
                              "to grant it."))
    result = _card_for(lambda: read_draft(gmail_service(token), gm.get("draftId"), gm.get("threadId"),
                                          gm.get("accessToken")),
                       "compose", "compose", reanalyse=True)
    if _parameters(event):  # "Analyse again" pressed: redraw in place rather than stack a card
        result = {"renderActions": {"action": {"navigations": [
            {"updateCard": result["action"]["navigations"][0]["pushCard"]}]}}}
    return jsonify(result)


@bp.post("/feedback")
def feedback_action():
    params = _parameters(_event())
    try:
        feedback.record(session(), "gmail", params.get("sentence", ""), params.get("label", ""),
                        params.get("kind", "wrong"))
    except ValueError as e:
        return jsonify(cards.notify(f"Feedback not saved: {e}."))
    except Exception:  # the database is down: say so, the card stays as it was
        current_app.logger.exception("feedback not stored")
        return jsonify(cards.notify("Feedback could not be saved right now; please try again later."))
    label = cards.LABEL_NAMES.get(params.get("label"), params.get("label"))
    return jsonify(cards.notify(f"Thanks: noted that this sentence is not {label}."))


def init_app(app) -> None:
    app.register_blueprint(bp)
