"""`pitchlint train --extra EXPORT.jsonl`: the export is checked first, the shipped model is
fine-tuned (never overwritten), and dev and export figures are reported before and after."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from pitchlint.cli import main
from pitchlint.model import artifact
from pitchlint.model.runtime import Analyzer
from pitchlint.model.train import (TrainInputError, _weighted_cross_entropy, finetune,
                                   finetune_args, load_extra)

from .conftest import DEV_FILE

EXPORT = Path(__file__).parent / "data" / "team_export_sample.jsonl"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("PITCHLINT_NO_PROGRESS", "1")


def _shipped_fingerprint() -> str:
    h = hashlib.sha256()
    for name in sorted(p.name for p in artifact.DEFAULT_MODEL_DIR.iterdir()):
        h.update(name.encode() + (artifact.DEFAULT_MODEL_DIR / name).read_bytes())
    return h.hexdigest()


def _record(**over) -> dict:
    text = "Hi Dana, Sorry to chase again. We cut invoice approval from five days to one."
    rec = {"id": "team-1-sample-1", "source": "outreach", "subject": "", "text": text,
           "focus": "me_talk", "tone": ["desperate"],
           "sentences": [{"start": 0, "end": 8, "focus": "other", "tone": "neutral"},
                         {"start": 9, "end": 30, "focus": "me_talk", "tone": "desperate"},
                         {"start": 31, "end": len(text), "focus": "me_talk", "tone": "neutral"}],
           "pitchlint": {"sample_id": 1, "team_id": 1, "target": 1, "corrected": True,
                         "feedback": "wrong", "model_version": "2026.11.28"}}
    rec.update(over)
    return rec


def _write(path: Path, lines: list) -> Path:
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(TrainInputError) as e:
        load_extra([str(path)])
    return str(e.value)


# --- validation ----------------------------------------------------------------------------

def test_the_fixture_export_is_valid_and_keeps_its_extra_keys():
    recs = load_extra([str(EXPORT)])
    assert len(recs) == 40
    assert all(isinstance(r["pitchlint"]["target"], int) for r in recs)
    assert sum(r["pitchlint"]["corrected"] for r in recs) >= 15
    assert {r["source"] for r in recs} == {"outreach", "incoming"}


def test_validation_names_the_line_of_each_problem(tmp_path):
    sents = _record()["sentences"]
    bad_span = [dict(sents[0]), dict(sents[1]), dict(sents[2], end=999)]
    gap = [dict(sents[0]), dict(sents[1], start=5), dict(sents[2])]
    f = _write(tmp_path / "export.jsonl", [
        _record(),                                                          # 1: fine
        "{not json",                                                        # 2
        _record(id="b", focus="salesy"),                                    # 3
        {k: v for k, v in _record(id="c").items() if k != "sentences"},     # 4
        _record(id="d", sentences=bad_span),                                # 5
        _record(id="e", tone=[]),                                           # 6: tone list wrong
        _record(id="f", sentences=[dict(sents[0]), dict(sents[1], focus="other"), dict(sents[2])]),  # 7
        _record(id="g", source="linkedin"),                                 # 8
        _record(),                                                          # 9: duplicate id
        _record(id="h", pitchlint={"target": 7}),                           # 10
        "[1, 2]",                                                           # 11
        _record(id="i", sentences=gap),                                     # 12: overlapping spans
    ])
    msg = _problems(f)
    expect = {2: "not valid JSON", 3: "focus 'salesy'", 4: "missing field(s) 'sentences'",
              5: "bad span", 6: "must list exactly the sentence tones", 7: "pressure is never 'other'",
              8: "source 'linkedin'", 9: "duplicate id", 10: "pitchlint.target 7",
              11: "not a JSON object", 12: "starts at 5, before sentence 0 ends"}
    for line, what in expect.items():
        hit = [l for l in msg.splitlines() if l.startswith(f"{f}:{line}")]
        assert hit and what in hit[0], (line, what, msg)
    assert not [l for l in msg.splitlines() if l.startswith(f"{f}:1 ")], msg


def test_an_empty_or_binary_export_is_refused(tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_text("\n\n")
    assert "no records (the file is empty)" in _problems(f)
    g = tmp_path / "export.jsonl.gz"
    g.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    assert f"{g}: not UTF-8 text" in _problems(g)


def test_the_cli_refuses_a_bad_export_before_training(tmp_path):
    f = _write(tmp_path / "export.jsonl", [_record(), _record(id="x", text=7)])
    for extra_args in ([], ["--from-scratch"]):
        out = tmp_path / f"out{len(extra_args)}"
        res = CliRunner().invoke(main, ["train", "--extra", str(f), "--out", str(out), *extra_args])
        assert res.exit_code == 1, res.output
        assert f"{f}:2 (x): text must be a non-empty string" in res.output
        assert not out.exists()


def test_the_cli_rejects_fine_tuning_options_without_an_export():
    res = CliRunner().invoke(main, ["train", "--base-sample", "10"])
    assert res.exit_code == 2 and "for fine-tuning" in res.output


def test_a_fine_tune_never_writes_over_the_starting_or_the_shipped_model(tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(artifact.DEFAULT_MODEL_DIR, copy)
    res = CliRunner().invoke(main, ["train", "--extra", str(EXPORT), "--base-model", str(copy),
                                    "--out", str(copy), "--limit", "20"])
    assert res.exit_code == 1 and "starting or the shipped model's directory" in res.output
    # The shipped directory itself, whatever the starting model (a stand-in, so that a broken
    # check could only damage the copy).
    real = artifact.DEFAULT_MODEL_DIR
    monkeypatch.setattr(artifact, "DEFAULT_MODEL_DIR", copy)
    with pytest.raises(TrainInputError, match="shipped model's directory"):
        finetune(finetune_args(str(real), extra=[str(EXPORT)], out=str(copy), limit=20))


def test_weighted_loss_with_unit_weights_is_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(12, 3)
    targets = torch.tensor([0, 1, 2, -100, 1, 1, 0, 2, -100, 2, 0, 1])
    cw = torch.tensor([0.7, 1.4, 0.9])
    ref = F.cross_entropy(logits, targets, weight=cw, ignore_index=-100)
    assert torch.allclose(_weighted_cross_entropy(logits, targets, cw, torch.ones(12)), ref)
    w = torch.ones(12)
    w[1] = 3.0  # counting a position three times = repeating it three times
    rep_logits = torch.cat([logits, logits[1:2], logits[1:2]])
    rep_targets = torch.cat([targets, targets[1:2], targets[1:2]])
    ref = F.cross_entropy(rep_logits, rep_targets, weight=cw, ignore_index=-100)
    assert torch.allclose(_weighted_cross_entropy(logits, targets, cw, w), ref)


# --- fine-tuning ---------------------------------------------------------------------------

def _fine_tune(out: Path, *options: str):
    res = CliRunner().invoke(
        main, ["train", "--extra", str(EXPORT), "--out", str(out), "--dev", str(DEV_FILE), *options],
        catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res, json.loads((out / "finetune_report.json").read_text())


def test_smoke_fine_tune_reports_before_and_after_and_loads_in_the_analyzer(tmp_path):
    shipped = _shipped_fingerprint()
    out = tmp_path / "team-model"
    res, report = _fine_tune(out, "--limit", "40", "--base-sample", "16", "--extra-repeat", "1")
    sets = ["extra", "extra_targets", "extra_corrected"] + (["dev"] if DEV_FILE.exists() else [])
    for key in sets:
        assert key in report["before"] and key in report["after"] and key in report["delta"], key
        for m, d in report["delta"][key].items():
            assert d == pytest.approx(report["after"][key][m] - report["before"][key][m], abs=1e-3)
    assert report["before"]["extra"]["emails"] == 40
    assert report["before"]["extra_corrected"]["sentences"] == 21
    if DEV_FILE.exists():
        assert report["before"]["dev"]["emails"] == 60
        assert "dev set, never trained on (60 emails" in res.stdout
    assert report["before"]["model"]["dir"] == "models/pitchlint-minilm"
    assert "extra: flagged sentences the team corrected (21 sentences)" in res.stdout
    assert res.stdout.strip().endswith("finetune_report.json")

    cfg = json.loads((out / "config.json").read_text())
    shipped_version = artifact.read_config(artifact.DEFAULT_MODEL_DIR)["version"]
    assert cfg["training"]["mode"] == "finetune" and cfg["training"]["extra_repeat_used"] == 1
    assert cfg["finetuned_from"]["version"] == shipped_version
    assert cfg["finetune"]["delta"] == report["delta"]
    assert "## Fine-tuning" in (out / "MODEL_CARD.md").read_text()
    answer = Analyzer(out).analyze("Hi Bo, sorry to chase again! We are the leading payroll provider.")
    assert answer["model"]["version"].startswith(f"{shipped_version}+ft.")
    assert answer["sentences"][1]["tone"]["label"] in ("desperate", "threatening", "neutral")
    assert _shipped_fingerprint() == shipped


@pytest.mark.slow
def test_default_fine_tune_agrees_with_the_team_more_than_before(tmp_path):
    shipped = _shipped_fingerprint()
    _, report = _fine_tune(tmp_path / "team-model")
    b, a = report["before"], report["after"]
    for key in ("extra_targets", "extra_corrected"):
        before = b[key]["sentence_focus_accuracy"] + b[key]["sentence_tone_accuracy"]
        after = a[key]["sentence_focus_accuracy"] + a[key]["sentence_tone_accuracy"]
        assert after > before + 0.1, (key, b[key], a[key])
    assert a["extra"]["highlight_f1"] > b["extra"]["highlight_f1"]
    if "dev" in a:  # it still generalises: no collapse on the set it never saw
        assert a["dev"]["highlight_f1"] >= b["dev"]["highlight_f1"] - 0.03
    assert _shipped_fingerprint() == shipped
