#!/usr/bin/env python3
"""Fixtures for the extension's sentence splitter (src/lib/segment.js): the service's own
splitter (pitchlint.text.segment) run over every email of the training corpus and of
dev.jsonl, plus hand-written edge cases, written as gzipped JSON Lines:

    {"id": ..., "text": ..., "sentences": [[start, end, quoted, signature], ...]}   (code points)

    .venv/bin/python addin/extension/scripts/segment_fixtures.py     # from the repository root

Run it again whenever server/pitchlint/text/segment.py or the corpus changes;
test/unit/segment.test.js checks the JavaScript port against the file, and
tests/test_segment_fixtures.py checks that the file still is what the Python splitter says.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "server"))

OUT = ROOT / "addin" / "extension" / "test" / "fixtures" / "segment.jsonl.gz"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

# Cases the corpus may not hold: every kind of line break, code points outside the BMP, lone
# surrogates, the characters Python and JavaScript disagree on (white space, digits, case).
EDGE_CASES = [
    "Hi Dana 👋, sorry to chase again. Did my last three emails get through?\n\nTom",
    "Launched v3 🚀🚀 It's the slickest release yet. 𝐓𝐡𝐢𝐬 is bold. Next one.",
    "Line one.\r\nLine two!\rLine three?\u2028Line four.\u2029Line five\x0bsix\x0cseven\x1cend\x85x",
    "Price is No. 5 today. See Fig. 3 below. Dr. Smith agrees. e.g. This one. Jan. 12 works.",
    "1. Faster onboarding\n2. Fewer tickets\na. Pricing\niv. Terms",
    "Meet at 5 p.m. Tomorrow works. Call ext. ²3 or No. ①.",
    "• one • two • three",
    "HELLO İSTANBUL, great to meet you. ıt is fine. Kelvin K here. ſo it goes.",
    "Hi\u00a0Marcus,\u3000thanks for the call.\u2003Talk soon.",
    "Hey Sam, Quick question. Is this yours?\n\nBest,\nJordan Ellis, Senior AE\n+1 555 0100",
    "Thanks,\nJ.\n\nOn Mon, Nov 2, 2026 at 9:00 AM Dana <dana@example.com> wrote:\n> Please stop emailing me.\n> Really.",
    "FYI, is this legit?\n\n---------- Forwarded message ---------\nFrom: Sales <s@x.io>\nDate: Mon\nSubject: Offer\nTo: me\n\nBuy now or lose the discount forever!",
    "Hello,\n\nSee below.\n\nFrom: Alex\nSent: Tuesday\nTo: Team\nSubject: Re: pricing\n\nWe can do 10%.",
    "Quick one.\n-- \nTom Baker\nWe apologise for being so persistent.",
    "Cheers Mate\nP.S. Don't miss the webinar.\nSent from my iPhone",
    "Mit freundlichen GRÜẞEN\nAnna",
    "Lone \ud800 surrogate. And \udfff another one.",
    "Wow!!! Really?! Yes… Absolutely… ok. fine.",
    "\ufeffBOM first. Then text.",
    "Name:\tJohn.\tNext:\tOK.",
]


def records() -> list[dict]:
    from pitchlint.corpus import CORPUS_FILE, load_jsonl

    out = [{"id": f"edge-{k:02d}", "text": t} for k, t in enumerate(EDGE_CASES)]
    out += [{"id": r["id"], "text": r["text"]} for r in load_jsonl(CORPUS_FILE)]
    for r in load_jsonl(CORPUS_FILE):
        if r.get("subject"):
            out.append({"id": r["id"] + "#subject", "text": r["subject"]})
    if DEV.exists():
        out += [{"id": r["id"], "text": r["text"]} for r in load_jsonl(DEV)]
    return out


def fixture(rec: dict) -> dict:
    from pitchlint.text.segment import split

    return {"id": rec["id"], "text": rec["text"],
            "sentences": [[s.start, s.end, s.quoted, s.signature] for s in split(rec["text"])]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    recs = records()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(fixture(r), ensure_ascii=True) for r in recs]
    # mtime=0: the same splitter and emails give the same bytes.
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(("\n".join(lines) + "\n").encode("ascii"))
    n = sum(len(json.loads(l)["sentences"]) for l in lines)
    print(f"wrote {args.out.relative_to(ROOT)}: {len(recs):,} texts, {n:,} sentences "
          f"({args.out.stat().st_size / 1e6:.1f} MB){'' if DEV.exists() else '; dev.jsonl not found'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
