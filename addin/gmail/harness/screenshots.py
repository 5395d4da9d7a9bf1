"""Screenshots of the add-ins' surfaces, rendered in headless Chromium from local harness pages:
the Outlook task pane (compose, read, service down) and Smart Alerts text, and the Gmail
add-on's cards (built by the service's own card code). No Microsoft or Google page is loaded:
Office.js and fetch are stubbed in the harness, and the cards are drawn by render-card.js.

    python addin/gmail/harness/screenshots.py      # writes docs/screenshots/{outlook,gmail-addon}-*.png
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "screenshots"
OUTLOOK = ROOT / "addin" / "outlook"
HARNESS = Path(__file__).resolve().parent

DRAFT = ("Hi Dana,\n\nI apologise for being a pain, but did my last three emails get through? "
         "Attached is some basic information about our company. Come January you will be moved to "
         "an account manager who is much more persistent than I am, and 2013 pricing will be in full "
         "effect. Would a short call on Tuesday help your team plan the rollout?\n\nBest,\nTom")
LABELLED = [
    ("Hi Dana,", "other", "neutral", None),
    ("I apologise for being a pain, but did my last three emails get through?", "me_talk", "desperate",
     "Apologising for following up reads as desperate; lead with something useful to the reader."),
    ("Attached is some basic information about our company.", "me_talk", "neutral",
     "This is about you, not the reader; say what the attachment does for them."),
    ("Come January you will be moved to an account manager who is much more persistent than I am, "
     "and 2013 pricing will be in full effect.", "other", "threatening",
     "A deadline with a penalty reads as a threat; offer a reason to act instead."),
    ("Would a short call on Tuesday help your team plan the rollout?", "customer_centric", "neutral", None),
    ("Best,", "other", "neutral", None),
    ("Tom", "other", "neutral", None),
]


def sample_result() -> dict:
    sentences, pos = [], 0
    for text, focus, tone, message in LABELLED:
        start = DRAFT.index(text, pos)
        pos = start + len(text)
        flagged = focus == "me_talk" or tone != "neutral"
        sentences.append({"start": start, "end": pos, "text": text,
                          "focus": {"label": focus, "scores": {}}, "tone": {"label": tone, "scores": {}},
                          "flagged": flagged, "message": message if flagged else None})
    return {"model": {"name": "pitchlint-minilm", "version": "harness"},
            "focus": {"label": "me_talk", "scores": {"me_talk": 0.81, "customer_centric": 0.19}},
            "tone": {"label": "threatening", "flags": ["desperate", "threatening"], "scores": {}},
            "sentences": sentences}


def outlook_page(page: str, body: str, answer: dict | None, subject="Following up") -> str:
    html = (OUTLOOK / page).read_text()
    fetch = ("async () => ({ ok: true, status: 200, json: async () => ANSWER })" if answer is not None
             else "async () => { throw new TypeError('Failed to fetch'); }")
    html = html.replace("<head>", f'<head>\n  <base href="{OUTLOOK.as_uri()}/">', 1)
    stub = f"""<script>
var PITCHLINT_SERVICE_URL = "https://localhost:8443";
var ANSWER = {json.dumps(answer)};
window.fetch = {fetch};
var Office = {{
  HostType: {{ Outlook: "Outlook" }},
  onReady(cb) {{ setTimeout(() => cb({{ host: "Outlook" }}), 0); }},
  context: {{ mailbox: {{ item: {{
      body: {{ getAsync(t, o, cb) {{ cb({{ status: "succeeded", value: {json.dumps(body)} }}); }} }},
      subject: {json.dumps(subject)} }} }},
    roamingSettings: {{ get() {{ return null; }}, set() {{}}, remove() {{}}, saveAsync(cb) {{ cb && cb(); }} }} }},
  auth: {{ getAccessToken: async () => "token" }},
  CoercionType: {{ Text: "text" }}, AsyncResultStatus: {{ Succeeded: "succeeded", Failed: "failed" }},
}};
</script>"""
    html = html.replace('<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js"></script>', stub)
    return html.replace('<script src="config.js"></script>', "")


def smart_alert_page(answer: dict) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8">
<script src="{(OUTLOOK / 'src' / 'report.js').as_uri()}"></script>
<style>body{{margin:0;background:#e9e9e9;font:14px/1.45 "Segoe UI","DejaVu Sans",sans-serif}}
.note{{color:#605e5c;font-size:12px;padding:10px 16px}}
.dlg{{width:520px;margin:30px auto;background:#fff;border-radius:6px;box-shadow:0 8px 24px rgba(0,0,0,.2);padding:20px 24px}}
h2{{font-size:18px;margin:0 0 10px}} .row{{display:flex;justify-content:flex-end;gap:8px;margin-top:18px}}
button{{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #8a8886;background:#fff}}
button.primary{{background:#0f6cbd;color:#fff;border-color:#0f6cbd}}</style></head><body>
<div class="note">Harness: what Outlook's Smart Alerts dialog shows with the handler's errorMessage (drawn locally, not Outlook's own UI).</div>
<div class="dlg"><h2>Pitchlint</h2><p id="m"></p>
<div class="row"><button class="primary">Review</button><button>Send Anyway</button></div></div>
<script>document.getElementById("m").textContent = PitchlintReport.sendWarning({json.dumps(answer)});</script>
</body></html>"""


def gmail_pages() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "server"))
    from pitchlint.service.addins import cards

    base = "https://pitchlint.example.com/addin/gmail"
    result = sample_result()
    read = dict(result, focus={"label": "me_talk", "scores": {}})
    responses = {
        "gmail-addon-compose": cards.push(cards.analysis_card(result, "compose", f"{base}/feedback",
                                                              f"{base}/compose", subject="Following up")),
        "gmail-addon-message": cards.push(cards.analysis_card(read, "read", f"{base}/feedback",
                                                              subject="Re: our platform")),
        "gmail-addon-error": cards.push(cards.error_card(
            "Gmail could not give us the message",
            "Gmail refused access to this message (the add-on's permission may have expired). "
            "Close and reopen the add-on to sign in again.", f"{base}/message")),
        "gmail-addon-home": cards.push(cards.home_card()),
    }
    pages = {}
    for name, resp in responses.items():
        pages[name] = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{(HARNESS / 'cards.css').as_uri()}">
<script src="{(HARNESS / 'render-card.js').as_uri()}"></script></head>
<body><div class="frame"><div class="bar">Gmail side panel · Pitchlint (local harness)</div><div id="card"></div></div>
<script>renderCard(document.getElementById("card"), {json.dumps(resp)});</script></body></html>"""
    return pages


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no Chromium found: apt-get install -y chromium")


def shoot(browser: str, html_file: Path, png: Path, width: int, height: int) -> None:
    subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--allow-file-access-from-files", "--virtual-time-budget=3000",
                    f"--window-size={width},{height}", f"--screenshot={png}", html_file.as_uri()],
                   check=True, capture_output=True, timeout=120)


def main() -> None:
    browser = chromium()
    OUT.mkdir(parents=True, exist_ok=True)
    answer = sample_result()
    pages = {
        "outlook-taskpane-compose": (outlook_page("taskpane.html", DRAFT, answer), 380, 900),
        "outlook-readpane": (outlook_page("readpane.html", DRAFT, answer, "Re: our platform"), 380, 900),
        "outlook-taskpane-service-down": (outlook_page("taskpane.html", DRAFT, None), 380, 520),
        "outlook-smart-alert": (smart_alert_page(answer), 620, 330),
    }
    pages.update({name: (html, 400, 1000 if "home" not in name and "error" not in name else 520)
                  for name, html in gmail_pages().items()})
    with tempfile.TemporaryDirectory() as tmp:
        for name, (html, w, h) in pages.items():
            page = Path(tmp) / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            shoot(browser, page, OUT / f"{name}.png", w, h)
            print(f"wrote {(OUT / f'{name}.png').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
