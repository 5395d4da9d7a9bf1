"""How much one email, one request and one batch may hold: the service's defaults, which the
command line shares so that an email the service refuses is refused there too.

The service reads PITCHLINT_MAX_* (service/config.py) with these defaults; `pitchlint analyze`
starts from the same numbers (--max-chars raises the one that matters on a machine of your
own). No Flask or PyTorch here: the command imports this before it decides to load either.
"""
from __future__ import annotations

MAX_TEXT_CHARS = 100_000       # the longest email text analysed (413 text_too_long)
MAX_SUBJECT_CHARS = 2_000      # the longest subject
MAX_BODY_BYTES = 4_000_000     # the largest request body (413 body_too_large)
MAX_BATCH = 100                # the most emails in one batch request (413 batch_too_large)
MAX_BATCH_CHARS = 500_000      # the most text in one batch request, all emails together (413)


def too_long(what: str, length: int, limit: int, unit: str = "characters") -> str:
    """The one wording for every size refusal: "text is 150,000 characters; the limit is 100,000"."""
    return f"{what} is {length:,} {unit}; the limit is {limit:,}"
