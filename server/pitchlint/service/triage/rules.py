"""Which messages are pitches, and which labels a pitch gets.

Only pitches get labels: a colleague's note or a customer's reply must never be tagged. A
message is considered only when it comes from outside the user's domain (unless the user asked
otherwise), is not bulk or automated mail, is not in a thread the user started or wrote in,
and comes from a sender the user has never written to. Then the model reads the sender's own
text (quoted history and signature left out) in `read` mode, and the message gets a label only
for what the model flags (or, for Reader-centred, finds customer-centric with confidence).
Everything else is skipped, with the reason.
"""
from __future__ import annotations

from .message import Incoming, domain_of

# Skip reasons: code -> plain words (the Triage page and `pitchlint triage status`).
REASONS = {
    "own": "your own message or a draft",
    "own_domain": "from your own domain",
    "bulk": "a newsletter or automated mail",
    "your_thread": "in a thread you started or wrote in",
    "known_sender": "from someone you have written to",
    "no_text": "no text of the sender's own",
    "too_long": "too long to read",
    "not_flagged": "not flagged by the model",
    "deleted": "deleted before it was read",
    "error": "could not be read or labelled after several tries",
}
READER_CENTRED_MIN = 0.8   # "customer-centric with confidence": at least this, or the user's minimum
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}


def is_bulk(headers: dict[str, str]) -> bool:
    """Mailing lists, newsletters and automatic replies, by the headers such mail carries
    (List-Id, Precedence, Auto-Submitted, X-Autoreply). List-Unsubscribe alone is not enough:
    sales sequencing tools add it to one-to-one pitches too."""
    if headers.get("list-id"):
        return True
    if headers.get("precedence", "").strip().lower() in _BULK_PRECEDENCE:
        return True
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return True
    return bool(headers.get("x-autoreply") or headers.get("x-autorespond"))


def cheap_reason(msg: Incoming, own_address: str, label_own_domain: bool) -> str | None:
    """A reason to skip that needs no further call to the provider, or None."""
    if msg.own:
        return "own"
    if not msg.sender:
        return "bulk"  # no sender address: a system message
    if not label_own_domain and domain_of(msg.sender) == domain_of(own_address):
        return "own_domain"
    if is_bulk(msg.headers):
        return "bulk"
    return None


def labels_for(answer: dict, chosen: list[str], min_confidence: float) -> list[str]:
    """The label keys a pitch gets from the model's answer (contract shape), among `chosen`."""
    out = []
    focus = answer["focus"]
    tone = answer["tone"]
    if focus["label"] == "me_talk" and focus["scores"]["me_talk"] >= min_confidence:
        out.append("me_talk")
    for t in ("desperate", "threatening"):
        if t in tone["flags"] and tone["scores"][t] >= min_confidence:
            out.append(t)
    if not out and focus["label"] == "customer_centric" and not tone["flags"] and \
            focus["scores"]["customer_centric"] >= max(READER_CENTRED_MIN, min_confidence):
        out.append("reader_centred")
    return [k for k in out if k in chosen]
