"""The evaluation scorer, vendored from shared/eval/score.py so that `pitchlint evaluate` runs
without the shared folder. tests/test_scoring.py checks it agrees with the shared copy."""
import argparse
import json
import sys

FOCUS_EMAIL = ("me_talk", "customer_centric")
FOCUS_SENT = ("me_talk", "customer_centric", "other")
TONES = ("desperate", "threatening", "neutral")
FLAGS = ("desperate", "threatening")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def f1_table(pairs, labels):
    """Per-label precision/recall/F1 and macro-F1 from (gold, pred) pairs."""
    out = {}
    for lab in labels:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        fp = sum(1 for g, p in pairs if g != lab and p == lab)
        fn = sum(1 for g, p in pairs if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[lab] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                    "support": sum(1 for g, _ in pairs if g == lab)}
    present = [lab for lab in labels if out[lab]["support"]]
    macro = sum(out[lab]["f1"] for lab in present) / len(present) if present else 0.0
    acc = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    return {"macro_f1": round(macro, 4), "accuracy": round(acc, 4), "n": len(pairs), "labels": out}


def label_of(obj, default):
    if isinstance(obj, dict):
        return obj.get("label", default)
    return obj if isinstance(obj, str) else default


def primary(flags):
    if "threatening" in flags:
        return "threatening"
    if "desperate" in flags:
        return "desperate"
    return "neutral"


def align(gold_sents, pred_sents, text_len):
    """For each gold sentence, the predicted sentence with the largest overlap (or None)."""
    spans = []
    for p in pred_sents:
        try:
            s, e = int(p["start"]), int(p["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= s < e <= text_len:
            spans.append((s, e, p))
    matched = []
    for g in gold_sents:
        best, best_ov = None, 0
        for s, e, p in spans:
            ov = min(e, g["end"]) - max(s, g["start"])
            if ov > best_ov:
                best, best_ov = p, ov
        matched.append(best)
    return matched


def score(gold, preds):
    by_id = {p.get("id"): p for p in preds}
    email_focus, email_primary, email_flags = [], [], {f: [] for f in FLAGS}
    sent_focus, sent_tone, highlight = [], [], []
    missing = 0
    for g in gold:
        p = by_id.get(g["id"])
        if p is None:
            missing += 1
            p = {}
        pf = label_of(p.get("focus"), "missing")
        email_focus.append((g["focus"], pf))
        tone = p.get("tone") or {}
        pflags = tone.get("flags", []) if isinstance(tone, dict) else []
        email_primary.append((primary(g["tone"]), primary(pflags)))
        for f in FLAGS:
            email_flags[f].append((f in g["tone"], f in pflags))
        matched = align(g["sentences"], p.get("sentences") or [], len(g["text"]))
        for gs, ps in zip(g["sentences"], matched):
            pfo = label_of(ps.get("focus"), "other") if ps else "other"
            pto = label_of(ps.get("tone"), "neutral") if ps else "neutral"
            sent_focus.append((gs["focus"], pfo))
            sent_tone.append((gs["tone"], pto))
            gh = gs["focus"] == "me_talk" or gs["tone"] != "neutral"
            ph = pfo == "me_talk" or pto != "neutral"
            highlight.append(("flag" if gh else "ok", "flag" if ph else "ok"))
    flag_f1 = {}
    for f in FLAGS:
        pairs = [("yes" if g else "no", "yes" if p else "no") for g, p in email_flags[f]]
        flag_f1[f] = f1_table(pairs, ("yes",))["labels"]["yes"]
    res = {
        "emails": len(gold),
        "missing": missing,
        "email_focus": f1_table(email_focus, FOCUS_EMAIL),
        "email_tone_primary": f1_table(email_primary, TONES),
        "email_tone_flags": flag_f1,
        "sentence_focus": f1_table(sent_focus, FOCUS_SENT),
        "sentence_tone": f1_table(sent_tone, TONES),
        "highlight": f1_table(highlight, ("flag",))["labels"]["flag"],
    }
    res["sentence_tone_flags"] = {f: res["sentence_tone"]["labels"][f] for f in FLAGS}
    res["headline"] = {
        "email_focus_macro_f1": res["email_focus"]["macro_f1"],
        "email_tone_macro_f1": res["email_tone_primary"]["macro_f1"],
        "sentence_focus_macro_f1": res["sentence_focus"]["macro_f1"],
        "sentence_tone_macro_f1": res["sentence_tone"]["macro_f1"],
        "highlight_f1": res["highlight"]["f1"],
    }
    return res


def table_lines(res: dict) -> list[str]:
    """The scorer's table: macro-F1 per axis and level, precision and recall of each flag at
    the email and the sentence level, the highlight, and the headline."""
    lines = [f"emails: {res['emails']}  missing predictions: {res['missing']}"]
    for key in ("email_focus", "email_tone_primary", "sentence_focus", "sentence_tone"):
        t = res[key]
        per = "  ".join(f"{k}={v['f1']:.3f}" for k, v in t["labels"].items())
        lines.append(f"{key:20s} macro-F1 {t['macro_f1']:.3f}  acc {t['accuracy']:.3f}  ({per})")
    for level in ("email", "sentence"):
        for f, v in res[f"{level}_tone_flags"].items():
            lines.append(f"{level + ' flag ' + f:25s} P {v['precision']:.3f}  R {v['recall']:.3f}  "
                         f"F1 {v['f1']:.3f}  (n {v['support']})")
    h = res["highlight"]
    lines.append(f"{'highlight':25s} P {h['precision']:.3f}  R {h['recall']:.3f}  F1 {h['f1']:.3f}")
    lines.append("headline " + " ".join(f"{k}={v:.3f}" for k, v in res["headline"].items()))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold")
    ap.add_argument("pred")
    ap.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = ap.parse_args(argv)
    res = score(load(args.gold), load(args.pred))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for line in table_lines(res):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
