"""The shipped model on the patterns that real email (quoted in public posts) showed the earlier
model getting wrong (issue 12): closings and check-ins flagged, reader benefits and pains read as
me-talk or threats, a plain ask taking its neighbour's tone. Every email here was written for
these tests; none is in the corpus or copied from a real one."""
from __future__ import annotations

import pytest


def sentence(answer, start_of_text):
    for s in answer["sentences"]:
        if s["text"].startswith(start_of_text):
            return s
    raise AssertionError(f"no sentence starting {start_of_text!r}: "
                         f"{[(s['text'], s['focus']['label'], s['tone']['label']) for s in answer['sentences']]}")


def labels_of(answer, start_of_text):
    s = sentence(answer, start_of_text)
    return s["focus"]["label"], s["tone"]["label"]


@pytest.mark.parametrize("pressure, kind", [
    ("Please, I am begging you, give me ten minutes, my whole quarter rides on this meeting.", "desperate"),
    ("Ignore this and your listing goes dark on Monday, and getting it back will cost triple.", "threatening"),
])
@pytest.mark.parametrize("ask", ["Would Wednesday at 3 work?", "Could you point me to whoever runs purchasing?"])
def test_a_plain_ask_after_pressure_keeps_its_own_tone(analyzer, pressure, kind, ask):
    a = analyzer.analyze(f"Hi Rosa,\n\n{pressure} {ask}\n\nThanks,\nMilan")
    assert labels_of(a, pressure[:20])[1] == kind
    assert labels_of(a, ask[:12])[1] == "neutral"
    assert a["tone"]["flags"] == [kind]


@pytest.mark.parametrize("closing", ["Looking forward to hearing from you.", "Awaiting your kind reply.",
                                     "Hope to hear back soon!", "Waiting for your positive response."])
def test_closing_lines_are_plain(analyzer, closing):
    a = analyzer.analyze(
        "Dear Sir,\n\nWe are a web development company from Pune with 9+ years experience in "
        f"Shopify and WordPress. Kindly share your requirement for a free quote.\n\n{closing}\n\n"
        "Regards\nVikram")
    assert labels_of(a, closing[:12]) == ("other", "neutral")
    assert a["tone"]["flags"] == []


def test_a_plain_check_in_is_not_desperate(analyzer):
    a = analyzer.analyze(
        "Hi Jonas,\n\nJust wanted to check in and see whether any questions came up after the "
        "demo last week.\n\nBest,\nPriya")
    assert a["tone"]["flags"] == []
    assert labels_of(a, "Just wanted to check in")[1] == "neutral"


def test_a_courtesy_exit_is_not_a_threat(analyzer):
    a = analyzer.analyze("If now isn't a good time, no worries at all.")
    assert a["tone"]["flags"] == []


def test_a_bare_boast_makes_a_me_talk_email_even_alone(analyzer):
    a = analyzer.analyze("We are the best.")
    assert a["focus"]["label"] == "me_talk"
    assert a["tone"]["flags"] == []


# A known failure of the shipped model (its card says so): a four-word boast alone reads as a
# sign-off ("Best,"), other at 0.96, though the one-line email is me_talk. Every training
# configuration tried (seven, MODEL_CARD.md) gave the same. strict: it fails once a model
# gets it right, so that this mark is removed then.
@pytest.mark.xfail(strict=True, reason="a short boast alone reads as a sign-off (known, see the model card)")
def test_a_bare_boast_is_me_talk_even_alone(analyzer):
    a = analyzer.analyze("We are the best.")
    assert labels_of(a, "We are the best") == ("me_talk", "neutral")


def test_a_reader_centred_email_with_a_pain_and_a_benefit(analyzer):
    a = analyzer.analyze(
        "Hi Noor,\n\nSaw that Fernway is opening two more clinics in Leeds this spring. Most "
        "multi-site clinics lose a few hours a week reconciling bookings between locations by "
        "hand. We'd set up the shared calendar for both new sites before they open and send you "
        "the checklist your front desks can use on day one. Would a short call next week be "
        "useful?\n\nBest,\nOwen")
    assert a["focus"]["label"] == "customer_centric"
    assert a["tone"]["flags"] == []
    assert labels_of(a, "Saw that Fernway")[0] == "customer_centric"
    assert labels_of(a, "Most multi-site clinics")[1] == "neutral"
    assert labels_of(a, "We'd set up the shared calendar")[0] == "customer_centric"


def test_a_messy_pitch_is_read_through_its_mess(analyzer):
    a = analyzer.analyze(
        "hi [Name] ,\n\ni came across ur website and found few issue's with the SEO , your site is "
        "not on 1st page for main keywords.we are expert team can fix it in 30 days\n"
        "pls reply with ur budget\n\nthanks & regards\nSonu")
    assert a["focus"]["label"] == "me_talk"
    assert "desperate" not in a["tone"]["flags"]
