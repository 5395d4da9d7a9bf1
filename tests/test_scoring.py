"""The vendored scorer agrees with shared/eval/score.py."""
from __future__ import annotations

import importlib.util
import json

import pytest

from pitchlint import scoring

from .conftest import DEV_FILE, SHARED


def test_vendored_scorer_matches_shared(analyzer):
    path = SHARED / "eval" / "score.py"
    if not path.exists():
        pytest.skip("shared/eval is not beside this checkout")
    spec = importlib.util.spec_from_file_location("shared_score", path)
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    gold = [json.loads(l) for l in DEV_FILE.read_text().splitlines() if l.strip()][:12]
    preds = [{"id": g["id"], **analyzer.analyze(g["text"])} for g in gold]
    preds[3] = {"id": preds[3]["id"]}  # a broken prediction scores the same way too
    ours = scoring.score(gold, preds)
    # ours adds the sentence-level flags (precision and recall of each pressure tone)
    assert ours.pop("sentence_tone_flags") == {f: ours["sentence_tone"]["labels"][f]
                                               for f in ("desperate", "threatening")}
    assert ours == shared.score(gold, preds)
