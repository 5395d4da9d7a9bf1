#!/usr/bin/env python3
"""A rules baseline (pronoun ratio plus cue-word lists), scored beside the model.

    python benchmarks/rules_baseline.py [GOLD.jsonl]      # default: ../shared/eval/dev.jsonl

Prints the scorer's headline for the baseline and for the shipped model on the same file,
and the difference. This is what the model must beat by a clear margin to be worth running.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from pitchlint import scoring  # noqa: E402
from pitchlint.corpus import load_jsonl  # noqa: E402
from pitchlint.labels import primary_tone  # noqa: E402
from pitchlint.text.segment import split  # noqa: E402

SENDER = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|mine|we|we're|we've|we'd|we'll|us|our|ours)\b", re.I)
READER = re.compile(r"\b(you|you're|you've|you'd|you'll|your|yours)\b", re.I)
OTHER = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon)|thanks|thank you|best|regards|"
                   r"kind regards|cheers|sincerely|warmly|talk soon|sent from|--)\b", re.I)
DESPERATE = re.compile(r"\b(sorry|apologi[sz]e|apologies|begging|beg|please+|pretty please|just need|"
                       r"haven'?t heard|no response|not heard|my manager|my boss|quota|"
                       r"(second|third|fourth|fifth|sixth|\d+(st|nd|rd|th)?) (email|time|attempt)|"
                       r"bother|bugging|pester|desperate|anything|grateful|mean a lot|one chance)\b", re.I)
THREAT = re.compile(r"\b(last chance|final notice|deadline|penalt(y|ies)|fines?|will be (removed|"
                    r"deleted|suspended|released|cancell?ed)|competitors?|too late|escalat\w*|"
                    r"expire\w*|price(s)? (will )?(go|goes|going) up|increase|lose|losing|left behind|"
                    r"or else|now or never|won'?t be able|legal action|last time|act now|"
                    r"don'?t (wait|miss)|before it'?s)\b", re.I)


def sentence_labels(text: str) -> tuple[str, str]:
    if OTHER.match(text) or len(text.split()) <= 2:
        focus = "other"
    else:
        s, r = len(SENDER.findall(text)), len(READER.findall(text))
        focus = "me_talk" if s > r else "customer_centric" if r > s else "other"
    tone = "threatening" if THREAT.search(text) else "desperate" if DESPERATE.search(text) else "neutral"
    if tone != "neutral" and focus == "other":
        focus = "me_talk"
    return focus, tone


def analyze(text: str) -> dict:
    sentences, me, cc, flags = [], 0, 0, set()
    for s in split(text):
        focus, tone = sentence_labels(s.text)
        counts = not (s.quoted or s.signature)
        if counts:
            me += focus == "me_talk"
            cc += focus == "customer_centric"
            if tone != "neutral":
                flags.add(tone)
        sentences.append({"start": s.start, "end": s.end, "focus": {"label": focus},
                          "tone": {"label": tone}})
    flag_list = [f for f in ("desperate", "threatening") if f in flags]
    return {"focus": {"label": "me_talk" if me >= cc else "customer_centric"},
            "tone": {"label": primary_tone(flag_list), "flags": flag_list}, "sentences": sentences}


def main(argv: list[str]) -> int:
    gold_path = argv[0] if argv else str(ROOT.parent / "shared" / "eval" / "dev.jsonl")
    gold = load_jsonl(gold_path)
    base = scoring.score(gold, [{"id": r["id"], **analyze(r["text"])} for r in gold])["headline"]
    from pitchlint.model.runtime import Analyzer

    an = Analyzer()
    preds = an.analyze_batch([{"text": r["text"], "subject": r.get("subject")} for r in gold])
    model = scoring.score(gold, [{"id": r["id"], **p} for r, p in zip(gold, preds)])["headline"]
    print(f"{gold_path}: {len(gold)} emails; model {an.name} {an.version}")
    print(f"{'measure':28s} {'rules':>7s} {'model':>7s} {'gain':>7s}")
    for k in base:
        print(f"{k:28s} {base[k]:7.3f} {model[k]:7.3f} {model[k] - base[k]:+7.3f}")
    mean_b = sum(base.values()) / len(base)
    mean_m = sum(model.values()) / len(model)
    print(f"{'mean of headline':28s} {mean_b:7.3f} {mean_m:7.3f} {mean_m - mean_b:+7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
