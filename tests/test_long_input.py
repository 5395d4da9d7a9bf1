"""Pathological lengths within the documented limits, with the real model: an answer or a clear
413/400, never a 500. Time and memory are measured by benchmarks/long_input.py, not here; these
tests check the structure that keeps them linear (the context layers never attend over more than
one window of sentences, whatever the email's length) and that answers stay right."""
from __future__ import annotations

import json

import pytest
import torch

from pitchlint.model import network
from pitchlint.model.network import CONTEXT_MARGIN, CONTEXT_WINDOW, context_windows


@pytest.fixture
def widest_context(analyzer, monkeypatch):
    """Records the most sentences the context layers attend over in one call."""
    seen = {"width": 0, "calls": 0}
    original = analyzer.net.contextualize

    def spy(x, mask):
        seen["width"] = max(seen["width"], x.shape[1])
        seen["calls"] += 1
        return original(x, mask)

    monkeypatch.setattr(analyzer.net, "contextualize", spy)
    return seen


@pytest.mark.parametrize("n", [1, 5, 63, 64, 65, 100, 129, 1000, 24001])
def test_context_windows_cover_every_sentence_once(n):
    windows = context_windows(n)
    cores = [i for _, _, cs, ce in windows for i in range(cs, ce)]
    assert cores == list(range(n))
    for ws, we, cs, ce in windows:
        assert 0 <= ws <= cs < ce <= we <= n
        assert we - ws <= CONTEXT_WINDOW
        # every core sentence sees CONTEXT_MARGIN neighbours each side, or the email's edge
        assert cs - ws >= CONTEXT_MARGIN or ws == 0
        assert we - ce >= CONTEXT_MARGIN or we == n
    # linear: the windows hold at most twice the sentences
    assert sum(we - ws for ws, we, _, _ in windows) <= 2 * n + CONTEXT_WINDOW


def test_windowed_reading_equals_training_reading_for_emails_that_fit(analyzer):
    """Every email the network was trained on fits in one window: the service's reading
    (forward_emails, windows of many emails batched) gives the training path's logits."""
    net = analyzer.net
    torch.manual_seed(0)
    emails = []
    for n in (3, 17, 40, CONTEXT_WINDOW):
        kinds = torch.randint(0, 4, (n,))
        emails.append((torch.randn(n, net.encoder.config.hidden_size), kinds, kinds == 0))
    with torch.inference_mode():
        windowed = net.forward_emails(emails)
        for (vectors, kinds, counted), got in zip(emails, windowed):
            ref = net.forward_context(vectors[None], kinds[None], torch.ones_like(counted)[None],
                                      counted[None])
            for key in ("sentence_focus", "sentence_tone", "email_focus"):
                assert torch.allclose(got[key], ref[key][0], atol=1e-4), key


def test_thousands_of_one_word_sentences(client, widest_context):
    text = "Ok. " * 24_000  # 96,000 characters: under the limit
    r = client.post("/v1/analyze", json={"text": text})
    assert r.status_code == 200
    answer = r.get_json()
    assert len(answer["sentences"]) == 24_000
    assert answer["sentences"][-1]["end"] == len(text.rstrip())
    assert widest_context["width"] <= CONTEXT_WINDOW


def test_a_long_email_keeps_its_labels_at_both_ends(analyzer):
    """The windows still read each sentence in its neighbourhood: a begging line at the start
    and a threat at the end of a 1,500-sentence email are flagged as they are alone."""
    filler = " ".join(f"Item {i} ships in the usual box." for i in range(1500))
    text = ("I'm begging you, please just give me 15 minutes, my job depends on it.\n\n" + filler
            + "\n\nIf I don't hear back by Friday, I'll escalate this to your CEO.")
    answer = analyzer.analyze(text)
    first, last = answer["sentences"][0], answer["sentences"][-1]
    assert first["tone"]["label"] == "desperate"
    assert last["tone"]["label"] == "threatening"
    assert set(answer["tone"]["flags"]) == {"desperate", "threatening"}


def test_one_huge_sentence(client):
    text = " ".join(["the quarterly freight invoices were reconciled by hand"] * 1800)  # ~99,000 chars
    assert len(text) < 100_000
    r = client.post("/v1/analyze", json={"text": text})
    assert r.status_code == 200
    assert len(r.get_json()["sentences"]) == 1


def test_a_huge_quoted_history(client, widest_context):
    head = "Hi Dana,\n\nSorry to chase again. Did my last three emails get through?\n\nTom\n\n"
    quoted = "\n".join(f"> Line {i} of the earlier thread about the renewal." for i in range(1800))
    text = head + "On Mon, 3 Feb 2026, Tom Reed <tom@example.com> wrote:\n" + quoted
    assert len(text) < 100_000
    r = client.post("/v1/analyze", json={"text": text})
    assert r.status_code == 200
    answer = r.get_json()
    assert answer["tone"]["flags"] == ["desperate"]
    assert all(s["quoted"] for s in answer["sentences"][6:])
    assert widest_context["width"] <= CONTEXT_WINDOW


def test_a_batch_of_100_longest_emails_is_refused_by_size(client):
    """100 emails of 100,000 characters: 10 MB, over the body limit (4 MB) — a clear 413."""
    body = json.dumps({"emails": [{"text": "x" * 99_999}] * 100})
    r = client.post("/v1/analyze/batch", data=body, content_type="application/json")
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "body_too_large"


def test_a_batch_is_bounded_by_its_total_text(make_app):
    client = make_app(MAX_BATCH_CHARS=250_000).test_client()
    emails = [{"text": "Ok. " * 24_000}] * 3  # 288,000 characters, each email under its limit
    r = client.post("/v1/analyze/batch", json={"emails": emails})
    assert r.status_code == 413
    err = r.get_json()["error"]
    assert err["code"] == "batch_too_large"
    assert "288,000 characters" in err["message"] and "250,000" in err["message"]


def test_a_batch_of_long_emails_within_the_limits_is_answered(client, widest_context):
    emails = [{"id": "ok", "text": "Ok. " * 24_000},
              {"id": "plea", "text": "Hi Sam,\n\nSorry to bug you again, please reply.\n\nAna"},
              {"id": "long", "text": "We ship pallets. " * 5000}]
    r = client.post("/v1/analyze/batch", json={"emails": emails})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["id"] for x in results] == ["ok", "plea", "long"]
    assert len(results[0]["sentences"]) == 24_000
    assert results[1]["tone"]["flags"] == ["desperate"]
    assert widest_context["width"] <= CONTEXT_WINDOW


def test_analyze_batch_reads_long_emails_in_bounded_groups(analyzer, monkeypatch):
    """The analyzer never hands the model more than one long email's worth of text at once."""
    groups = []
    original = analyzer._analyze_chunk

    def spy(items):
        groups.append(sum(len(i["text"]) for i in items))
        return original(items)

    monkeypatch.setattr(analyzer, "_analyze_chunk", spy)
    items = [{"text": "We ship pallets. " * 3000} for _ in range(6)]  # 51,000 characters each
    answers = analyzer.analyze_batch(items)
    assert len(answers) == 6
    assert max(groups) <= 2 * 51_000 and len(groups) >= 3


def test_window_constants_fit_the_network():
    assert CONTEXT_WINDOW <= network.MAX_POSITIONS
    assert CONTEXT_WINDOW - 2 * CONTEXT_MARGIN >= CONTEXT_WINDOW // 2
