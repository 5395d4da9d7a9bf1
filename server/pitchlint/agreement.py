"""A second, independent labelling of corpus emails, and the agreement between the two.

    python -m pitchlint.agreement blind CORPUS OUT --per-slice 40 [--seed 7]   # labels removed
    python -m pitchlint.agreement check BLIND LABELS                            # a labeller's file
    python -m pitchlint.agreement kappa CORPUS LABELS [--json]                  # Cohen's kappa
    python -m pitchlint.agreement labelled BLIND LABELS OUT     # a labeller's file as GUIDE records
    python -m pitchlint.agreement disagree BLIND LABELS_A LABELS_B OUT [--seed 7]
    python -m pitchlint.agreement settle BLIND LABELS_A LABELS_B DECISIONS OUT

A held-out set is labelled blind twice (two labellers, neither seeing the other's labels), and
every disagreement is put to a third labeller as two unlabelled options in random order
(`disagree` writes them: {"id", "n" (a sentence index, or "email" for the email's focus), the
email's text, the sentence, "options": [[focus, tone], [focus, tone]]}); the third writes one line
per item, {"id", "n", "choice": 0 or 1, "why"}. `settle` writes the final GUIDE-format set: the
labels both agreed on, the third's choice elsewhere, each email's tone from its sentences.

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


def as_records(blind_rows: list[dict], labels: list[dict]) -> list[dict]:
    """A labeller's file as GUIDE-format records (offsets found in the blind file's text)."""
    by_id = {row["id"]: row for row in labels}
    out = []
    for b in blind_rows:
        row = by_id[b["id"]]
        text, pos, sentences = b["text"], 0, []
        for s, (focus, tone) in zip(b["sentences"], row["labels"]):
            start = text.index(s["text"], pos)
            pos = start + len(s["text"])
            sentences.append({"start": start, "end": pos, "focus": focus, "tone": tone})
        out.append({"id": b["id"], "source": b["source"], "subject": b.get("subject", ""),
                    "text": text, "focus": row["focus"],
                    "tone": [t for t in FLAGS if any(x["tone"] == t for x in sentences)],
                    "sentences": sentences})
    return out


def disagreements_between(blind_rows: list[dict], a: list[dict], b: list[dict], seed: int) -> list[dict]:
    """Every sentence and email focus on which two labellers differ, as two options in a
    random order (so the third labeller cannot tell whose is whose)."""
    rng = random.Random(seed)
    la, lb = {r["id"]: r for r in a}, {r["id"]: r for r in b}
    out = []
    for row in blind_rows:
        x, y = la[row["id"]], lb[row["id"]]
        items = [(n, s["text"], list(p), list(q))
                 for n, (s, p, q) in enumerate(zip(row["sentences"], x["labels"], y["labels"])) if p != q]
        if x["focus"] != y["focus"]:
            items.append(("email", "(the email as a whole: focus)", [x["focus"]], [y["focus"]]))
        for n, sentence, p, q in items:
            options = [p, q]
            rng.shuffle(options)
            out.append({"id": row["id"], "n": n, "subject": row.get("subject", ""), "text": row["text"],
                        "sentence": sentence, "options": options})
    return out


def settle(blind_rows: list[dict], a: list[dict], b: list[dict], decisions: list[dict],
           seed: int) -> list[dict]:
    """The final labels: agreement where the two agree, the third labeller's choice elsewhere."""
    open_items = {(d["id"], d["n"]): d for d in disagreements_between(blind_rows, a, b, seed)}
    chosen = {}
    for d in decisions:
        key = (d["id"], d["n"])
        if key not in open_items:
            raise ValueError(f"decision for {key} matches no disagreement")
        chosen[key] = open_items[key]["options"][int(d["choice"])]
    missing = [k for k in open_items if k not in chosen]
    if missing:
        raise ValueError(f"{len(missing)} disagreements have no decision, e.g. {missing[:3]}")
    la = {r["id"]: r for r in a}
    final = []
    for row in blind_rows:
        x = la[row["id"]]
        labels = [chosen.get((row["id"], n), pair) for n, pair in enumerate(x["labels"])]
        focus = chosen.get((row["id"], "email"), [x["focus"]])[0]
        final.append({"id": row["id"], "focus": focus, "labels": labels})
    return as_records(blind_rows, final)


def _write_jsonl(path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


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
    lb = sub.add_parser("labelled")
    lb.add_argument("blind")
    lb.add_argument("labels")
    lb.add_argument("out")
    d = sub.add_parser("disagree")
    d.add_argument("blind")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("out")
    d.add_argument("--seed", type=int, default=7)
    st = sub.add_parser("settle")
    st.add_argument("blind")
    st.add_argument("a")
    st.add_argument("b")
    st.add_argument("decisions")
    st.add_argument("out")
    st.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if args.cmd == "labelled":
        _write_jsonl(args.out, as_records(load_jsonl(args.blind), load_jsonl(args.labels)))
        return 0
    if args.cmd == "disagree":
        items = disagreements_between(load_jsonl(args.blind), load_jsonl(args.a), load_jsonl(args.b), args.seed)
        _write_jsonl(args.out, items)
        print(f"wrote {len(items)} disagreements to {args.out}")
        return 0
    if args.cmd == "settle":
        blind_rows = load_jsonl(args.blind)
        records = settle(blind_rows, load_jsonl(args.a), load_jsonl(args.b), load_jsonl(args.decisions), args.seed)
        from .corpus import check_guide

        problems = [p for r in records for p in check_guide(r)]
        for p in problems[:50]:
            print(p)
        if problems:
            print(f"{len(problems)} problem(s); nothing written")
            return 1
        _write_jsonl(args.out, records)
        print(f"wrote {len(records)} settled emails to {args.out}")
        return 0
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
