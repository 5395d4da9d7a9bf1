"""List every corpus sentence that might fall under the GUIDE's recent rules.

The rules (shared/labels/GUIDE.md, focus hard cases):
  thanks-closing      thank-you lines, closing pleasantries and plain reply requests are
                      other/neutral (three exceptions);
  follow-up           a bare follow-up or bump is other; restating the pitch makes it me_talk,
                      naming the reader's request makes it customer_centric;
  pressure-not-other  apologies, pleas, counting emails, pressing deadlines are never other;
  concrete-benefit    what the reader concretely gets is customer_centric, a generic promise
                      is me_talk.

The net is cast wide on purpose: a candidate is only a sentence to read, in the context of its
email, not a sentence to change. Standard library only.

    python models/data/relabel/find_candidates.py [--raw DIR] [--slices s1,...,s10]
        [--kind thanks-closing,...] [--out FILE.jsonl] [--context N] [--summary]

Each output line (JSON) is one candidate:
    {"id", "n", "file", "line", "kinds": [...], "sentence", "focus", "tone",
     "email": {"source", "focus", "tone", "subject"}, "before": [...], "after": [...]}
--summary prints counts by kind and by current label instead.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RAW_DIR = ROOT / "models" / "data" / "raw"
DEFAULT_SLICES = [f"s{i}" for i in range(1, 11)]

# Each kind: patterns searched anywhere in the sentence, case-insensitive.
PATTERNS = {
    "thanks-closing": [
        r"\bthank", r"\bthanks?\b", r"\bthx\b", r"\bthnx\b", r"\bty\b", r"\btysm\b",
        r"\bappreciat", r"\bgrateful\b", r"\bgratitude\b", r"\bcheers\b",
        r"\blook(?:ing)?\s+forward", r"\bforward to\b", r"\bhear(?:ing)?\s+(?:from|back)\b",
        r"\bhear\s+(?:your|what)\b", r"\bawait", r"\bwait(?:ing)?\s+(?:for|on)\s+(?:your|ur|a)\b",
        r"\brepl(?:y|ies|ied)\b", r"\brespon[sd]", r"\brevert\b", r"\bget\s+back\s+to\b",
        r"\bwrite\s+back\b", r"\blet\s+(?:me|us)\s+know\b", r"\blmk\b", r"\bthoughts\s*\?",
        r"\bhope\s+to\b", r"\bhoping\s+to\b", r"\bkeen\s+to\s+hear\b",
        r"\bhave\s+a\s+(?:great|good|nice|wonderful|lovely|fantastic|blessed|productive|happy|super)\b",
        r"\benjoy\s+(?:your|the)\b", r"\b(?:talk|speak|chat)\s+soon\b", r"\bsoon\b",
        r"\bregards\b", r"\bbest\s+wishes\b", r"\bwarm(?:est)?\b", r"\bsincerely\b",
        r"\bfeel\s+free\b", r"\bdon'?t\s+hesitate\b", r"\bhappy\s+to\s+(?:help|answer)\b",
        r"\bany\s+questions\b", r"\bat\s+your\s+(?:earliest|convenience)\b",
        r"\bwelcome\b", r"\bpleasure\b", r"\bgood\s+(?:day|luck|weekend)\b",
        r"\btake\s+care\b", r"\bstay\s+(?:safe|well)\b", r"\bhope\s+(?:this|you|all|your)\b",
        r"\bdrop\s+me\s+a\s+(?:line|note)\b", r"\bgive\s+me\s+a\s+(?:shout|call|ring)\b",
        r"\bhit\s+me\s+up\b", r"\b(?:get|be)\s+in\s+touch\b", r"\bcontact\s+(?:me|us)\b",
        r"\breach\s+out\b", r"\bwould\s+love\s+to\s+hear\b", r"\bkeen\s+to\s+(?:hear|know)\b",
        r"\bwhat\s+do\s+you\s+think\b", r"\byour\s+(?:thoughts|feedback|views)\b", r"\bspeak\s+(?:then|later)\b",
        r"\bcatch\s+up\s+soon\b", r"\bsee\s+you\b",
    ],
    "follow-up": [
        r"\bfollow(?:ing)?[\s-]*up\b", r"\bfollowed\s+up\b", r"\bcircl(?:e|ing)\s+back\b",
        r"\bcheck(?:ing)?\s+in\b", r"\bchecked\s+in\b", r"\btouch(?:ing)?\s+base\b",
        r"\bbump", r"\bany\s+(?:update|news|word|progress|feedback|thoughts)\b",
        r"\bdid\s+you\s+(?:see|get|receive|read|have|manage|happen|catch)\b",
        r"\bhad\s+a\s+chance\b", r"\bhave\s+a\s+chance\b", r"\bget\s+a\s+chance\b",
        r"\b(?:my|our)\s+(?:last|previous|earlier|prior|first|second|third|below|original)\b",
        r"\bprevious\s+(?:email|mail|message|note)", r"\bemail\s+below\b", r"\bbelow\b",
        r"\breach(?:ing)?\s+out\s+again\b", r"\bone\s+more\s+(?:time|try)\b", r"\blast\s+(?:try|time|attempt|chance)\b",
        r"\bping", r"\bresurfac", r"\btop\s+of\s+(?:your|the)\s+inbox\b", r"\bburied\b",
        r"\bnot\s+sure\s+(?:you|if\s+you)\s+(?:saw|got|received)\b", r"\bremind", r"\bnudg",
        r"\bjust\s+wanted\s+to\b", r"\bagain\b", r"\bstill\s+(?:interested|keen|open|looking)\b",
        r"\bclos(?:e|ing)\s+(?:the\s+loop|your\s+file|out)\b", r"\bhaven'?t\s+heard\b",
        r"\bno\s+(?:reply|response|answer)\b", r"\bchase|chasing\b",
    ],
    "pressure-not-other": [
        r"\bsorry\b", r"\bapolog", r"\bplease\b", r"\bpls\b", r"\bplz\b", r"\bkindly\b",
        r"\bbeg", r"\bdesperate", r"\bjust\s+need\b", r"\breally\s+need\b", r"\bbother",
        r"\bpester", r"\bpest\b", r"\bannoy", r"\bintrud", r"\bforgive\b", r"\bpardon\b",
        r"\bdeadline\b", r"\burgent", r"\basap\b", r"\btoday\b", r"\btomorrow\b", r"\bfriday\b",
        r"\bquota\b", r"\bmy\s+(?:boss|manager)\b", r"\bfavou?r\b", r"!{2,}", r"\?{2,}",
    ],
    "concrete-benefit": [
        r"\bwe'?d\b", r"\bwe\s+would\b", r"\bwe\s+will\b", r"\bwe'll\b", r"\bwe\s+can\b",
        r"\bi'?ll\b", r"\bi\s+will\b", r"\bi'?d\b", r"\bi\s+would\b", r"\bi\s+can\b",
        r"\byou'?d\s+(?:get|receive|have|see|save|be|keep)\b",
        r"\byou\s+(?:will|would|'?ll)\s+(?:get|receive|have|see|save|be|keep)\b",
        r"\byou'll\b", r"\byou\s+get\b", r"\binclud", r"\bcomes?\s+with\b", r"\bfree\b",
        r"\bno\s+(?:cost|charge)\b", r"\bsav(?:e|es|ing)\b", r"\bcut\b", r"\bsend\s+you\b",
        r"\bgive\s+you\b", r"\bshow\s+you\b", r"\battached\b", r"\bhere'?s\b", r"\bhere\s+is\b",
    ],
}
COMPILED = {k: [re.compile(p, re.I) for p in ps] for k, ps in PATTERNS.items()}


def kinds_of(text: str) -> list[str]:
    return [k for k, ps in COMPILED.items() if any(p.search(text) for p in ps)]


def candidates(raw_dir: Path = RAW_DIR, slices=DEFAULT_SLICES, context: int = 2):
    for s in slices:
        for path in sorted((raw_dir / s).glob("batch-*.jsonl")):
            with open(path, encoding="utf-8") as f:
                for line_no, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    email = json.loads(line)
                    parts = email["parts"]
                    for n, (text, focus, tone, _sep) in enumerate(parts):
                        kinds = kinds_of(text)
                        if not kinds:
                            continue
                        yield {
                            "id": email["id"], "n": n,
                            "file": str(path.relative_to(raw_dir)), "line": line_no,
                            "kinds": kinds, "sentence": text, "focus": focus, "tone": tone,
                            "email": {"source": email["source"], "focus": email["focus"],
                                      "tone": email["tone"], "subject": email["subject"]},
                            "before": [p[:3] for p in parts[max(0, n - context):n]],
                            "after": [p[:3] for p in parts[n + 1:n + 1 + context]],
                        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", default=str(RAW_DIR))
    ap.add_argument("--slices", default=",".join(DEFAULT_SLICES))
    ap.add_argument("--kind", default="", help="comma-separated kinds to keep (default: all)")
    ap.add_argument("--out", default="-")
    ap.add_argument("--context", type=int, default=2, help="sentences shown either side")
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args(argv)
    want = set(filter(None, args.kind.split(",")))
    rows = [c for c in candidates(Path(args.raw), args.slices.split(","), args.context)
            if not want or want & set(c["kinds"])]
    if args.summary:
        by_kind = collections.Counter()
        for c in rows:
            for k in c["kinds"]:
                by_kind[k, c["focus"], c["tone"]] += 1
        print(f"{len(rows)} candidate sentences in {len({c['id'] for c in rows})} emails")
        for (k, f, t), n in sorted(by_kind.items()):
            print(f"  {k:20s} {f:17s} {t:12s} {n}")
        return 0
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    for c in rows:
        out.write(json.dumps(c, ensure_ascii=False) + "\n")
    if out is not sys.stdout:
        out.close()
        print(f"wrote {len(rows)} candidates to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
