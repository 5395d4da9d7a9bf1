"""The add-ins' shared pieces (the sender's own text, summaries, feedback masking), and the
helpers the other test_addins_* files use: a loopback web server standing in for Microsoft's
and Google's key publishers, and the shipped model (loaded once for all add-in tests)."""
from __future__ import annotations

import functools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


class LoopbackSite:
    """A loopback HTTP server answering fixed documents by path; counts the hits."""

    def __init__(self):
        self.docs: dict[str, tuple[int, object]] = {}
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                status, doc = site.docs.get(self.path, (404, {"error": "not found"}))
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class RecordingAnalyzer:
    """Wraps an analyzer and keeps what it was asked, to check what left the client."""

    def __init__(self, inner):
        self.inner = inner
        self.asked: list[dict] = []
        self.model_info = inner.model_info
        self.name, self.version = inner.name, inner.version

    def analyze_batch(self, items):
        self.asked.extend(dict(i) for i in items)
        return self.inner.analyze_batch(items)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@functools.lru_cache(maxsize=1)  # one model load for all the add-in test modules
def shipped_analyzer():
    from pitchlint.model.runtime import Analyzer

    return Analyzer()


# ---- the shared pieces ------------------------------------------------------------------

def test_sender_text_leaves_out_quotes_and_signature():
    from pitchlint.service.addins.owntext import sender_text

    text = ("Hi Dana,\n\nGood to speak today. Could we meet Tuesday?\n\nBest,\nTom\nSales, Acme\n\n"
            "On Mon, 3 Nov 2026 at 10:02, Dana <dana@buyer.example> wrote:\n> We are not interested.\n"
            "> Please stop emailing.")
    own = sender_text(text)
    assert "Could we meet Tuesday?" in own
    assert "not interested" not in own and "stop emailing" not in own
    assert "Sales, Acme" not in own
    assert sender_text("") == ""


def test_a_sentence_that_starts_like_a_sign_off_is_not_a_signature():
    from pitchlint.service.addins.owntext import sender_text

    own = sender_text("Hi Dana,\n\nThanks for the call. Could we meet Tuesday?\n\nBest,\nTom")
    assert own == "Hi Dana,\n\nThanks for the call. Could we meet Tuesday?"
    assert sender_text("Here it is.\n-- \nTom Rep\nAcme") == "Here it is."
    assert sender_text("Short one.\n\nSent from my iPhone") == "Short one."


def test_sender_text_keeps_replies_between_quotes():
    from pitchlint.service.addins.owntext import sender_text

    own = sender_text("> Can you do 10%?\nYes, we can do 10%.\n> And free shipping?\nNo, sorry.")
    assert own == "Yes, we can do 10%.\n\nNo, sorry."


def _result(labels):
    """A contract answer with the given (focus, tone) per sentence, as the summary reads it."""
    sentences = [{"text": f"s{i}", "focus": {"label": f}, "tone": {"label": t},
                  "flagged": f == "me_talk" or t != "neutral", "quoted": False, "signature": False}
                 for i, (f, t) in enumerate(labels)]
    flags = [t for t in ("desperate", "threatening") if any(x == t for _, x in labels)]
    label = "threatening" if "threatening" in flags else "desperate" if flags else "neutral"
    focus = "me_talk" if any(f == "me_talk" for f, _ in labels) else "customer_centric"
    return {"focus": {"label": focus}, "tone": {"label": label, "flags": flags}, "sentences": sentences}


def test_summary_counts_each_kind():
    from pitchlint.service.addins.cards import email_verdict, summary

    result = _result([("me_talk", "desperate"), ("me_talk", "desperate"), ("me_talk", "neutral"),
                      ("me_talk", "threatening"), ("other", "neutral")])
    # each flagged sentence counts once per label it carries
    assert summary(result) == "1 sentence reads as threatening; 2 as desperate; 4 as me-talk."
    assert email_verdict(result) == "me-talk · desperate · threatening"
    clean = _result([("customer_centric", "neutral"), ("other", "neutral")])
    assert summary(clean).startswith("Nothing flagged")


def test_feedback_masks_contact_details():
    from pitchlint.service.addins.feedback import mask, sentence_hash

    masked = mask("Call me on +1 (415) 555-0100 or write to tom@acme.example, see https://acme.example/x")
    assert masked == "Call me on [phone] or write to [email], see [url]"
    assert sentence_hash("Sorry  to chase.") == sentence_hash("Sorry to chase.")
