"""`pitchlint analyze` for a person at a terminal: each email's verdict, then each flagged
sentence with its labels and the reason, in colour where the terminal has it.

    pitch.txt  "Quick question"
      me-talk · desperate · 2 of 4 sentences flagged
      line 3  Sorry to chase again.
              desperate: Apologising for following up reads as desperate; lead with ...

JSON Lines (the analyze contract) stay the format for pipes and `--format json`.
"""
from __future__ import annotations

import shutil
import textwrap

import click

NAMES = {"me_talk": "me-talk", "customer_centric": "customer-centric", "other": "other",
         "desperate": "desperate", "threatening": "threatening", "neutral": "neutral"}
INDENT = " " * 12
COLOURS = {"me_talk": "yellow", "desperate": "magenta", "threatening": "red",
           "customer_centric": "green", "neutral": "green"}


def _label(name: str) -> str:
    return click.style(NAMES.get(name, name), fg=COLOURS.get(name), bold=name in COLOURS)


def sentence_labels(sentence: dict) -> list[str]:
    """The labels that flag a sentence: me-talk, and/or its tone when it is not neutral."""
    out = []
    if sentence["focus"]["label"] == "me_talk":
        out.append("me_talk")
    if sentence["tone"]["label"] in ("desperate", "threatening"):
        out.append(sentence["tone"]["label"])
    return out


def verdict(answer: dict) -> str:
    """The email's focus and tones: "me-talk · desperate, threatening"."""
    tones = answer["tone"].get("flags") or [answer["tone"]["label"]]
    return f"{_label(answer['focus']['label'])} · {', '.join(_label(t) for t in tones)}"


def email_block(item: dict, answer: dict) -> str:
    """The lines for one email (styled; click.echo drops the colour where there is none)."""
    ident = str(answer.get("id") if answer.get("id") is not None else item.get("id", ""))
    title = click.style(ident, bold=True)
    if item.get("subject"):
        title += "  " + click.style(f"\u201c{item['subject']}\u201d", dim=True)
    if "error" in answer:
        err = answer["error"]
        return f"{title}\n  {click.style('error', fg='red', bold=True)} {err['code']}: {err['message']}\n"
    sentences = answer.get("sentences") or []
    flagged = [s for s in sentences if s.get("flagged")]
    count = (f"{len(flagged)} of {len(sentences)} sentences flagged" if flagged
             else click.style(f"nothing flagged in {len(sentences)} sentences", fg="green"))
    lines = [title, f"  {verdict(answer)} · {count}"]
    text = item.get("text") if isinstance(item.get("text"), str) else None
    width = max(40, min(shutil.get_terminal_size().columns, 110) - len(INDENT))
    for s in flagged:
        line = text.count("\n", 0, s["start"]) + 1 + item.get("_lines_before", 0) if text is not None else None
        where = f"line {line}" if line else ""
        sentence = textwrap.wrap(" ".join(s["text"].split()), width) or [""]
        lines.append(f"  {click.style(f'{where:>8}', dim=True)}  {sentence[0]}")
        lines += [INDENT + more for more in sentence[1:]]
        names = sentence_labels(s)
        plain = ", ".join(NAMES[n] for n in names)
        reason = textwrap.wrap(plain + (f": {s['message']}" if s.get("message") else ""), width)
        reason = reason or [""]
        reason[0] = ", ".join(_label(n) for n in names) + reason[0][len(plain):]
        lines += [INDENT + part for part in reason]
    return "\n".join(lines) + "\n"


def summary(total: int, flagged: int, failed: int) -> str:
    parts = [f"{total:,} email{'s' if total != 1 else ''}",
             f"{flagged:,} with flagged sentences"]
    if failed:
        parts.append(click.style(f"{failed:,} could not be analysed", fg="red"))
    return click.style(" · ".join(parts), dim=True)
