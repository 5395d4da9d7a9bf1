"""Sentence splitting for real email, with quoted history and signatures marked.

Offsets are Python string indices (Unicode code points) into the text as given, and every
span slices back to its sentence: `text[s.start:s.end] == s.text`. The rules follow the way
shared/labels/GUIDE.md data is cut: greetings, sign-offs, signature lines and bullets are
their own sentences; a sentence ends at . ! ? or … before white space, or at a line break.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Line breaks, including the ones that str.splitlines knows and plain text rarely has.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

# . ! ? or an ellipsis, any closing quotes or brackets, then white space.
_BOUNDARY = re.compile(r"(?:[.!?]+|…+)[\"'”’)\]]*(?=[\s\x00-\x1f\x7f])")

# Never end a sentence: titles and "e.g."-style abbreviations before a capitalised word.
_TITLES = {"mr", "mrs", "ms", "mx", "dr", "prof", "st", "vs", "v", "e.g", "i.e", "eg", "ie", "cf",
           "attn", "approx", "appr", "viz", "resp", "p.s", "ps", "n.b", "nb", "re", "fwd", "pvt"}
# End a sentence only before a capitalised word, never before a number: "No. 5", "Jan. 12".
_NUMBERED = {"no", "nos", "nr", "vol", "fig", "pp", "ref", "ext", "tel", "jan", "feb", "mar",
             "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "ca",
             "min", "max", "p", "pg", "art", "sec", "para", "ch"}
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening|day)|morning|"
    r"afternoon|evening|yo|howdy|hola|bonjour|ciao)\b[^,.!?:;\n]{0,40}[,!:]\s+(?=[A-Z])",
    re.IGNORECASE)
# Blanks inside a line between one sentence and the next (no line breaks: they end lines).
_INLINE_BLANKS = re.compile("[ \t\x00-\x08\x0e-\x1b\x1f\x7f\xa0]*")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})\.$")
# "... wrote: > quoted" and "--- Forwarded message --- From: ..." on one line.
_INLINE_CUTS = re.compile(r"(?<=\bwrote:)\s+(?=>|\S)|(?<=-{3})\s+(?=\*?(?:from|date|sent|to|subject):)",
                          re.IGNORECASE)

_SIGN_OFF = re.compile(
    r"^(?i:best|best regards|kind regards|kindest regards|regards|warm regards|warmest regards|"
    r"warmly|warm wishes|best wishes|all the best|thanks|thank you|thanks so much|thanks again|"
    r"thank you so much|many thanks|thanks in advance|thank you in advance|cheers|sincerely|"
    r"yours sincerely|sincerely yours|yours truly|yours faithfully|respectfully|talk soon|"
    r"speak soon|take care|rgds|br|thx|ty|tia|cordially|with thanks|with gratitude|"
    r"with kind regards|with best regards|greetings|salutations|un saludo|saludos|"
    r"bonne (?:journée|semaine)|mit freundlichen grüßen|ciao|xx|xo|love)"
    # then perhaps a name on the same line: capitalised words ("Best, Owen Pratt, Sales")
    r"\s*[,.!]*(?:\s*[,|\-–—]?\s*[A-Z@][\w.'&@()]*(?:[\s,|\-–—]+[A-Z@][\w.'&@()]*){0,6})?\s*$")
_SIGNATURE_DELIMITER = re.compile(r"^(?:--|—|__+)(?:\s|$)")
_SENT_FROM = re.compile(r"^(?:sent from my|sent from (?:outlook|mail|yahoo)|get outlook for)",
                        re.IGNORECASE)
_ON_WROTE = re.compile(r"^(?:>\s*)*on\b.{4,300}\bwrote:$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(r"^-{2,}\s*original message\s*-{2,}$", re.IGNORECASE)
_FORWARD_MARKER = re.compile(
    r"^(?:-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:|-{2,}\s*forwarded by .*|"
    r"fwd?:\s*-{2,}.*)$", re.IGNORECASE)
_HEADER = re.compile(r"^\*?(?:from|sent|date|to|cc|bcc|subject|reply-to)\*?:\s", re.IGNORECASE)
_PS = re.compile(r"^p\.?\s?p?\.?s\.?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    quoted: bool = False
    signature: bool = False


def _lines(text: str):
    """(start, end) of each line's content, without the line break itself."""
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        yield pos, m.start()
        pos = m.end()
    yield pos, len(text)


def _blank(ch: str) -> bool:
    """White space, a control character or a byte-order mark: never a sentence's edge."""
    o = ord(ch)
    return ch.isspace() or o < 32 or 127 <= o <= 159 or o == 0xFEFF


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return start, end


def _abbreviation_blocks(chunk: str, nxt: str) -> bool:
    """True when the '.' ending `chunk` belongs to an abbreviation and `nxt` continues it."""
    m = re.search(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.$", chunk)
    if not m:
        return False
    word = m.group(1).lower()
    if word in _TITLES:
        return True
    if word in _NUMBERED and nxt[:1].isdigit():
        return True
    return False


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or 0x1F000 <= ord(ch) <= 0x1FAFF


def split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside one line."""
    cuts = set()
    line = text[start:end]
    g = _GREETING.match(line)
    if g:
        cuts.add(start + g.end())
    for m in _INLINE_CUTS.finditer(line):
        cuts.add(start + m.end())
    for m in _BOUNDARY.finditer(line):
        cut = start + m.end()
        # Only the next visible character and a bounded stretch before the dot are looked at,
        # so a line of thousands of sentences costs time in proportion to its length.
        at = _INLINE_BLANKS.match(text, cut, end).end()
        if at >= end:
            continue
        nxt = text[at]
        punct = m.group(0)
        if punct.startswith(".") and not punct.startswith(".."):
            dot = start + m.start() + 1
            if nxt.islower() or _abbreviation_blocks(text[max(start, dot - 64):dot], nxt):
                continue
            if dot - start <= 8 and _LIST_MARKER.match(text[start:dot]):  # "1. Faster", "a. Pricing"
                continue
        cuts.add(cut)
    # Bullets run together on one line: "• one • two"
    for m in re.finditer(r"(?<=\S)\s+(?=[•●▪◦‣]\s)", line):
        cuts.add(start + m.end())
    # An emoji then a capitalised word: "launched v3 🚀🚀 It's the slickest..."
    for m in re.finditer(r"(?<=\S)\s+(?=[A-Z])", line):
        if _is_symbol(line[m.start() - 1]):
            cuts.add(start + m.end())
    spans, s = [], start
    for cut in sorted(cuts):
        spans.append(_strip_span(text, s, cut))
        s = cut
    spans.append(_strip_span(text, s, end))
    return [(a, b) for a, b in spans if b > a]


def split(text: str) -> list[Sentence]:
    """Every sentence of `text`, in order, with quoted history and signatures marked."""
    spans = []
    for a, b in _lines(text):
        a, b = _strip_span(text, a, b)
        if b > a:
            spans.extend(split_line(text, a, b))
    n = len(spans)
    texts = [text[a:b] for a, b in spans]
    quoted = [False] * n
    signature = [False] * n

    # Quoted history: "> " lines, "On ... wrote:" and "Original Message" blocks to the end,
    # and the header lines of a forwarded message (its body is what the reader reads).
    history_from = n
    i = 0
    while i < n:
        t = texts[i]
        if _ON_WROTE.match(t) or _ORIGINAL_MESSAGE.match(t):
            history_from = i
            break
        if t.lower().startswith(("from:", "*from:*")) and any(
                re.match(r"^\*?(sent|date)\*?:", f, re.I) for f in texts[i + 1:i + 4]):
            history_from = i
            break
        if _FORWARD_MARKER.match(t):
            quoted[i] = True
            i += 1
            while i < n and _HEADER.match(texts[i]):
                quoted[i] = True
                i += 1
            continue
        if t.startswith(">"):
            quoted[i] = True
        i += 1
    for k in range(history_from, n):
        quoted[k] = True

    # Signature: from a sign-off (or "--") to the end of the sender's own text, when what
    # follows is short; "Sent from my phone" anywhere.
    own_after = [0] * (history_from + 1)  # sentences of the sender's own text after k
    for k in range(history_from - 1, -1, -1):
        own_after[k] = own_after[k + 1] + (not quoted[k])
    for k in range(history_from):
        t = texts[k]
        if quoted[k]:
            continue
        if _SENT_FROM.match(t):
            signature[k] = True
            continue
        delimiter = _SIGNATURE_DELIMITER.match(t)
        if delimiter or (own_after[k + 1] <= 8 and _SIGN_OFF.match(t)):
            rest = [m for m in range(k + 1, history_from) if not quoted[m]]
            short = len(rest) <= 8 and all(len(texts[m]) <= 80 for m in rest)
            if delimiter or short:
                for m in [k] + rest:
                    if _PS.match(texts[m]):
                        break
                    signature[m] = True
                break

    return [Sentence(a, b, texts[k], quoted[k], signature[k]) for k, (a, b) in enumerate(spans)]
