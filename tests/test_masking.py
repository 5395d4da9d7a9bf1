"""Personal data is masked before a sample is kept."""
from __future__ import annotations

import pytest

from pitchlint.service.team.masking import Masker, mask
from pitchlint.text.segment import split


@pytest.mark.parametrize("text,want", [
    ("Write to dana.k+sales@example.co.uk today.", "Write to [email] today."),
    ("Call +44 20 7946 0958 or (415) 555-0199.", "Call [phone] or [phone]."),
    ("Book here: https://cal.example.com/book?invite=Zx81kLmN0pQ7rS2t.", "Book here: https://cal.example.com/[token]."),
    ("Reset at https://app.example.com/r/aB3dE5gH7jK9mN1pQ3 now", "Reset at https://app.example.com/[token] now"),
    ("See https://acme.example/pricing for plans.", "See https://acme.example/pricing for plans."),
    ("Hi Dana,", "Hi [name],"),
    ("Hey Priya, quick one.", "Hey [name], quick one."),
    ("Dear Mr. Smith,", "Dear Mr. [name],"),
    ("Hello Ravi Kumar!", "Hello [name] [name]!"),
    ("Thanks, Raj", "Thanks, [name]"),
    ("Hi there, hope you are well.", "Hi there, hope you are well."),
    ("Dear Sir/Madam,", "Dear Sir/Madam,"),
    ("We grew 300% in 2025 and serve 1,200 clients.", "We grew 300% in 2025 and serve 1,200 clients."),
])
def test_mask_one_sentence(text, want):
    assert mask(text) == want


def test_names_from_greeting_and_signature_are_masked_everywhere():
    email = ("Hi Dana,\n\nDana, I have written four times. Tom here again, still waiting.\n\n"
             "Best,\nTom Baker\nHead of Sales, Acme")
    sentences = split(email)
    m = Masker.for_email(sentences)
    masked = " ".join(m.mask(s.text) for s in sentences)
    assert "Dana" not in masked and "Tom" not in masked and "Baker" not in masked
    assert "Head of Sales" in masked  # titles are not names


def test_a_name_is_not_masked_inside_a_web_address():
    m = Masker({"Acme"})
    assert m.mask("Acme builds https://acme.example/pricing") == "[name] builds https://acme.example/pricing"


@pytest.mark.parametrize("email,hidden,kept", [
    ("Hi,\n\nDon't say I didn't warn you.\n\nAna", "Ana", "warn you"),
    ("We are great.\n\nTom Baker", "Tom", "We are great."),
    ("Please reply.\n\nThanks again", None, "Thanks again"),
])
def test_a_bare_name_line_at_the_end_is_a_name(email, hidden, kept):
    sentences = split(email)
    masked = " ".join(Masker.for_email(sentences).mask(s.text) for s in sentences)
    assert kept in masked
    if hidden:
        assert hidden not in masked
