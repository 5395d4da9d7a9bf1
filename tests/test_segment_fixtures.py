"""The browser extension splits sentences with a JavaScript port of text/segment.py
(addin/extension/src/lib/segment.js), checked against fixtures that the Python splitter made
(addin/extension/scripts/segment_fixtures.py). This checks that the fixtures are still what the
Python splitter says, so a change to segment.py cannot leave the port behind unnoticed."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEGMENT_FIXTURES = ROOT / "addin" / "extension" / "test" / "fixtures" / "segment.jsonl.gz"


def test_the_extensions_splitter_fixtures_are_the_python_splitters():
    # addin/extension/test/unit/segment.test.js checks the JavaScript port against these; when
    # this fails, text/segment.py changed: run addin/extension/scripts/segment_fixtures.py.
    from pitchlint.text.segment import split

    with gzip.open(SEGMENT_FIXTURES, "rt", encoding="ascii") as f:
        fixtures = [json.loads(line) for line in f]
    assert len(fixtures) > 2000
    stale = [f["id"] for f in fixtures
             if [[s.start, s.end, s.quoted, s.signature] for s in split(f["text"])] != f["sentences"]]
    assert not stale, f"{len(stale)} fixtures differ (first {stale[0]}): run addin/extension/scripts/segment_fixtures.py"
