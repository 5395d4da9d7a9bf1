"""A message as the triage rules see it, whichever provider it came from. Its text lives only
in memory while its job runs."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.utils import getaddresses


@dataclass
class Incoming:
    id: str
    sender: str                         # the From address, lower case ("" when none)
    subject: str | None
    text: str                           # the body as plain text (HTML converted)
    received_at: dt.datetime | None     # naive UTC
    thread_id: str | None
    is_reply: bool                      # not the first message of its thread
    headers: dict[str, str] = field(default_factory=dict)   # lower-case names
    own: bool = False                   # sent by the mailbox's owner, or a draft
    applied: set[str] = field(default_factory=set)          # our label keys already on it
    categories: list[str] = field(default_factory=list)     # Outlook: all its categories


def address_of(value: str | None) -> str:
    """The e-mail address in a From header ("Dana <dana@x.com>" -> "dana@x.com")."""
    for _, addr in getaddresses([value or ""]):
        if "@" in addr:
            return addr.strip().lower()
    return ""


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
