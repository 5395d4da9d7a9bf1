"""The training corpus: format, size, balance, diversity, duplicates, and distance from dev."""
from __future__ import annotations

import collections
import json

import pytest

from pitchlint.corpus import (CORPUS_FILE, RAW_DIR, assemble, build, check_guide, check_raw,
                              diversity, load_jsonl, near_duplicates, stats)

from .conftest import DEV_FILE

GOOD = {"id": "t-1", "source": "follow_up", "industry": "freight", "subject": "Re: quote",
        "focus": "me_talk", "tone": ["desperate"],
        "parts": [["Hi Dana,", "other", "neutral", "\n\n"],
                  ["Sorry to chase again.", "me_talk", "desperate", " "],
                  ["Caf\u00e9 \U0001F64F rates?", "me_talk", "neutral", "\n"],
                  ["Tom", "other", "neutral", ""]]}


def bad(**changes):
    e = json.loads(json.dumps(GOOD))
    for k, v in changes.items():
        e[k] = v
    return e


def test_assemble_gives_exact_offsets():
    rec = assemble(GOOD)
    assert check_guide(rec) == []
    assert [rec["text"][s["start"]:s["end"]] for s in rec["sentences"]] == [p[0] for p in GOOD["parts"]]
    assert rec["text"] == "Hi Dana,\n\nSorry to chase again. Caf\u00e9 \U0001F64F rates?\nTom"


@pytest.mark.parametrize("email,fragment", [
    (bad(source="cold"), "source"),
    (bad(focus="other"), "email focus"),
    (bad(tone=["desperate", "angry"]), "email tone"),
    (bad(tone=[]), "must list exactly the sentence tones"),
    (bad(parts=[["Hi,", "other", "desperate", ""]], tone=["desperate"]), "pressure is never 'other'"),
    (bad(parts=[[" Hi,", "other", "neutral", ""]], tone=[]), "white space"),
    (bad(parts=[["Hi,\nyou", "other", "neutral", ""]], tone=[]), "line break"),
    (bad(parts=[["Hi,", "other", "neutral", "\n"]], tone=[]), "last part"),
    (bad(parts=[["Hi,", "other", "neutral", "\t"], ["x", "other", "neutral", ""]], tone=[]), "separator"),
    (bad(parts=[["Hi,", "mine", "neutral", ""]], tone=[]), "focus 'mine'"),
])
def test_check_raw_names_each_problem(email, fragment):
    errors = check_raw(email)
    assert errors and any(fragment in e for e in errors), errors


def _closing_email(text, focus, tone):
    return bad(tone=[tone] if tone != "neutral" else [],
               parts=[["Hi Dana,", "other", "neutral", "\n\n"],
                      ["Our racking ships in two weeks.", "me_talk", "neutral", "\n\n"],
                      [text, focus, tone, "\n"],
                      ["Tom", "other", "neutral", ""]])


@pytest.mark.parametrize("text,focus,tone", [
    ("I look forward to hearing from you.", "me_talk", "neutral"),
    ("Looking forward to your reply!", "customer_centric", "neutral"),
    ("Awaiting your kind response.", "me_talk", "desperate"),
    ("Hope to hear from you soon, Dana!", "me_talk", "neutral"),
    ("> Thanks in advance.", "me_talk", "neutral"),
    ("Thank you for your time,", "customer_centric", "neutral"),
    ("Have a great day! 😊", "me_talk", "neutral"),
])
def test_a_mislabelled_plain_closing_is_refused(text, focus, tone):
    errors = check_raw(_closing_email(text, focus, tone))
    assert any("plain closing" in e and "GUIDE thank-you and closing rule" in e for e in errors), errors
    assert check_raw(_closing_email(text, "other", "neutral")) == []


@pytest.mark.parametrize("text,focus,tone", [
    # the GUIDE's three exceptions to the thank-you and closing rule, and a plea for a reply
    ("Thanks for the brief: 35 desks now, room for 50 within two years, near the station.",
     "customer_centric", "neutral"),
    ("Thank you for your interest in Acme, the #1 payroll platform.", "me_talk", "neutral"),
    ("Thanks for requesting a demo of Acme!", "me_talk", "neutral"),
    ("Thanks so much for bearing with me, and sorry again for the extra email.", "me_talk", "desperate"),
    ("Really hoping to hear from you, please just reply.", "me_talk", "desperate"),
])
def test_guide_exceptions_to_the_closing_rule_are_accepted(text, focus, tone):
    assert check_raw(_closing_email(text, focus, tone)) == []


def test_near_duplicates_are_found():
    a = "We are the leading provider of cloud procurement software for mid-sized manufacturers in Europe"
    b = a + " and beyond."
    c = "Your Q3 call mentioned churn in the SMB segment; is that still the top priority for the team?"
    pairs = near_duplicates([a, b, c])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


@pytest.fixture(scope="module")
def corpus():
    if not CORPUS_FILE.exists():
        pytest.fail("models/data/corpus.jsonl is missing: run `pitchlint corpus build`")
    return load_jsonl(CORPUS_FILE)


def test_corpus_is_valid_guide_format(corpus):
    problems = [p for r in corpus for p in check_guide(r)]
    assert problems == []
    assert len({r["id"] for r in corpus}) == len(corpus)
    for r in corpus:
        assert r["tone"] == [t for t in ("desperate", "threatening") if any(s["tone"] == t for s in r["sentences"])]


def test_corpus_size_and_balance(corpus):
    st = stats(corpus)
    assert st["emails"] >= 2000 and st["sentences"] >= 15000
    for label, n in {**st["sentence_focus"], **st["sentence_tone"]}.items():
        assert n >= 1500, f"{label}: only {n} sentences"
    assert set(st["source"]) == {"outreach", "follow_up", "inbound_reply", "incoming"}
    assert st["industries"] >= 30
    lengths = collections.Counter(len(r["sentences"]) for r in corpus)
    assert min(lengths) == 1 and max(lengths) >= 30


def test_corpus_is_not_dominated_by_templates(corpus):
    d = diversity(corpus)
    assert d["distinct_openings_share"] >= 0.6, d
    assert d["distinct_trigrams_share"] >= 0.7, d


def test_corpus_is_the_build_of_the_raw_batches(corpus):
    """corpus.jsonl is exactly what `pitchlint corpus build` makes of models/data/raw/."""
    records, problems = build(RAW_DIR, None)
    assert problems == []
    left_out = json.loads((CORPUS_FILE.parent / "left_out.json").read_text())
    assert [r for r in records if r["id"] not in left_out] == corpus


def test_no_dev_email_nor_paraphrase_in_training(corpus):
    """Nearest-neighbour similarity (MiniLM sentence embeddings) against shared/eval/dev.jsonl."""
    if not DEV_FILE.exists():
        pytest.skip("shared/eval is not beside this checkout")
    from pitchlint.model.overlap import paraphrases

    dev = load_jsonl(DEV_FILE)
    dev_texts = {d["text"] for d in dev}
    assert not [r["id"] for r in corpus if r["text"] in dev_texts]
    assert paraphrases(corpus, dev) == {}


def test_paraphrase_check_catches_a_paraphrase():
    if not DEV_FILE.exists():
        pytest.skip("shared/eval is not beside this checkout")
    from pitchlint.model.overlap import paraphrases

    dev = load_jsonl(DEV_FILE)[:5]
    g = dev[1]
    twisted = dict(g, id="p-1", text=g["text"].replace("Hello", "Hi there").replace("30-minute", "half-hour"))
    found = paraphrases([twisted], dev)
    assert "p-1" in found


def test_cohen_kappa_on_a_worked_example():
    from pitchlint.agreement import cohen_kappa

    # 50 items: 20 yes/yes, 15 no/no, 5 yes/no, 10 no/yes -> po 0.7, pe 0.5, kappa 0.4
    pairs = [("y", "y")] * 20 + [("n", "n")] * 15 + [("y", "n")] * 5 + [("n", "y")] * 10
    assert abs(cohen_kappa(pairs) - 0.4) < 1e-9
    assert cohen_kappa([("a", "a"), ("b", "b")]) == 1.0


def test_second_labelling_files_are_complete_and_agree_as_reported():
    from pitchlint.agreement import agreement, check

    folder = CORPUS_FILE.parent / "agreement"
    first = load_jsonl(folder / "first_labels.jsonl")
    labels = []
    for part in ("A", "B"):
        blind_rows = load_jsonl(folder / f"blind_{part}.jsonl")
        assert "sentences" in blind_rows[0] and "focus" not in blind_rows[0]  # labels were hidden
        rows = load_jsonl(folder / f"second_labels_{part}.jsonl")
        assert check(blind_rows, rows) == []
        labels += rows
    res = agreement(first, labels)
    assert res["emails"] >= 300
    datasheet = (CORPUS_FILE.parent / "DATASHEET.md").read_text()
    for key in ("sentence_focus", "sentence_tone", "email_focus", "email_tone_primary"):
        assert f"{res[key]['kappa']:.3f}" in datasheet, key
