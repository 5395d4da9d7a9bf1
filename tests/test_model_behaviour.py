"""The real shipped model on emails written for these tests (none of them is in the corpus)."""
from __future__ import annotations

import pytest

from pitchlint.model.runtime import AnalyzeError


def labels(answer):
    return [(s["text"], s["focus"]["label"], s["tone"]["label"]) for s in answer["sentences"]]


def sentence(answer, start_of_text):
    for s in answer["sentences"]:
        if s["text"].startswith(start_of_text):
            return s
    raise AssertionError(f"no sentence starting {start_of_text!r} in {labels(answer)}")


def test_brochure_email_is_me_talk(analyzer):
    a = analyzer.analyze(
        "Hello,\n\nMy name is Gustavo and I head partnerships at Lumora Analytics. Lumora is the "
        "award-winning insight platform trusted by 2,500 retailers across nine countries. We have "
        "offices in Madrid, Austin and Singapore and our founders previously built two unicorns. "
        "I would love to book a 30-minute slot to demo our newest dashboard suite.\n\nRegards,\nGustavo")
    assert a["focus"]["label"] == "me_talk"
    assert a["tone"]["flags"] == []
    assert sentence(a, "Lumora is the award-winning")["focus"]["label"] == "me_talk"
    assert sentence(a, "Hello,")["focus"]["label"] == "other"
    assert sentence(a, "Hello,")["flagged"] is False


def test_researched_email_is_customer_centric(analyzer):
    a = analyzer.analyze(
        "Hi Benedikt,\n\nYour job ad for two night-shift pharmacists in Graz mentions that the "
        "dispensary now runs 24/7. Are the overnight hours mostly covered by agency staff at the "
        "moment, or by your own team on rotation? If agency costs are the pressure point, I can "
        "share how a similar hospital pharmacy in Linz staffed its nights for 18% less.\n\nBest,\nMira")
    assert a["focus"]["label"] == "customer_centric"
    assert a["tone"]["label"] == "neutral"
    assert sentence(a, "Are the overnight hours")["focus"]["label"] == "customer_centric"


def test_begging_follow_up_is_desperate(analyzer):
    a = analyzer.analyze(
        "Hi Corinne,\n\nSo sorry to bother you yet again. This is my sixth message and I still have "
        "not heard a single word back. I am begging you, just give me ten minutes on the phone, my "
        "job genuinely depends on it.\n\nThanks,\nLuc")
    assert "desperate" in a["tone"]["flags"]
    assert sentence(a, "This is my sixth message")["tone"]["label"] == "desperate"
    assert sentence(a, "This is my sixth message")["flagged"] is True
    assert sentence(a, "This is my sixth message")["message"]


def test_ultimatum_is_threatening(analyzer):
    a = analyzer.analyze(
        "Mr. Okoro,\n\nIf your signed renewal is not on my desk by Thursday noon, your account "
        "will be suspended and every archived invoice will be permanently erased. Rebuilding it "
        "afterwards will cost you three times as much.\n\nDerek")
    assert a["tone"]["label"] == "threatening"
    assert sentence(a, "If your signed renewal")["tone"]["label"] == "threatening"


def test_scores_are_probabilities(analyzer):
    a = analyzer.analyze("Hi Sam, could we talk on Tuesday about your fleet? Thanks, Jo")
    for s in a["sentences"]:
        for group in (s["focus"]["scores"], s["tone"]["scores"]):
            assert all(0.0 <= v <= 1.0 for v in group.values())
            assert abs(sum(group.values()) - 1.0) < 1e-3
    assert abs(sum(a["focus"]["scores"].values()) - 1.0) < 1e-3


def test_quoted_history_does_not_count_toward_the_email(analyzer):
    text = ("Hi Priya,\n\nThanks for the floor plan. For the 40 desks you described, the north wing "
            "keeps your support team together and fits your move date of 1 March.\n\nBest,\nOla\n\n"
            "On Tue, 4 Feb 2025 at 09:12, Vendor <v@x.io> wrote:\n"
            "> This is your LAST chance, prices triple tomorrow and your file will be closed.\n"
            "> I have emailed you nine times and I am desperate for an answer.")
    a = analyzer.analyze(text)
    quoted = [s for s in a["sentences"] if s["quoted"]]
    assert quoted and all(text[s["start"]:s["end"]] == s["text"] for s in quoted)
    assert a["tone"]["flags"] == [], "threats in quoted history must not label the reply"
    assert any(s["signature"] for s in a["sentences"])


def test_forwarded_pitch_with_only_a_note_is_judged_on_the_pitch(analyzer):
    text = ("Is this real?\n\n---------- Forwarded message ---------\nFrom: Listing Desk <desk@x.io>\n"
            "Subject: FINAL WARNING\n\nYour business listing will be deleted from every map within "
            "24 hours unless you pay the $349 verification fee today. Businesses that ignore this "
            "notice lose most of their calls.")
    a = analyzer.analyze(text, mode="read")
    assert "threatening" in a["tone"]["flags"]


def test_context_changes_a_sentence(analyzer):
    """The same sentence after a request from the reader vs after a cold brag."""
    s = "Happy to send the full breakdown."
    warm = analyzer.analyze("Hi Ada,\n\nYou asked how the 12% saving on your Leeds routes was "
                            f"calculated. {s}\n\nKim")
    cold = analyzer.analyze("Hi Ada,\n\nWe are the number one routing platform in Europe, loved by "
                            f"800 brands. {s}\n\nKim")
    p_warm = sentence(warm, s)["focus"]["scores"]["customer_centric"]
    p_cold = sentence(cold, s)["focus"]["scores"]["customer_centric"]
    assert p_warm > p_cold


def test_subject_is_optional_and_used(analyzer):
    text = "Any update? Really need an answer on this one."
    a = analyzer.analyze(text)
    b = analyzer.analyze(text, subject="RE: RE: RE: following up again")
    assert a["sentences"][0]["text"] == b["sentences"][0]["text"]
    assert a["tone"]["scores"] != b["tone"]["scores"]


def test_cache_gives_the_same_answer(analyzer):
    text = "Hi Bo,\n\nOur platform is the best. Sorry to chase again!\n\nAl"
    first = analyzer.analyze(text)
    hits = analyzer.cache.hits
    second = analyzer.analyze(text)
    assert analyzer.cache.hits > hits
    assert first == second


def test_an_email_gets_the_same_answer_alone_and_in_a_batch(analyzer):
    """The service's default arithmetic (PITCHLINT_COMPUTE=auto) must not let the other emails
    of a request move an email's labels: dynamic int8, its old fallback on CPUs without
    bfloat16, changed labels of dev.jsonl this way. In fp32 the scores agree to their four
    decimals; in bfloat16 (`auto` on CPUs that have it) the products' rounding follows the
    batch's shape, and scores move by up to about 0.003 (0.0026 seen here): the ONNX export
    (PITCHLINT_COMPUTE=onnx) is the arithmetic that is exact (tests/test_onnx.py)."""
    from pitchlint.corpus import load_jsonl

    from .conftest import DEV_FILE

    if not DEV_FILE.exists():
        pytest.skip("shared/eval is not beside this checkout")
    items = [{"text": r["text"], "subject": r.get("subject")} for r in load_jsonl(DEV_FILE)[:30]]
    tolerance = {"bf16": 0.01}.get(analyzer.compute, 2e-4)
    analyzer.cache.clear()
    together = analyzer.analyze_batch(items)
    for item, answer in zip(items, together):
        analyzer.cache.clear()
        alone = analyzer.analyze_batch([item])[0]
        assert (answer["focus"]["label"], answer["tone"]["flags"]) == (alone["focus"]["label"], alone["tone"]["flags"])
        for x, y in zip(answer["sentences"], alone["sentences"]):
            for axis in ("focus", "tone"):
                assert x[axis]["label"] == y[axis]["label"], x["text"]
                # scores are given to four decimals
                assert max(abs(v - y[axis]["scores"][k]) for k, v in x[axis]["scores"].items()) <= tolerance, x["text"]


# --- bad input: a correct answer or a clear error, never a crash or a wrong offset -------------

def _check_offsets(text, answer):
    prev = 0
    for s in answer["sentences"]:
        assert text[s["start"]:s["end"]] == s["text"]
        assert s["start"] >= prev
        prev = s["end"]


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_is_a_clear_error(analyzer, text):
    with pytest.raises(AnalyzeError) as e:
        analyzer.analyze(text)
    assert e.value.code == "empty_text"


def test_hundred_thousand_characters(analyzer):
    para = ("We are the leading provider of warehouse robots. Sorry to bother you again! "
            "Your competitors already use us, so don't get left behind.\n")
    text = (para * (100_000 // len(para) + 1))[:100_000]
    a = analyzer.analyze(text)
    assert len(text) == 100_000 and len(a["sentences"]) > 1000
    _check_offsets(text, a)


def test_one_five_thousand_character_sentence(analyzer):
    text = "please " * 714 + "reply"
    assert len(text) >= 5000
    a = analyzer.analyze(text)
    assert len(a["sentences"]) == 1 and a["sentences"][0]["end"] == len(text)


@pytest.mark.parametrize("text", [
    "🙏🙏🙏 🚀✨",
    "您好，我们是专业的LED灯制造商，有十五年经验。请查看附件中的价格表。",
    "مرحبا، نحن الشركة الرائدة في مجال البرمجيات. هل يمكننا حجز مكالمة؟",
    "Hi\x00 there.\x07 We\x1b sell\x0c tools.\x7f",
    "Hi \ud800 there, we sell \udfff tools.",
    "<html><body><p>Dear sir,</p><p>We are <b>the best</b> agency.&nbsp;Reply now!</p></body></html>",
])
def test_odd_text_gets_a_correct_answer(analyzer, text):
    a = analyzer.analyze(text)
    assert a["sentences"]
    _check_offsets(text, a)
    assert a["focus"]["label"] in ("me_talk", "customer_centric")
