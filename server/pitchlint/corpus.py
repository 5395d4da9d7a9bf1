"""The training corpus: the writers' raw format, its checks, and the build into GUIDE format.

Writers never type character offsets. They write each email as a list of parts, one part a
sentence, with its two labels and the white space that follows it:

    {"id": "w3-0042", "source": "follow_up", "industry": "logistics", "style": "terse",
     "subject": "Re: quote", "focus": "me_talk", "tone": ["desperate"],
     "parts": [["Hi Dana,", "other", "neutral", "\\n\\n"],
               ["Sorry to chase again.", "me_talk", "desperate", ""]]}

`build` joins the parts into `text` and computes the offsets, so they are exact by
construction, then checks the whole corpus (format, label balance, near duplicates, and
overlap with the development set). Standard library only: writers run the checks anywhere.

    python -m pitchlint.corpus check FILE...        # check raw batches while writing
    python -m pitchlint.corpus build [--raw DIR] [--out FILE]
    python -m pitchlint.corpus stats FILE           # counts and diversity of a GUIDE file
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

from .labels import EMAIL_FOCUS, FLAGS, SENTENCE_FOCUS, SOURCES, TONES

ROOT = Path(__file__).resolve().parents[2]
RAW_DIR = ROOT / "models" / "data" / "raw"
CORRECTIONS_FILE = ROOT / "models" / "data" / "agreement" / "adjudicated.jsonl"
CORPUS_FILE = ROOT / "models" / "data" / "corpus.jsonl"
SEPARATORS = {" ", "\n", "\n\n", "\n\n\n"}

# Slices written from real mail's traits (round 2: models/data/REAL_MAIL.md, DATASHEET.md), and
# the round-1 slices in the same style (incoming pitches as recipients see them, what people
# post): training weighs the first more, and the flag thresholds must be precise on both.
REAL_MAIL_SLICES = frozenset(f"s{n}" for n in range(11, 20))
REAL_STYLE_SLICES = REAL_MAIL_SLICES | {"s4", "s9"}

# A corpus build fails when two emails share this much of their word 5-grams.
NEAR_DUPLICATE_JACCARD = 0.5
# ...or when one pitch sentence (not greetings, sign-offs, disclaimers) of six words or more
# appears more often than this.
MAX_SENTENCE_REPEATS = 3
SHORT_EMAIL_WORDS = 20


class CorpusError(ValueError):
    pass


# GUIDE, focus hard cases: "Thank-you lines and closing pleasantries are other, neutral: thanks for
# what the reader sent or asked, for their time, and plain requests for a reply". The check is
# deliberately conservative: only a sentence that is, as a whole, one of these plain closings (an
# optional quote marker in front; an optional name, "!" or emoji at the end) is caught. The GUIDE's
# three exceptions (a thank-you that restates the reader's need, one centred on the sender's company
# or product, one that pleads or apologises) always carry more words, so they never match.
_REPLY = r"(?:kind |early |prompt |positive |valuable )?(?:reply|response|answer|feedback)"
PLAIN_CLOSINGS = [re.compile(p, re.I) for p in (
    # "I look forward to hearing from you." / "Looking forward to your reply!" / "Looking forward your reply soon!"
    r"(?:(?:i|we)(?: am| are|'m|'re)? )?look(?:ing)? forward (?:to |for )?"
    rf"(?:hearing (?:from you|back(?: from you)?)|your {_REPLY})(?: soon)?",
    # "Awaiting your (kind) response." / "Awaiting for your reply."
    rf"(?:(?:i am|we are|i'm|we're) )?awaiting (?:for )?your {_REPLY}",
    # "Waiting for your kind reply."
    rf"(?:(?:i am|we are|i'm|we're) )?waiting (?:for )?your {_REPLY}",
    # "Hope to hear from you soon." / "Hope to hear back soon!"
    r"(?:(?:i|we) )?hope to hear (?:from you|back)(?: soon)?",
    # "Thanks in advance." / "Thank you for your time." / "Many thanks for your time and consideration."
    r"(?:thanks|thank you|many thanks)(?: so much| very much)? in advance",
    r"(?:thanks|thank you|many thanks)(?: so much| very much)?(?: again)? for your "
    r"(?:time|consideration|time and consideration)",
    # "Have a great day!" / "Have a nice weekend."
    r"have a (?:great|good|nice|lovely|wonderful) (?:day|week|weekend|evening)",
    # "Talk soon!"
    r"(?:talk|speak) soon",
)]
_CLOSING_LEAD = re.compile(r"^(?:>+\s*)+")
_CLOSING_TAIL = re.compile(r"(?:,?\s+[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)?)?[\s.!,]*"
                           r"[\u2600-\u27bf\U0001f300-\U0001faff\ufe0f\s]*$")


def plain_closing(text: str) -> bool:
    """Whether the whole sentence is a plain closing or reply request (other/neutral by the GUIDE)."""
    core = _CLOSING_LEAD.sub("", text.strip())
    core = _CLOSING_TAIL.sub("", core)
    return any(p.fullmatch(core) for p in PLAIN_CLOSINGS)


def _err(where, msg):
    return f"{where}: {msg}"


def check_raw(email: dict, where: str = "") -> list[str]:
    """Every problem with one raw email, as readable strings (empty when it is fine)."""
    errors = []
    where = where or str(email.get("id", "?"))
    for key in ("id", "source", "industry", "subject", "focus", "tone", "parts"):
        if key not in email:
            errors.append(_err(where, f"missing field {key!r}"))
    if errors:
        return errors
    if not isinstance(email["id"], str) or not email["id"]:
        errors.append(_err(where, "id must be a non-empty string"))
    if email["source"] not in SOURCES:
        errors.append(_err(where, f"source {email['source']!r} is not one of {SOURCES}"))
    if email["focus"] not in EMAIL_FOCUS:
        errors.append(_err(where, f"email focus {email['focus']!r} is not one of {EMAIL_FOCUS}"))
    tone = email["tone"]
    if not isinstance(tone, list) or any(t not in FLAGS for t in tone) or len(set(tone)) != len(tone):
        errors.append(_err(where, f"email tone {tone!r} must be a list drawn from {FLAGS}"))
        tone = []
    parts = email["parts"]
    if not isinstance(parts, list) or not parts:
        return errors + [_err(where, "parts must be a non-empty list")]
    seen_tones = set()
    for i, part in enumerate(parts):
        pw = f"{where} part {i}"
        if not (isinstance(part, list) and len(part) == 4 and all(isinstance(x, str) for x in part)):
            errors.append(_err(pw, f"must be [text, focus, tone, separator], got {part!r}"))
            continue
        text, focus, ptone, sep = part
        if not text.strip():
            errors.append(_err(pw, "empty sentence"))
        elif text != text.strip():
            errors.append(_err(pw, f"sentence has leading/trailing white space: {text!r}"))
        if "\n" in text or "\r" in text:
            errors.append(_err(pw, f"a sentence may not contain a line break: {text!r}"))
        if focus not in SENTENCE_FOCUS:
            errors.append(_err(pw, f"focus {focus!r} is not one of {SENTENCE_FOCUS}"))
        if ptone not in TONES:
            errors.append(_err(pw, f"tone {ptone!r} is not one of {TONES}"))
        if ptone != "neutral" and focus == "other":
            errors.append(_err(pw, f"pressure is never 'other' (GUIDE): {text!r} is {ptone}"))
        if (focus, ptone) != ("other", "neutral") and plain_closing(text):
            errors.append(_err(pw, f"{text!r} is a plain closing or reply request, which is other/neutral "
                                   f"(GUIDE thank-you and closing rule), not {focus}/{ptone}"))
        last = i == len(parts) - 1
        if last and sep != "":
            errors.append(_err(pw, "the last part's separator must be \"\""))
        if not last and sep not in SEPARATORS:
            errors.append(_err(pw, f"separator {sep!r} must be one of {sorted(SEPARATORS)}"))
        if ptone != "neutral":
            seen_tones.add(ptone)
    if set(tone) != seen_tones:
        errors.append(_err(where, f"email tone {sorted(tone)} must list exactly the sentence tones "
                                  f"present {sorted(seen_tones)}"))
    return errors


def assemble(email: dict) -> dict:
    """A raw email as a GUIDE-format record with exact offsets."""
    text, sentences = [], []
    pos = 0
    for part_text, focus, tone, sep in email["parts"]:
        sentences.append({"start": pos, "end": pos + len(part_text), "focus": focus, "tone": tone})
        text.append(part_text)
        text.append(sep)
        pos += len(part_text) + len(sep)
    rec = {"id": email["id"], "source": email["source"], "subject": email["subject"],
           "text": "".join(text), "focus": email["focus"],
           "tone": [t for t in FLAGS if t in email["tone"]], "sentences": sentences}
    for key in ("industry", "style"):
        if key in email:
            rec[key] = email[key]
    return rec


def check_guide(rec: dict) -> list[str]:
    """Format problems with one GUIDE-format record."""
    where = str(rec.get("id", "?"))
    errors = []
    text = rec.get("text")
    if not isinstance(text, str):
        return [_err(where, "text must be a string")]
    if rec.get("focus") not in EMAIL_FOCUS:
        errors.append(_err(where, f"focus {rec.get('focus')!r}"))
    if not isinstance(rec.get("tone"), list) or any(t not in FLAGS for t in rec["tone"]):
        errors.append(_err(where, f"tone {rec.get('tone')!r}"))
    prev = 0
    for i, s in enumerate(rec.get("sentences") or []):
        if not (0 <= s["start"] < s["end"] <= len(text)):
            errors.append(_err(where, f"bad span {s['start']}-{s['end']}"))
            continue
        if s["start"] < prev:
            errors.append(_err(where, f"sentence {i} starts at {s['start']}, before sentence "
                                      f"{i - 1} ends ({prev})"))
        elif s["tone"] in FLAGS and s["focus"] == "other":
            errors.append(_err(where, f"sentence {i} is other/{s['tone']}, but pressure is never "
                                      f"'other' (GUIDE): {text[s['start']:s['end']]!r}"))
        if text[prev:s["start"]].strip():
            errors.append(_err(where, f"text between sentences is not white space: "
                                      f"{text[prev:s['start']]!r}"))
        if s["focus"] not in SENTENCE_FOCUS or s["tone"] not in TONES:
            errors.append(_err(where, f"bad sentence labels {s['focus']}/{s['tone']}"))
        prev = s["end"]
    if text[prev:].strip():
        errors.append(_err(where, f"text after the last sentence: {text[prev:]!r}"))
    tones = rec.get("tone")
    if isinstance(tones, list) and all(t in FLAGS for t in tones):
        present = {s["tone"] for s in rec.get("sentences") or [] if s.get("tone") in FLAGS}
        if set(tones) != present or len(set(tones)) != len(tones):
            errors.append(_err(where, f"email tone {tones} must list exactly the sentence tones "
                                      f"present {sorted(present)} (GUIDE)"))
    return errors


def load_jsonl(path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise CorpusError(f"{path}:{n}: not valid JSON ({e})") from None
    return rows


# --- diversity and duplicates ------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, n: int = 5) -> set[tuple]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}


def near_duplicates(texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD,
                    others: list[str] | None = None) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of texts sharing at least `threshold` of their word 5-grams.

    With `others`, pairs are (index in texts, index in others, jaccard) across the two lists.
    """
    sh = [shingles(t) for t in texts]
    other_sh = [shingles(t) for t in others] if others is not None else sh
    index = collections.defaultdict(list)
    for j, s in enumerate(other_sh):
        for g in s:
            index[g].append(j)
    pairs = []
    for i, s in enumerate(sh):
        if not s:
            continue
        shared = collections.Counter()
        for g in s:
            for j in index[g]:
                if others is not None or j > i:
                    shared[j] += 1
        for j, k in shared.items():
            jac = k / (len(s) + len(other_sh[j]) - k)
            if jac >= threshold:
                pairs.append((i, j, round(jac, 3)))
    return pairs


def diversity(records: list[dict]) -> dict:
    """Shares of distinct sentence openings (first three words) and of distinct word 3-grams."""
    openings, trigrams = [], []
    for r in records:
        for s in r["sentences"]:
            w = words(r["text"][s["start"]:s["end"]])
            if len(w) >= 3:
                openings.append(tuple(w[:3]))
            trigrams.extend(tuple(w[i:i + 3]) for i in range(len(w) - 2))
    return {
        "sentence_openings": len(openings),
        "distinct_openings_share": round(len(set(openings)) / max(1, len(openings)), 3),
        "trigrams": len(trigrams),
        "distinct_trigrams_share": round(len(set(trigrams)) / max(1, len(trigrams)), 3),
    }


def repeated_sentences(records: list[dict], min_words: int = 6) -> list[tuple[str, int]]:
    c = collections.Counter()
    for r in records:
        for s in r["sentences"]:
            if s["focus"] == "other" and s["tone"] == "neutral":
                continue
            t = r["text"][s["start"]:s["end"]]
            if len(words(t)) >= min_words:
                c[" ".join(words(t))] += 1
    return [(t, n) for t, n in c.most_common() if n > MAX_SENTENCE_REPEATS]


def stats(records: list[dict]) -> dict:
    sent_focus, sent_tone = collections.Counter(), collections.Counter()
    email_focus, email_tone, source, length = (collections.Counter() for _ in range(4))
    industries = collections.Counter()
    for r in records:
        email_focus[r["focus"]] += 1
        email_tone["+".join(r["tone"]) or "neutral"] += 1
        source[r["source"]] += 1
        industries[r.get("industry", "?")] += 1
        n = len(r["sentences"])
        length["1-3" if n <= 3 else "4-7" if n <= 7 else "8-15" if n <= 15 else "16-40" if n <= 40 else "41+"] += 1
        for s in r["sentences"]:
            sent_focus[s["focus"]] += 1
            sent_tone[s["tone"]] += 1
    return {"emails": len(records), "sentences": sum(sent_focus.values()),
            "sentence_focus": dict(sent_focus), "sentence_tone": dict(sent_tone),
            "email_focus": dict(email_focus), "email_tone": dict(email_tone),
            "source": dict(source), "sentences_per_email": dict(length),
            "industries": len(industries), **diversity(records)}


# --- commands ------------------------------------------------------------------------------

def cmd_check(paths) -> int:
    bad = 0
    ids = set()
    for p in paths:
        try:
            rows = load_jsonl(p)
        except CorpusError as e:
            print(e)
            bad += 1
            continue
        for n, email in enumerate(rows, 1):
            errs = check_raw(email, f"{p}:{n} ({email.get('id', '?')})")
            if email.get("id") in ids:
                errs.append(f"{p}:{n}: duplicate id {email.get('id')!r}")
            ids.add(email.get("id"))
            for e in errs:
                print(e)
            bad += bool(errs)
        print(f"{p}: {len(rows)} emails, {sum(len(e.get('parts', [])) for e in rows)} sentences")
    print("OK" if not bad else f"{bad} problem(s)")
    return 1 if bad else 0


def apply_corrections(email: dict, corrections: list[dict]) -> dict:
    """Settled disagreements from the second labelling, applied to a raw email.

    A correction is {"id", "n": sentence index, "focus", "tone"} or {"id", "email_focus"}; the
    email's tone list is recomputed from its sentences afterwards.
    """
    email = json.loads(json.dumps(email))
    for c in corrections:
        if "n" in c:
            n = c["n"]
            want = c.get("sentence")
            if want is not None and (n >= len(email["parts"]) or email["parts"][n][0] != want):
                # The writer edited the email after it was sampled: find the sentence by text.
                same = [i for i, p in enumerate(email["parts"]) if p[0] == want]
                if len(same) != 1:
                    raise CorpusError(f"correction for {c['id']} sentence {n} no longer matches the text")
                n = same[0]
            part = email["parts"][n]
            part[1], part[2] = c["focus"], c["tone"]
        if "email_focus" in c:
            email["focus"] = c["email_focus"]
    email["tone"] = [t for t in FLAGS if any(p[2] == t for p in email["parts"])]
    return email


def load_corrections(path: Path = CORRECTIONS_FILE) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = collections.defaultdict(list)
    if Path(path).exists():
        for c in load_jsonl(path):
            if c.get("decision", "change") == "change":
                out[c["id"]].append(c)
    return out


def build(raw_dir: Path = RAW_DIR, dev_path: Path | None = None,
          corrections_path: Path = CORRECTIONS_FILE) -> tuple[list[dict], list[str]]:
    """Assemble every raw batch; return (records, problems). Any problem fails the build."""
    problems, records, ids = [], [], set()
    corrections = load_corrections(corrections_path)
    for path in sorted(raw_dir.glob("*/batch-*.jsonl")):
        for n, email in enumerate(load_jsonl(path), 1):
            if email.get("id") in corrections:
                try:
                    email = apply_corrections(email, corrections[email["id"]])
                except CorpusError as e:
                    problems.append(str(e))
            errs = check_raw(email, f"{path.relative_to(raw_dir)}:{n}")
            if email.get("id") in ids:
                errs.append(f"{path}:{n}: duplicate id {email.get('id')!r}")
            ids.add(email.get("id"))
            if errs:
                problems.extend(errs)
                continue
            rec = assemble(email)
            problems.extend(check_guide(rec))
            records.append(rec)
    texts = [r["text"] for r in records]
    # Long emails: shared 5-grams. Short ones ("Just bumping this.") legitimately look alike,
    # so only an exact repeat of their words fails.
    long_idx = [i for i, t in enumerate(texts) if len(words(t)) >= SHORT_EMAIL_WORDS]
    for i, j, jac in near_duplicates([texts[k] for k in long_idx]):
        a, b = records[long_idx[i]], records[long_idx[j]]
        problems.append(f"near duplicate: {a['id']} and {b['id']} share {jac:.0%} of their 5-grams")
    seen_short = {}
    for r in records:
        w = words(r["text"])
        if len(w) < SHORT_EMAIL_WORDS:
            key = " ".join(w)
            if key in seen_short:
                problems.append(f"duplicate short email: {seen_short[key]} and {r['id']}")
            seen_short.setdefault(key, r["id"])
    for text, n in repeated_sentences(records):
        problems.append(f"sentence repeated {n} times: {text!r}")
    if dev_path is not None and Path(dev_path).exists():
        dev = load_jsonl(dev_path)
        for i, j, jac in near_duplicates(texts, threshold=0.2, others=[d["text"] for d in dev]):
            problems.append(f"{records[i]['id']} overlaps dev email {dev[j]['id']} ({jac:.0%})")
    return records, problems


REAL_STYLE_DEV_FILE = ROOT / "models" / "data" / "real_style_dev.jsonl"


def drop_paraphrases(records: list[dict], held_out_paths) -> tuple[list[dict], dict]:
    """Leave out every email that reads as a paraphrase of a held-out one (needs the model)."""
    from .model.overlap import paraphrases

    if isinstance(held_out_paths, (str, Path)):
        held_out_paths = [held_out_paths]
    held_out = [r for p in held_out_paths for r in load_jsonl(p)]
    flagged = paraphrases(records, held_out)
    return [r for r in records if r["id"] not in flagged], flagged


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pitchlint.corpus", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="check raw batches")
    c.add_argument("files", nargs="+")
    b = sub.add_parser("build", help="assemble raw batches into the GUIDE-format corpus")
    b.add_argument("--raw", default=str(RAW_DIR))
    b.add_argument("--out", default=str(CORPUS_FILE))
    b.add_argument("--dev", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    b.add_argument("--held-out", action="append", default=None,
                   help="another held-out set the corpus must not copy or paraphrase (default: "
                        "models/data/real_style_dev.jsonl)")
    s = sub.add_parser("stats", help="counts and diversity of a GUIDE-format file")
    s.add_argument("file")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        return cmd_check(args.files)
    if args.cmd == "build":
        held_out = [Path(p) for p in (args.held_out or [REAL_STYLE_DEV_FILE])]
        records, problems = build(Path(args.raw), Path(args.dev))
        for path in held_out:
            if path.exists():
                other = load_jsonl(path)
                texts = [r["text"] for r in records]
                for i, j, jac in near_duplicates(texts, threshold=0.2, others=[d["text"] for d in other]):
                    problems.append(f"{records[i]['id']} overlaps held-out email {other[j]['id']} ({jac:.0%})")
        for p in problems[:200]:
            print(p)
        if problems:
            print(f"build failed: {len(problems)} problem(s); nothing written")
            return 1
        sets = [p for p in [Path(args.dev), *held_out] if p.exists()]
        if sets:
            records, dropped = drop_paraphrases(records, sets)
            report = Path(args.out).with_name("left_out.json")
            report.write_text(json.dumps(dropped, indent=1, ensure_ascii=False) + "\n")
            print(f"left out {len(dropped)} emails too close to {', '.join(map(str, sets))} (see {report})")
        with open(args.out, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(json.dumps(stats(records), indent=1))
        print(f"wrote {len(records)} emails to {args.out}")
        return 0
    if args.cmd == "stats":
        print(json.dumps(stats(load_jsonl(args.file)), indent=1))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
