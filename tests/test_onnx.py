"""The ONNX export (`pitchlint onnx export`) and its runtime (PITCHLINT_COMPUTE=onnx): the export
shipped in models/pitchlint-minilm-onnx/ is current, gives the PyTorch runtime's labels, answers
an email the same alone or in a batch, reads long emails in the same windows, and says what to
run when it is stale."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pitchlint.model import artifact
from pitchlint.model.onnx_export import (EXTENSION_LOCK, SHIPPED_FILES, StaleExport, check_export,
                                         default_export_dir, lock_for_extension, read_manifest)
from pitchlint.model.onnx_parity import agreement

ROOT = Path(__file__).resolve().parents[1]
EXPORT = default_export_dir(artifact.DEFAULT_MODEL_DIR)

EMAILS = [
    {"text": "Hi Dana,\n\nSorry to chase again. Did my last three emails get through?\n\n"
             "If you do not sign by Friday, your price will double.\n\nTom"},
    {"text": "Hi Sam,\n\nYou mentioned onboarding takes your team six weeks. Would a shorter ramp help?",
     "subject": "Your Q3 onboarding"},
    {"text": "FYI, is this legit?\n\n---------- Forwarded message ---------\nFrom: Sales <s@x.io>\n"
             "Date: Mon\nSubject: Offer\nTo: me\n\nWe are the market leader. Buy now or lose the discount!"},
    {"text": "We are the leading vendor and our award-winning team has twenty years of experience. "
             "Please, I really need you to reply today.\n\nBest regards,\nJordan"},
]


@pytest.fixture(scope="module")
def fp32_analyzer():
    """The PyTorch runtime in the export's arithmetic (int8 weights, fp32 arithmetic), which is
    `auto` on CPUs without bfloat16; on CPUs with it `auto` is bf16, and `pitchlint onnx parity`
    reports the export against that. Here the export must be exact."""
    from pitchlint.model.runtime import Analyzer

    return Analyzer(compute="fp32")


@pytest.fixture(scope="module")
def onnx_analyzer():
    from pitchlint.model.onnx_runtime import OnnxAnalyzer

    return OnnxAnalyzer()


def test_the_shipped_export_is_made_from_the_shipped_model():
    # After `pitchlint train`, run `pitchlint onnx export` (it also updates what the extension ships).
    m = check_export(EXPORT, artifact.DEFAULT_MODEL_DIR)
    cfg = artifact.read_config(artifact.DEFAULT_MODEL_DIR)
    assert (m["name"], m["version"]) == (cfg["name"], cfg["version"])
    assert m["encoder"]["variant"] == "w8"


def test_the_extension_ships_this_export():
    lock = json.loads(EXTENSION_LOCK.read_text())
    ext = json.loads((ROOT / "manifest" / "extension" / "manifest.json").read_text())
    assert lock["extension_version"] == ext["version"]
    assert (ROOT / lock["export"]).resolve() == EXPORT.resolve()
    from pitchlint.model.onnx_export import sha256_file

    assert lock["files"] == {n: sha256_file(EXPORT / n) for n in SHIPPED_FILES}, \
        "run `pitchlint onnx export` to record the export for the extension"


def test_onnx_labels_are_the_pytorch_runtimes(fp32_analyzer, onnx_analyzer):
    a = fp32_analyzer.analyze_batch(EMAILS)
    b = onnx_analyzer.analyze_batch(EMAILS)
    g = agreement(a, b)
    assert g.same_sentence_labels == g.sentences and g.same_email_labels == g.emails
    assert g.max_score_difference < 0.01
    for x, y in zip(a, b):
        assert [s["message"] for s in x["sentences"]] == [s["message"] for s in y["sentences"]]
        assert [(s["start"], s["end"], s["quoted"], s["signature"]) for s in x["sentences"]] == \
               [(s["start"], s["end"], s["quoted"], s["signature"]) for s in y["sentences"]]


def test_an_email_gets_the_same_answer_alone_and_in_a_batch(onnx_analyzer):
    onnx_analyzer.cache.clear()
    together = onnx_analyzer.analyze_batch(EMAILS)
    for item, answer in zip(EMAILS, together):
        onnx_analyzer.cache.clear()
        alone = onnx_analyzer.analyze_batch([item])[0]
        g = agreement([answer], [alone])
        assert g.same_sentence_labels == g.sentences and g.same_email_labels == 1


def test_long_emails_are_read_in_the_same_windows(fp32_analyzer, onnx_analyzer):
    text = "\n".join(f"Point {k}: we are the best vendor, and I need your answer today." for k in range(150))
    long_sentence = " ".join(["We are the leading platform and our award-winning team"] * 30) + "."
    for t in (text, long_sentence):
        g = agreement([fp32_analyzer.analyze(t)], [onnx_analyzer.analyze(t)])
        assert g.same_sentence_labels == g.sentences and g.same_email_labels == 1


def test_reanalysis_encodes_only_the_changed_sentence(onnx_analyzer):
    text = "Hi Sam,\n\nWe are the leading platform. Would Thursday work for a call?\n\nBest,\nJo"
    onnx_analyzer.cache.clear()
    onnx_analyzer.analyze(text)
    misses = onnx_analyzer.cache.misses
    onnx_analyzer.analyze(text.replace("Thursday", "Friday"))
    assert onnx_analyzer.cache.misses - misses == 1


def test_a_stale_export_says_what_to_run(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(artifact.DEFAULT_MODEL_DIR, model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["version"] = "retrained"
    (model / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(StaleExport, match="pitchlint onnx export"):
        check_export(EXPORT, model)
    with pytest.raises(StaleExport, match="no ONNX export"):
        check_export(tmp_path / "nowhere", model)
    damaged = tmp_path / "damaged"
    shutil.copytree(EXPORT, damaged)
    (damaged / "context.onnx").write_bytes(b"not a model")
    with pytest.raises(StaleExport, match="context.onnx is not the file"):
        check_export(damaged)


def test_load_analyzer_chooses_by_pitchlint_compute(monkeypatch, onnx_analyzer):
    from pitchlint.model.onnx_runtime import OnnxAnalyzer, load_analyzer, wants_onnx

    monkeypatch.setenv("PITCHLINT_COMPUTE", "onnx")
    assert wants_onnx()
    an = load_analyzer()
    assert isinstance(an, OnnxAnalyzer) and an.compute == "onnx-w8"
    assert not wants_onnx("bf16")


def test_a_new_model_raises_the_extension_version(tmp_path):
    lock, manifest = tmp_path / "model.json", tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"version": "1.4.0"}))
    lock_for_extension(EXPORT, lock, manifest, log=lambda m: None)
    assert json.loads(lock.read_text())["extension_version"] == "1.4.0"
    lock_for_extension(EXPORT, lock, manifest, log=lambda m: None)  # the same files: nothing changes
    assert json.loads(manifest.read_text())["version"] == "1.4.0"
    other = tmp_path / "export"
    shutil.copytree(EXPORT, other)
    m = read_manifest(other)
    m["version"] = "retrained"
    (other / "model.json").write_text(json.dumps(m))
    lock_for_extension(other, lock, manifest, log=lambda m: None)
    assert json.loads(manifest.read_text())["version"] == "1.4.1"
    assert json.loads(lock.read_text())["extension_version"] == "1.4.1"


def test_cli_check_and_evaluate_with_the_onnx_runtime():
    from pitchlint.cli import main

    r = CliRunner().invoke(main, ["onnx", "check"])
    assert r.exit_code == 0, r.output
    assert "up to date" in r.output
    r = CliRunner().invoke(main, ["evaluate", "--runtime", "onnx", str(ROOT / "tests" / "data" / "team_export_sample.jsonl")])
    assert r.exit_code == 0, r.output
    assert "(onnx-w8)" in r.output and "highlight" in r.output



def test_serve_refuses_a_stale_export_in_one_line(monkeypatch, tmp_path):
    from pitchlint.service.startup import StartupError, check_onnx_export

    monkeypatch.setenv("PITCHLINT_COMPUTE", "onnx")
    check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_ONNX_DIR", str(tmp_path))
    with pytest.raises(StartupError, match="PITCHLINT_COMPUTE=onnx: no ONNX export .*pitchlint onnx export"):
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_COMPUTE", "bf16")
    check_onnx_export(artifact.DEFAULT_MODEL_DIR)
