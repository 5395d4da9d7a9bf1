"""Sentence splitting on real email shapes; offsets are code points that slice back."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pitchlint.text.segment import _blank, split


def texts(text):
    return [s.text for s in split(text)]


def assert_consistent(text):
    prev = 0
    for s in split(text):
        assert text[s.start:s.end] == s.text
        assert s.start >= prev and s.end > s.start
        assert all(_blank(c) for c in text[prev:s.start])
        prev = s.end
    assert all(_blank(c) for c in text[prev:])


def test_greeting_signoff_and_name_lines():
    t = "Hi Dana,\n\nWe cut freight costs. Want the numbers?\n\nBest,\nOwen Pratt\nHead of Sales"
    assert texts(t) == ["Hi Dana,", "We cut freight costs.", "Want the numbers?", "Best,",
                        "Owen Pratt", "Head of Sales"]
    sig = [s.text for s in split(t) if s.signature]
    assert sig == ["Best,", "Owen Pratt", "Head of Sales"]


def test_greeting_on_the_same_line_as_the_pitch():
    assert texts("Hi Tara, Your blog post on Kubernetes stuck with me.") == [
        "Hi Tara,", "Your blog post on Kubernetes stuck with me."]


def test_abbreviations_decimals_urls_and_addresses_do_not_split():
    t = ("Mr. Smith met Dr. Adeyemi in the U.S. last week. Prices start at $4.50 per unit, "
         "e.g. the basic tier. See https://acme.example/pricing.html or write to sales@acme.co.uk today. "
         "It ships approx. five days later.")
    assert texts(t) == [
        "Mr. Smith met Dr. Adeyemi in the U.S. last week.",
        "Prices start at $4.50 per unit, e.g. the basic tier.",
        "See https://acme.example/pricing.html or write to sales@acme.co.uk today.",
        "It ships approx. five days later."]


def test_sentence_ends_after_an_acronym_and_counts():
    assert texts("We closed our Series C. Our platform is fast.") == [
        "We closed our Series C.", "Our platform is fast."]
    assert texts("Capacity is 200,000 pcs. Price is stable. Seven emails and not even a no. I'll call.") == [
        "Capacity is 200,000 pcs.", "Price is stable.", "Seven emails and not even a no.", "I'll call."]


def test_ellipses_exclamations_and_emoji():
    t = "Well... I tried!! Any update?? We just launched v3 🚀🚀 It's the slickest tool 🙏"
    assert texts(t) == ["Well...", "I tried!!", "Any update??", "We just launched v3 🚀🚀",
                        "It's the slickest tool 🙏"]


def test_bullets_are_sentences():
    t = ("What you get:\n• faster onboarding\n- 24/7 support\n1) a named engineer\n• one • two\n"
         "2. Named numbered item. It has two sentences.\nb. Lettered item")
    assert texts(t) == ["What you get:", "• faster onboarding", "- 24/7 support",
                        "1) a named engineer", "• one", "• two", "2. Named numbered item.",
                        "It has two sentences.", "b. Lettered item"]


def test_quoted_reply_is_marked_and_forward_headers_too():
    t = ("Any update on this?\n\nOn Mon, 3 Feb 2025 at 09:12, Tom Reed <tom@x.io> wrote:\n"
         "> We noticed your site could rank higher.\n> Reply YES for the report.")
    got = [(s.text, s.quoted) for s in split(t)]
    assert got[0] == ("Any update on this?", False)
    assert all(q for _, q in got[1:]) and len(got) == 4
    f = ("FYI, is this legit?\n\n---------- Forwarded message ---------\nFrom: Ads <a@b.io>\n"
         "Date: Tue, 4 Mar 2025\nSubject: Partnership\n\nHi there,\nWe are the fastest ad network.")
    got = [(s.text, s.quoted) for s in split(f)]
    assert [q for _, q in got] == [False, True, True, True, True, False, False]


def test_outlook_reply_history_is_quoted():
    t = ("Thanks, that works.\n\nFrom: Ana Lima <ana@x.com>\nSent: Monday, 3 March 2025 10:00\n"
         "To: Bo\nSubject: RE: quote\n\nOur prices rise on Friday.")
    flags = [s.quoted for s in split(t)]
    assert flags[0] is False and all(flags[1:])


def test_sign_off_mid_email_is_not_a_signature_when_much_follows():
    t = ("Thanks!\n" + "\n".join(f"This is a long paragraph number {i} about your warehouse layout and "
                                 "the racking you asked us to quote for the new site." for i in range(10)))
    assert not any(s.signature for s in split(t))


def test_ps_after_signature_is_not_signature():
    t = "We can help.\n\nBest,\nKim\nP.S. Your renewal is due on 1 May."
    got = {s.text: s.signature for s in split(t)}
    assert got["Kim"] is True and got["P.S. Your renewal is due on 1 May."] is False


def test_crlf_control_characters_and_lone_surrogates():
    t = "Hi Bo,\r\n\r\nWe can help.\x0bPrice is fixed.\x00 Call me.\ud800 Thanks"
    assert_consistent(t)
    assert texts(t)[:3] == ["Hi Bo,", "We can help.", "Price is fixed."]


def test_non_latin_scripts():
    assert_consistent("您好，我们是专业的LED灯制造商。请查看附件。\n\nمرحبا، نحن شركة رائدة. هل أنت مهتم؟")


def test_empty_and_whitespace():
    assert split("") == [] and split("  \n\t\n ") == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab .!?…\n\r>-•:,'\"😀é中\x00\u2028") +
                                ["Hi ", "Best,", "wrote:", "Mr. ", "On Mon ", "From: ", "\ud800"]),
                max_size=80).map("".join))
def test_spans_always_slice_back_and_cover_the_text(text):
    assert_consistent(text)


def test_thanks_sentence_is_not_a_sign_off():
    t = "Thanks for the call.\nWe can start Monday.\nBest,\nAna"
    got = {s.text: s.signature for s in split(t)}
    assert got["Thanks for the call."] is False and got["We can start Monday."] is False
    assert got["Best,"] is True and got["Ana"] is True
    t2 = "We can help.\n\nBest regards Cindy Liu Sales Dept.\n\nKind regards, Grant Ellis, Account Executive"
    assert [s.signature for s in split(t2)] == [False, True, True]
