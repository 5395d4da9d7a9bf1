"""Training-time variations that keep every label true, for real mail's messiness and against
a sentence's tone spilling onto its neighbours.

- `noisy`: the same sentence written the way real senders write — lower case, a missing full
  stop, a word in capitals, a typo, lost apostrophes, a name left as a placeholder ("[Name]",
  "{{first_name}}", "XXX"), Odd Title Case, a stray space before a comma. None of these changes
  what a sentence is about or the pressure it puts on the reader.
- `splice`: an email with one or two plain lines from other emails inserted, preferably right
  next to a begging or threatening line. Only lines whose labels do not depend on their email
  are inserted (pleasantries, logistics and closings labelled other/neutral; short plain asks
  labelled me_talk/neutral, and only into me-talk emails), so the email's labels stay true and
  the network learns that a plain line stays plain whatever stands beside it.
"""
from __future__ import annotations

import random
import re

PLACEHOLDERS = ("[Name]", "{{first_name}}", "XXX", "[Company]", "[Client's]", "{Company Name}",
                "[redacted]", "%FIRSTNAME%")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]{2,}")
_CAPITALISED = re.compile(r"(?<=\s)[A-Z][a-z]{2,}\b")


def _lower(text, rng):
    return text.lower()


def _no_full_stop(text, rng):
    return text.rstrip(".!") if len(text) > 3 and text[-1] in ".!" else text


def _caps_word(text, rng):
    words = list(_WORD.finditer(text))
    if not words:
        return text
    m = rng.choice(words)
    return text[:m.start()] + m.group().upper() + text[m.end():]


def _typo(text, rng):
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 5]
    if not words:
        return text
    m = rng.choice(words)
    i = m.start() + rng.randrange(1, len(m.group()) - 2)
    if rng.random() < 0.5:  # two letters swapped
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + text[i] + text[i:]  # a letter doubled


def _no_apostrophes(text, rng):
    return text.replace("'", "").replace("’", "")


def _placeholder(text, rng):
    names = list(_CAPITALISED.finditer(text))
    if not names:
        return text
    m = rng.choice(names)
    return text[:m.start()] + rng.choice(PLACEHOLDERS) + text[m.end():]


def _title_case(text, rng):
    return re.sub(r"\b([a-z])([a-z]{2,})\b", lambda m: m.group(1).upper() + m.group(2), text)


def _space_before_comma(text, rng):
    return text.replace(", ", " , ", 1) if ", " in text else text


NOISES = (_lower, _no_full_stop, _caps_word, _typo, _no_apostrophes, _placeholder, _title_case,
          _space_before_comma)


def noisy(text: str, rng: random.Random) -> str:
    """One or two of NOISES applied to a sentence (never emptied)."""
    out = text
    for fn in rng.sample(NOISES, rng.choice((1, 1, 2))):
        out = fn(out, rng)
    return out if out.strip() else text


def noisy_email(sentences: list[str], rng: random.Random, share: float = 0.35) -> list[str]:
    """The email's sentences with about `share` of them made noisy; one in five emails is
    lower-cased throughout, as some real senders write."""
    if rng.random() < 0.2:
        return [s.lower() for s in sentences]
    return [noisy(s, rng) if rng.random() < share else s for s in sentences]


def plain_line_pools(records: list[dict], kinds_of: dict[str, list[int]], body_kind: int) -> dict:
    """Sentences that keep their labels in any email: indices (record, sentence) of body lines
    labelled other/neutral (3 to 25 words; not the first or last line, so no greetings or
    sign-offs), and of short plain asks labelled me_talk/neutral."""
    other, asks = [], []
    for i, r in enumerate(records):
        kinds = kinds_of[r["id"]]
        n = len(r["sentences"])
        for j, s in enumerate(r["sentences"]):
            if kinds[j] != body_kind or j == 0 or j >= n - 1 or s["tone"] != "neutral":
                continue
            text = r["text"][s["start"]:s["end"]]
            words = len(text.split())
            if s["focus"] == "other" and 3 <= words <= 25 and not text.endswith(","):
                other.append((i, j))
            elif s["focus"] == "me_talk" and 2 <= words <= 10 and text.endswith("?"):
                asks.append((i, j))
    return {"other": other, "asks": asks}


def splice_positions(tones: list[int], kinds: list[int], neutral: int, body_kind: int,
                     rng: random.Random, count: int) -> list[int]:
    """Where to insert `count` lines (indices into the original list, each meaning "before
    this sentence"): beside a pressure line when there is one, else anywhere in the body
    after the first line; never inside quoted history or the signature."""
    body = [k for k, kind in enumerate(kinds) if kind == body_kind]
    if len(body) < 2:
        return []
    pressure = [k for k in body if tones[k] != neutral]
    out = []
    for _ in range(count):
        if pressure and rng.random() < 0.75:
            k = rng.choice(pressure)
            out.append(k + (1 if rng.random() < 0.6 else 0))
        else:
            out.append(rng.randint(body[1], body[-1] + 1))
    return sorted(max(1, p) for p in out)
