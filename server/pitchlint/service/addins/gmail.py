"""The Gmail add-on (Google Workspace add-on, HTTP runtime): Google posts an event object to
these endpoints and renders the card JSON they answer with.

    POST /addin/gmail/homepage   the add-on's home card
    POST /addin/gmail/message    contextual trigger: classify the opened (incoming) pitch
    POST /addin/gmail/compose    compose trigger: analyse the saved draft (read via the Gmail API)
    POST /addin/gmail/feedback   button: "this highlight is not right", stored as feedback

Every request must carry Google's ID token (google_identity.verify_request). Every failure
after that answers a readable card or notification, never an empty pane.

Team history: when some team keeps history, the add-on asks Gmail whose mailbox the user's
token opens (users.getProfile, cached a few minutes per token) and, when that address is an
active Pitchlint user's on a team with history on, keeps the analysis as the API does.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from ..api import analyze_items, keep_history_for, validate_item
from ..db import session
from ..errors import APIError
from ..model import get_analyzer
from ..ttlcache import TTLCache
from ...model.errors import AnalyzeError
from . import cards, feedback
from .gmail_api import GmailError, gmail_service, mailbox_address, read_draft, read_message
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
        return analyze_items(get_analyzer(), [item])[0]
    except AnalyzeError as e:
        raise APIError(400, e.code, e.message) from None


MAILBOX_CACHE_SECONDS = 300


def _mailbox(token: str) -> str:
    """The Gmail address behind the user's OAuth token (cached a few minutes by the token's hash)."""
    cache = current_app.extensions.get("pitchlint_gmail_mailboxes")
    if cache is None:
        cache = current_app.extensions["pitchlint_gmail_mailboxes"] = TTLCache(MAILBOX_CACHE_SECONDS)
    key = hashlib.sha256(token.encode()).hexdigest()
    address = cache.get(key)
    if address is None:
        address = mailbox_address(gmail_service(token))
        cache.put(key, address)
    return address


def _member(token: str | None):
    """The active Pitchlint user whose Gmail this is, when any team keeps history; else None.
    Never raises: history is a side effect, and the card is the answer."""
    from ..team.identity import user_by_email
    from ..team.models import Team

    if not token:
        return None
    try:
        s = session()
        if s.scalar(select(Team.id).where(Team.history_enabled.is_(True)).limit(1)) is None:
            return None  # nobody keeps history: no Gmail call, no lookup
        user = user_by_email(s, _mailbox(token))
        return user if user is not None and user.disabled_at is None else None
    except GmailError as e:
        current_app.logger.warning("Gmail add-on: whose mailbox is unknown (%s); history not kept", e.code)
    except Exception:
        current_app.logger.exception("Gmail add-on: history lookup failed; history not kept")
    return None


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


def _card_for(text_fn, mode: str, retry: str, reanalyse: bool, token: str | None = None,
              history_key: str | None = None):
    try:
        mail = text_fn()
        own = sender_text(mail.text)
        result = _analyse(own, mail.subject, mode)
        user = _member(token)
        if user is not None:  # one analysis per message or draft, however often it is checked
            keep_history_for(session(), user, [result], [{"mode": mode, "history_key": history_key}])
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
                             "read", "message", reanalyse=False, token=token,
                             history_key=f"gmail-message:{gm['messageId']}"))


def _draft_key(gm: dict) -> str | None:
    """The draft's id for the team's history (a draft checked again replaces its analysis)."""
    if gm.get("draftId"):
        return f"gmail-draft:{gm['draftId']}"
    if gm.get("threadId"):
        return f"gmail-thread-draft:{gm['threadId']}"
    return None


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
                       "compose", "compose", reanalyse=True, token=token,
                       history_key=_draft_key(gm))
    if _parameters(event):  # "Analyse again" pressed: redraw in place rather than stack a card
        result = {"renderActions": {"action": {"navigations": [
            {"updateCard": result["action"]["navigations"][0]["pushCard"]}]}}}
    return jsonify(result)


@bp.post("/feedback")
def feedback_action():
    event = _event()
    params = _parameters(event)
    try:
        feedback.record(session(), "gmail", params.get("sentence", ""), params.get("label", ""),
                        params.get("kind", "wrong"))
    except ValueError as e:
        return jsonify(cards.notify(f"Feedback not saved: {e}."))
    except Exception:  # the database is down: say so, the card stays as it was
        current_app.logger.exception("feedback not stored")
        return jsonify(cards.notify("Feedback could not be saved right now; please try again later."))
    label = cards.LABEL_NAMES.get(params.get("label"), params.get("label"))
    team_note = _team_feedback(params, _user_token(event))
    return jsonify(cards.notify(f"Thanks: noted that this sentence is not {label}.{team_note}"))


def _team_feedback(params: dict, token: str | None) -> str:
    """A kept sentence's "Not right?" also goes on the team's sample, as its owner's feedback:
    a pressure flag that is not right is corrected to a neutral tone; "not me-talk" cannot say
    whether the sentence is customer-centric or neither, so it is marked ignored with a note
    the lead can correct from. Returns a few words for the notification."""
    from ..team.feedback import give
    from ..team.models import Sample

    sample_id = params.get("sample_id", "")
    if not sample_id.isdigit() or len(sample_id) > 12:
        return ""
    user = _member(token)
    s = session()
    sample = s.get(Sample, int(sample_id)) if user is not None else None
    if sample is None or sample.user_id != user.id:
        return ""
    label = params.get("label")
    try:
        if label in ("desperate", "threatening") and sample.tone == label:
            give(s, user, sample, "wrong", tone="neutral",
                 note=f"not {label}, said in the Gmail add-on")
        else:
            give(s, user, sample, "ignored", note=f"not {cards.LABEL_NAMES.get(label, label)}, "
                 "said in the Gmail add-on")
    except APIError as e:
        current_app.logger.info("Gmail add-on feedback on sample %s not kept: %s", sample_id, e.message)
        return ""
    except Exception:
        s.rollback()
        current_app.logger.exception("Gmail add-on feedback on sample %s not kept", sample_id)
        return ""
    return " Your team's history has it too."


def init_app(app) -> None:
    app.register_blueprint(bp)
