"""Only the sender's own words: quoted history and the signature are left out before analysis."""
from __future__ import annotations

import re

from ...text.segment import split

# The segmenter takes "Thanks for the call." for a sign-off; a signature block here must start
# with a short sign-off ("Best,", "Kind regards", "Thanks,"), a "--" line or "Sent from ...".
_SIGNATURE_START = re.compile(r"^(?:--|—|__|sent from\b|get outlook\b)", re.IGNORECASE)
_MAX_SIGN_OFF_WORDS = 3


def _starts_signature(sentence_text: str) -> bool:
    t = sentence_text.strip()
    return bool(_SIGNATURE_START.match(t)) or len(re.findall(r"[^\W\d_]+", t)) <= _MAX_SIGN_OFF_WORDS


def sender_text(text: str) -> str:
    """`text` without quoted replies, forwarded headers and the signature.

    Kept sentences keep the characters between them (line breaks, spacing); where something
    was cut out between two kept sentences, a blank line stands in for it.
    """
    sentences = split(text)
    drop = [s.quoted for s in sentences]
    block: list[int] = []
    for i, s in enumerate(sentences):
        if s.signature and not s.quoted:
            if not block and not _starts_signature(s.text):
                if s.text.lower().startswith(("sent from", "get outlook")):
                    drop[i] = True
                continue
            block.append(i)
        elif block and not s.quoted:
            block = []  # the sender's words go on after it: not a signature
    for i in block:
        drop[i] = True
    out: list[str] = []
    prev_end = None
    dropped_since = False
    for s, d in zip(sentences, drop):
        if d:
            dropped_since = True
            continue
        if prev_end is not None:
            out.append("\n\n" if dropped_since else text[prev_end:s.start])
        out.append(text[s.start:s.end])
        prev_end = s.end
        dropped_since = False
    return "".join(out)
