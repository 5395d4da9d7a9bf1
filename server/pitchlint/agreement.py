"""A second, independent labelling of corpus emails, and the agreement between the two.

    python -m pitchlint.agreement blind CORPUS OUT --per-slice 40 [--seed 7]   # labels removed
    python -m pitchlint.agreement check BLIND LABELS                            # a labeller's file
    python -m pitchlint.agreement kappa CORPUS LABELS [--json]                  # Cohen's kappa

The blind file holds each email's subject, text and numbered sentences, never its labels. The
second labeller writes one line per email:
    {"id": "s3-0042", "focus": "me_talk", "tone": ["desperate"],
     "labels": [["other", "neutral"], ["me_talk", "desperate"], ...]}
with one [focus, tone] pair per numbered sentence, in order. Standard library only.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import sys

from .corpus import load_jsonl
from .labels import EMAIL_FOCUS, FLAGS, SENTENCE_FOCUS, TONES, primary_tone


def blind(records: list[dict], per_slice: int, seed: int) -> list[dict]:
    by_slice = collections.defaultdict(list)
    for r in records:
        by_slice[r["id"].split("-")[0]].append(r)
    rng = random.Random(seed)
    out = []
    for name in sorted(by_slice):
        pool = by_slice[name]
        for r in rng.sample(pool, min(per_slice, len(pool))):
            out.append({"id": r["id"], "source": r["source"], "subject": r.get("subject", ""),
                        "text": r["text"],
                        "sentences": [{"n": i, "text": r["text"][s["start"]:s["end"]]}
                                      for i, s in enumerate(r["sentences"])]})
    rng.shuffle(out)
    return out


def check(blind_rows: list[dict], labels: list[dict]) -> list[str]:
    want = {r["id"]: len(r["sentences"]) for r in blind_rows}
    errors, seen = [], set()
    for n, row in enumerate(labels, 1):
        rid = row.get("id")
        where = f"line {n} ({rid})"
        if rid not in want:
            errors.append(f"{where}: id not in the blind file")
            continue
        seen.add(rid)
        if row.get("focus") not in EMAIL_FOCUS:
            errors.append(f"{where}: focus must be one of {EMAIL_FOCUS}")
        tone = row.get("tone")
        if not isinstance(tone, list) or any(t not in FLAGS for t in tone):
            errors.append(f"{where}: tone must be a list drawn from {FLAGS}")
        labs = row.get("labels")
        if not isinstance(labs, list) or len(labs) != want[rid]:
            errors.append(f"{where}: labels must have {want[rid]} [focus, tone] pairs")
            continue
        for i, pair in enumerate(labs):
            if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in SENTENCE_FOCUS
                    and pair[1] in TONES):
                errors.append(f"{where}: sentence {i}: {pair!r} is not [focus, tone]")
        present = {p[1] for p in labs if isinstance(p, list) and len(p) == 2} & set(FLAGS)
        if isinstance(tone, list) and set(tone) != present:
            errors.append(f"{where}: email tone {tone} must list the sentence tones present {sorted(present)}")
    missing = set(want) - seen
    if missing:
        errors.append(f"{len(missing)} emails not labelled yet, e.g. {sorted(missing)[:3]}")
    return errors


def cohen_kappa(pairs: list[tuple[str, str]]) -> float:
    n = len(pairs)
    if not n:
        return float("nan")
    labels = sorted({a for a, _ in pairs} | {b for _, b in pairs})
    po = sum(a == b for a, b in pairs) / n
    ca = collections.Counter(a for a, _ in pairs)
    cb = collections.Counter(b for _, b in pairs)
    pe = sum(ca[l] * cb[l] for l in labels) / (n * n)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def agreement(records: list[dict], labels: list[dict]) -> dict:
    gold = {r["id"]: r for r in records}
    sf, st, ef, et = [], [], [], []
    disagreements = []
    for row in labels:
        r = gold.get(row["id"])
        if r is None or len(row["labels"]) != len(r["sentences"]):
            continue
        for s, (f2, t2) in zip(r["sentences"], row["labels"]):
            sf.append((s["focus"], f2))
            st.append((s["tone"], t2))
            if s["focus"] != f2 or s["tone"] != t2:
                disagreements.append({"id": r["id"], "text": r["text"][s["start"]:s["end"]],
                                      "first": [s["focus"], s["tone"]], "second": [f2, t2]})
        ef.append((r["focus"], row["focus"]))
        et.append((primary_tone(r["tone"]), primary_tone(row["tone"])))

    def block(pairs):
        return {"n": len(pairs), "agreement": round(sum(a == b for a, b in pairs) / max(1, len(pairs)), 3),
                "kappa": round(cohen_kappa(pairs), 3)}

    return {"emails": len(ef), "sentence_focus": block(sf), "sentence_tone": block(st),
            "email_focus": block(ef), "email_tone_primary": block(et),
            "disagreements": disagreements}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pitchlint.agreement")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("blind")
    b.add_argument("corpus")
    b.add_argument("out")
    b.add_argument("--per-slice", type=int, default=40)
    b.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("check")
    c.add_argument("blind")
    c.add_argument("labels")
    k = sub.add_parser("kappa")
    k.add_argument("corpus")
    k.add_argument("labels", nargs="+")
    k.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "blind":
        rows = blind(load_jsonl(args.corpus), args.per_slice, args.seed)
        with open(args.out, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} emails without labels to {args.out}")
        return 0
    if args.cmd == "check":
        errors = check(load_jsonl(args.blind), load_jsonl(args.labels))
        for e in errors[:100]:
            print(e)
        print("OK" if not errors else f"{len(errors)} problem(s)")
        return 1 if errors else 0
    labels = [row for p in args.labels for row in load_jsonl(p)]
    res = agreement(load_jsonl(args.corpus), labels)
    if args.json:
        print(json.dumps(res, indent=1, ensure_ascii=False))
    else:
        print(f"emails labelled twice: {res['emails']}")
        for key in ("sentence_focus", "sentence_tone", "email_focus", "email_tone_primary"):
            v = res[key]
            print(f"{key:20s} n={v['n']:5d}  agreement {v['agreement']:.3f}  kappa {v['kappa']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
