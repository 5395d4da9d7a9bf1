"""Personal data out before anything is written: addresses, phone numbers, URLs that carry
tokens, and the names in greetings and signatures (wherever those names appear again).

    m = Masker.for_email(sentences)     # learns the names from the greeting and signature
    m.mask("Dana, call me on +44 20 7946 0958")  ->  "[name], call me on [phone]"
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d ().-]{6,}\d(?![\w/])")
# A path segment or value that looks like a token: long, with letters and digits mixed.
_TOKENISH = re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")

_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|hiya|greetings|good\s+(?:morning|afternoon|evening|day)|"
    r"morning|afternoon|evening|yo|howdy|salut|bonjour|hallo|hola|ciao|namaste)\b[\s,]*"
    r"(?:(?:mr|mrs|ms|miss|dr|prof|sir|madam)\.?\s+)?"
    r"(?P<names>(?:[^\W\d_][\w'’-]*)(?:\s+[^\W\d_][\w'’-]*){0,3})?\s*(?:[,!:.—-]|$)",
    re.IGNORECASE)
_NOT_NAMES = {"there", "all", "team", "everyone", "folks", "guys", "friend", "friends", "sir",
              "madam", "again", "hope", "how", "and", "the", "to", "you", "your", "i", "we",
              "just", "quick", "ladies", "gentlemen", "both", "hiring", "manager", "webmaster",
              "admin", "editor", "sales", "support", "customer", "colleague", "colleagues",
              "mr", "mrs", "ms", "miss", "dr", "prof", "name"}
_SIGN_OFFS = re.compile(
    r"^\s*(?:best(?:\s+regards|\s+wishes)?|kind\s+regards|warm\s+regards|warmly|regards|cheers|"
    r"thanks(?:\s+again|\s+so\s+much)?|thank\s+you|many\s+thanks|sincerely|yours(?:\s+truly|"
    r"\s+sincerely)?|all\s+the\s+best|talk\s+soon|speak\s+soon|respectfully|with\s+thanks|br|"
    r"rgds|thx|ty)\b[\s,!.—-]*", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# In a signature, words like these are job titles or company words, not names.
_SIGNATURE_WORDS = {"ceo", "cto", "cfo", "coo", "founder", "co-founder", "director", "manager",
                    "head", "vp", "president", "sales", "marketing", "account", "executive",
                    "business", "development", "representative", "specialist", "officer",
                    "partner", "senior", "junior", "lead", "of", "and", "at", "the", "inc", "ltd",
                    "llc", "gmbh", "team", "group", "solutions", "services", "tel", "phone",
                    "mobile", "email", "web", "www", "office", "sent", "from", "my", "iphone",
                    "android", "outlook", "get", "for", "linkedin", "engineer", "recruiter",
                    "consultant", "assistant", "owner", "strategist", "associate", "growth",
                    "customer", "success", "content", "seo", "outreach", "editor", "talent",
                    "acquisition", "hr", "digital", "agency", "company", "corp", "co"}
# A line that is only one to three capitalised words: a name under the last sentence.
_NAME_LINE = re.compile(r"^[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,2}\.?$")
MASKS = ("[email]", "[url]", "[phone]", "[name]", "[token]")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _mask_url(m: re.Match) -> str:
    raw = m.group(0)
    trail = ""
    while raw and raw[-1] in ".,;:!?":
        trail, raw = raw[-1] + trail, raw[:-1]
    parts = urlsplit(raw if "://" in raw else "http://" + raw)
    if not parts.query and not parts.fragment and not parts.username and \
            not _TOKENISH.search(parts.path or ""):
        return raw + trail  # a plain page address carries nothing personal
    host = parts.hostname or ""
    prefix = raw.split("://", 1)[0] + "://" if "://" in raw else ""
    return f"{prefix}{host}/[token]{trail}"


def _greeting_names(text: str) -> list[str]:
    m = _GREETING.match(text)
    if not m or not m.group("names"):
        return []
    return [w for w in _WORD.findall(m.group("names")) if w.lower() not in _NOT_NAMES]


def _signature_names(text: str) -> list[str]:
    rest = _SIGN_OFFS.sub("", text, count=1)
    rest = EMAIL.sub(" ", URL.sub(" ", rest))
    words = _WORD.findall(rest)
    return [w for w in words if w[:1].isupper() and w.lower() not in _SIGNATURE_WORDS
            and w.lower() not in _NOT_NAMES][:4]


class Masker:
    def __init__(self, names: set[str] | None = None):
        names = {n for n in (names or set()) if len(n) >= 2}
        self._names = None
        if names:
            alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
            self._names = re.compile(rf"(?<![\w\[./@-])(?:{alternatives})(?![\w\]]|\.\w)",
                                     re.IGNORECASE)

    @classmethod
    def for_email(cls, sentences) -> "Masker":
        """Learn the names from an email's greeting (its first sentences) and signature.

        `sentences` are objects or dicts with `text` and (optionally) `signature` / `quoted`.
        """
        names: set[str] = set()
        seen = 0
        name_line_due = False   # the line after a sign-off is the sender's name
        for s in sentences:
            get = s.get if isinstance(s, dict) else (lambda k, d=None, s=s: getattr(s, k, d))
            text = get("text", "") or ""
            sign_off = bool(_SIGN_OFFS.match(text)) and len(_WORD.findall(text)) <= 5
            if sign_off:
                names.update(_signature_names(text))      # "Best, Tom"
                name_line_due = True
            elif name_line_due or (get("signature", False) and not get("quoted", False)
                                   and len(_WORD.findall(text)) <= 3):
                names.update(_signature_names(text))
                name_line_due = False
            elif seen < 3:
                names.update(_greeting_names(text))
            if not get("quoted", False):
                seen += 1
        # An email that ends on a bare name line ("Ana", "Tom Baker") without a sign-off.
        own = [s for s in sentences if not (s.get("quoted") if isinstance(s, dict) else getattr(s, "quoted", False))]
        if own:
            last = (own[-1].get("text") if isinstance(own[-1], dict) else own[-1].text) or ""
            words = _WORD.findall(last)
            if 1 <= len(words) <= 3 and _NAME_LINE.match(last.strip()) and not _SIGN_OFFS.match(last) \
                    and all(w[:1].isupper() for w in words):
                names.update(w for w in words if w.lower() not in _SIGNATURE_WORDS | _NOT_NAMES)
        return cls(names)

    def mask(self, text: str) -> str:
        out = EMAIL.sub("[email]", normalise(text))
        out = URL.sub(_mask_url, out)
        out = PHONE.sub("[phone]", out)
        if self._names is not None:
            out = self._names.sub("[name]", out)
        # a greeting or sign-off on the masked sentence itself, even if learnt from nowhere else
        for name in _greeting_names(out):
            out = re.sub(rf"(?<![\w\[]){re.escape(name)}(?![\w\]])", "[name]", out)
        return out


def mask(text: str) -> str:
    """Mask one sentence on its own (no email around it to learn names from)."""
    return Masker.for_email([{"text": text}]).mask(text)
