"""`pitchlint train` end to end on a few emails: seeded, reproducible, a loadable artifact."""
from __future__ import annotations

import json

from click.testing import CliRunner

from pitchlint.cli import main
from pitchlint.corpus import CORPUS_FILE
from pitchlint.model.runtime import Analyzer


def _train(out, tmp_path):
    res = CliRunner().invoke(main, ["train", "--limit", "40", "--epochs", "1", "--out", str(out),
                                    "--version", "test.0"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_train_writes_a_self_describing_artifact_and_is_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("PITCHLINT_NO_PROGRESS", "1")
    assert CORPUS_FILE.exists()
    a, b = tmp_path / "a", tmp_path / "b"
    _train(a, tmp_path)
    _train(b, tmp_path)
    for name in ("weights.safetensors", "tokenizer.json", "config.json", "MODEL_CARD.md"):
        assert (a / name).exists(), name
    assert (a / "weights.safetensors").read_bytes() == (b / "weights.safetensors").read_bytes()
    cfg = json.loads((a / "config.json").read_text())
    assert cfg["version"] == "test.0" and cfg["network"]["tone_labels"] == ["desperate", "threatening", "neutral"]
    assert set(cfg["thresholds"]) == {"sentence_focus", "sentence_tone", "email_focus_me_talk"}
    assert "validation" in cfg["metrics"] and cfg["training"]["seed"] == 13
    card = (a / "MODEL_CARD.md").read_text()
    assert f"{cfg['metrics']['validation']['headline']['highlight_f1']:.3f}" in card
    answer = Analyzer(a).analyze("Hi Bo, sorry to chase again!")
    assert answer["model"] == {"name": "pitchlint-minilm", "version": "test.0"}
