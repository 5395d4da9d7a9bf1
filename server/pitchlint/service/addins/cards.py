"""Card JSON for the Gmail add-on (Google Workspace add-ons, HTTP runtime, Card v1).

Builders return plain dicts; manifest/gmail/card.schema.json holds the required fields that the
tests check every card against. Email text shown on a card is HTML-escaped (card text accepts
a small set of HTML tags).
"""
from __future__ import annotations

import html

LABEL_NAMES = {"me_talk": "me-talk", "customer_centric": "customer-centric", "other": "other",
               "desperate": "desperate", "threatening": "threatening", "neutral": "neutral"}
FLAG_ORDER = ("threatening", "desperate", "me_talk")
MAX_SENTENCES_ON_CARD = 20
LOGO_PATH = "/addin/outlook/assets/icon-64.png"  # served by this service, for both add-ins


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def sentence_labels(s: dict) -> list[str]:
    """Why a sentence is flagged: its tone when not neutral, and me-talk."""
    out = []
    if s["tone"]["label"] in ("threatening", "desperate"):
        out.append(s["tone"]["label"])
    if s["focus"]["label"] == "me_talk":
        out.append("me_talk")
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(result: dict) -> str:
    """One line for the whole email: '3 sentences read as desperate; 1 as me-talk'."""
    flagged = [s for s in result["sentences"] if s.get("flagged")]
    if not flagged:
        return "Nothing flagged: no me-talk, desperate or threatening sentences."
    counts = {k: 0 for k in FLAG_ORDER}
    for s in flagged:
        for lab in sentence_labels(s):
            counts[lab] += 1
    parts = [(k, n) for k, n in counts.items() if n]
    if not parts:
        return f"{_plural(len(flagged), 'sentence')} flagged."
    first, n = parts[0]
    text = f"{_plural(n, 'sentence')} read{'s' if n == 1 else ''} as {LABEL_NAMES[first]}"
    text += "".join(f"; {m} as {LABEL_NAMES[k]}" for k, m in parts[1:])
    return text + "."


def email_verdict(result: dict) -> str:
    """'me-talk · desperate' — the email's focus and its tones, as the read pane shows them."""
    parts = [LABEL_NAMES[result["focus"]["label"]]]
    flags = result["tone"].get("flags") or []
    parts += [LABEL_NAMES[f] for f in flags] or ["neutral tone"]
    return " · ".join(parts)


def action(url: str, params: dict | None = None) -> dict:
    act: dict = {"function": url}
    if params:
        act["parameters"] = [{"key": k, "value": str(v)} for k, v in params.items()]
    return {"action": act}


def header(subtitle: str, base_url: str | None = None) -> dict:
    head = {"title": "Pitchlint", "subtitle": subtitle}
    if base_url and base_url.startswith("https://"):  # Google fetches card images over https only
        head.update({"imageUrl": base_url + LOGO_PATH, "imageType": "SQUARE", "imageAltText": "Pitchlint"})
    return head


def home_card(base_url: str | None = None) -> dict:
    text = ("Open an email to see what kind of pitch it is, or start writing one and open "
            "Pitchlint to check it for me-talk, desperate and threatening sentences.")
    return {
        "header": header("Sales email, read the way the buyer reads it", base_url),
        "sections": [
            {"widgets": [{"textParagraph": {"text": _e(text)}}]},
            {"header": "Privacy", "widgets": [{"textParagraph": {"text": _e(
                "Only the sender's own words are analysed (quoted replies and signatures are left "
                "out). Nothing is stored, unless you press a feedback button on a sentence or your "
                "team's admin turned on team history (then flagged sentences are kept, masked, "
                "for coaching).")}}]},
        ],
    }


def analysis_card(result: dict, mode: str, feedback_url: str, reanalyse_url: str | None = None,
                  subject: str | None = None, base_url: str | None = None) -> dict:
    flagged = [s for s in result["sentences"] if s.get("flagged")]
    subtitle = "This draft" if mode == "compose" else "This incoming pitch"
    if subject:
        subtitle += f": {subject[:60]}"
    overview = [
        {"decoratedText": {"topLabel": "Email", "text": f"<b>{_e(email_verdict(result))}</b>",
                           "wrapText": True}},
        {"decoratedText": {"topLabel": "Focus", "text": LABEL_NAMES[result["focus"]["label"]]}},
        {"decoratedText": {"topLabel": "Tone", "text": ", ".join(
            LABEL_NAMES[f] for f in result["tone"].get("flags") or []) or "neutral"}},
        {"textParagraph": {"text": _e(summary(result))}},
    ]
    if reanalyse_url:
        overview.append({"buttonList": {"buttons": [
            {"text": "Analyse again", "onClick": action(reanalyse_url, {"refresh": "1"})}]}})
    if (result.get("history") or {}).get("kept"):
        overview.append({"textParagraph": {"text": "<i>Kept in your team's history, with names, "
                                                   "addresses and numbers masked.</i>"}})
    sections = [{"widgets": overview}]
    if flagged:
        widgets = []
        for s in flagged[:MAX_SENTENCES_ON_CARD]:
            labels = sentence_labels(s) or ["me_talk"]
            widgets.append({"decoratedText": {
                "topLabel": " · ".join(LABEL_NAMES[x] for x in labels),
                "text": _e(s["text"]),
                "bottomLabel": _e(s.get("message") or ""),
                "wrapText": True,
                "button": {"text": "Not right?", "onClick": action(feedback_url, {
                    "sentence": s["text"], "label": labels[0], "kind": "wrong", "mode": mode,
                    **({"sample_id": str(s["sample_id"])} if s.get("sample_id") else {})})},
            }})
        if len(flagged) > MAX_SENTENCES_ON_CARD:
            widgets.append({"textParagraph": {"text": f"…and {len(flagged) - MAX_SENTENCES_ON_CARD} more."}})
        sections.append({"header": f"Flagged sentences ({len(flagged)})", "collapsible": False,
                         "widgets": widgets})
    return {"header": header(subtitle, base_url), "sections": sections}


def error_card(title: str, message: str, retry_url: str | None = None,
               base_url: str | None = None) -> dict:
    widgets = [{"decoratedText": {"topLabel": "Problem", "text": f"<b>{_e(title)}</b>",
                                  "wrapText": True}},
               {"textParagraph": {"text": _e(message)}}]
    if retry_url:
        widgets.append({"buttonList": {"buttons": [{"text": "Try again", "onClick": action(retry_url, {"refresh": "1"})}]}})
    return {"header": header("Could not check this email", base_url), "sections": [{"widgets": widgets}]}


def push(card: dict) -> dict:
    """The answer to a trigger (homepage, contextual, compose): show this card."""
    return {"action": {"navigations": [{"pushCard": card}]}}


def update(card: dict) -> dict:
    """The answer to a button press that redraws the current card."""
    return {"renderActions": {"action": {"navigations": [{"updateCard": card}]}}}


def notify(text: str) -> dict:
    """The answer to a button press that only shows a short notification."""
    return {"renderActions": {"action": {"notification": {"text": text}}}}
