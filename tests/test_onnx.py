"""The ONNX export (`pitchlint onnx export`) and its runtime (PITCHLINT_COMPUTE=onnx): the export
shipped in models/pitchlint-minilm-onnx/ is current, gives the PyTorch runtime's labels, answers
an email the same alone or in a batch, reads long emails in the same windows, and says what to
run when it is stale. The shipped encoder computes in int8 (`a8`, labels within the parity
target); the `w8` variant, exported here too, is exact."""
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
    from pitchlint.model.onnx_runtime import OnnxAnalyzer, int8_products_are_exact

    if not int8_products_are_exact():
        pytest.skip("this CPU's int8 products saturate (no VNNI): the a8 export is refused here")
    return OnnxAnalyzer()


def test_the_shipped_export_is_made_from_the_shipped_model():
    # After `pitchlint train`, run `pitchlint onnx export` (it also updates what the extension ships).
    m = check_export(EXPORT, artifact.DEFAULT_MODEL_DIR)
    cfg = artifact.read_config(artifact.DEFAULT_MODEL_DIR)
    assert (m["name"], m["version"]) == (cfg["name"], cfg["version"])
    assert m["encoder"]["variant"] == "a8"


def test_the_extension_ships_this_export():
    lock = json.loads(EXTENSION_LOCK.read_text())
    ext = json.loads((ROOT / "manifest" / "extension" / "manifest.json").read_text())
    assert lock["extension_version"] == ext["version"]
    assert (ROOT / lock["export"]).resolve() == EXPORT.resolve()
    from pitchlint.model.onnx_export import sha256_file

    assert lock["files"] == {n: sha256_file(EXPORT / n) for n in SHIPPED_FILES}, \
        "run `pitchlint onnx export` to record the export for the extension"


@pytest.fixture(scope="module")
def w8_export(tmp_path_factory):
    """The exact variant: int8 weights expanded to fp32, fp32 arithmetic (what start-up tells a
    CPU whose int8 products saturate to export)."""
    from pitchlint.model.onnx_export import export

    out = tmp_path_factory.mktemp("w8")
    export(artifact.DEFAULT_MODEL_DIR, out, encoder="w8", log=lambda m: None)
    return out


@pytest.fixture(scope="module")
def w8_analyzer(w8_export):
    from pitchlint.model.onnx_runtime import OnnxAnalyzer

    return OnnxAnalyzer(export_dir=w8_export)


@pytest.fixture
def served_export(monkeypatch, w8_export):
    """PITCHLINT_COMPUTE=onnx with the export this CPU can serve: the shipped a8 where int8
    products are exact; elsewhere (x86 without VNNI) start-up refuses a8, so the w8 export as
    PITCHLINT_ONNX_DIR, as its message says. Returns the variant."""
    from pitchlint.model.onnx_runtime import int8_products_are_exact
    from pitchlint.service.startup import StartupError, check_onnx_export

    monkeypatch.setenv("PITCHLINT_COMPUTE", "onnx")
    monkeypatch.delenv("PITCHLINT_ONNX_DIR", raising=False)
    if int8_products_are_exact():
        return "a8"
    with pytest.raises(StartupError, match="saturate .*--encoder w8 .*PITCHLINT_ONNX_DIR"):
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_ONNX_DIR", str(w8_export))
    return "w8"


def test_onnx_labels_are_the_pytorch_runtimes(fp32_analyzer, onnx_analyzer):
    # int8 products: the same labels; scores move a little (pitchlint onnx parity measures how
    # many labels that moves on dev.jsonl and the validation split: under 1%)
    a = fp32_analyzer.analyze_batch(EMAILS)
    b = onnx_analyzer.analyze_batch(EMAILS)
    g = agreement(a, b)
    assert g.same_sentence_labels == g.sentences and g.same_email_labels == g.emails
    assert g.max_score_difference < 0.05
    for x, y in zip(a, b):
        assert [s["message"] for s in x["sentences"]] == [s["message"] for s in y["sentences"]]
        assert [(s["start"], s["end"], s["quoted"], s["signature"]) for s in x["sentences"]] == \
               [(s["start"], s["end"], s["quoted"], s["signature"]) for s in y["sentences"]]


def test_the_w8_export_computes_what_the_pytorch_runtime_computes(fp32_analyzer, w8_analyzer):
    g = agreement(fp32_analyzer.analyze_batch(EMAILS), w8_analyzer.analyze_batch(EMAILS))
    assert g.same_sentence_labels == g.sentences and g.same_email_labels == g.emails
    assert g.max_score_difference < 0.001
    assert w8_analyzer.compute == "onnx-w8"


def _export_linear8(tmp_path, names, unsigned):
    """One Linear8 of the shipped model as its own ONNX graph: tokens (T, K) in, (T, N) out."""
    import torch
    from torch import nn

    from pitchlint.model.onnx_export import GELU_FLOOR, Linear8, RawState, _export

    lin = Linear8(RawState(artifact.DEFAULT_MODEL_DIR), names,
                  offset=GELU_FLOOR if unsigned else 0.0, unsigned=unsigned)

    class One(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin

        def forward(self, x):
            zp = torch.full_like(x[:, 0], 0 if unsigned else 128, dtype=torch.uint8)
            return self.lin(x, zp)

    path = tmp_path / "linear8.onnx"
    _export(One().eval(), (torch.randn(5, lin.q_t.shape[0]),), path, ["x"], ["y"],
            {"x": {0: "tokens"}, "y": {0: "tokens"}}, fold=False)
    return One().eval(), path


@pytest.mark.parametrize("names,unsigned", [
    (["encoder.layers.0.query", "encoder.layers.0.key", "encoder.layers.0.value"], False),
    (["encoder.layers.3.output"], True),
])
def test_an_int8_product_of_a_token_depends_on_that_token_only(tmp_path, names, unsigned):
    import numpy as np
    import onnxruntime as ort
    import torch

    module, path = _export_linear8(tmp_path, names, unsigned)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    k = module.lin.q_t.shape[0]
    x = rng.normal(size=(40, k)).astype(np.float32)
    x[3] *= 50.0   # one token far larger than the others: its scale is its own
    if unsigned:   # what the second FFN product reads: GELU outputs (>= -0.17)
        x = torch.nn.functional.gelu(torch.from_numpy(x * 2)).numpy()
    together = session.run(None, {"x": x})[0]
    for i in (0, 3, 39):
        alone = session.run(None, {"x": x[i:i + 1]})[0]
        assert np.array_equal(alone[0], together[i])   # bit for bit
    from pitchlint.model.onnx_runtime import int8_products_are_exact

    if not int8_products_are_exact():
        pytest.skip("the token's own product checked; this CPU's int8 sums saturate (no VNNI), "
                    "so they are not the float products of the same integers (a8 is refused here)")
    # and the graph computes what its PyTorch side computes: float products of the same integers
    want = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(together - want).max() <= 1e-4 * np.abs(want).max()
    # which are within int8 rounding of the float product
    exact = (torch.from_numpy(x) - module.lin.offset) @ module.lin.matrix().t() + module.lin.bias
    rel = np.abs(together - exact.detach().numpy()).max() / np.abs(exact.detach().numpy()).max()
    assert rel < 0.02


def test_chunk_blocks_find_every_chunk_of_packed_rows(tmp_path):
    """a8's attention runs chunk by chunk on blocks gathered from the packed rows: the ONNX side
    of _ChunkBlocks must find the same chunks as its PyTorch side, in reading order, with
    padding (segment 0) left out of every block."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from torch import nn

    from pitchlint.model.onnx_export import _ChunkBlocks, _export, sample_encoder_inputs

    class Blocks(nn.Module):
        def forward(self, position_ids, segment_ids):
            blocks, keys, slot = _ChunkBlocks.apply(position_ids, segment_ids)
            return blocks + 0, keys.int(), slot + 0   # the exporter wants ops after the function

    path = tmp_path / "blocks.onnx"
    dyn = {0: "rows", 1: "tokens"}
    _, pos, seg = sample_encoder_inputs()
    _export(Blocks().eval(), (pos, seg), path,
            ["position_ids", "segment_ids"], ["blocks", "keys", "slot"],
            {"position_ids": dyn, "segment_ids": dyn}, fold=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # row 0: chunks of 3 and 2 tokens, one padding token; row 1: one chunk of 4, two of padding
    seg = np.array([[1, 1, 1, 2, 2, 0], [1, 1, 1, 1, 0, 0]], dtype=np.int64)
    pos = np.array([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 0, 0]], dtype=np.int64)
    blocks, keys, slot = session.run(None, {"position_ids": pos, "segment_ids": seg})
    want = [t.numpy() for t in Blocks()(torch.from_numpy(pos), torch.from_numpy(seg))]
    for got, expected in zip((blocks, keys, slot), want):
        assert np.array_equal(got, expected)
    assert blocks.tolist() == [[0, 1, 2, 0], [3, 4, 0, 0], [6, 7, 8, 9]]
    assert keys.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    # each real token's place in the blocks read as one vector; padding tokens read cell 0
    assert slot.tolist() == [0, 1, 2, 4, 5, 0, 8, 9, 10, 11, 0, 0]


def test_a8_calls_hold_a_bounded_number_of_block_cells():
    """One 128-token sentence among 1,300 short ones: no call pads the short ones to 128."""
    from pitchlint.model.onnx_runtime import block_groups

    lengths = [5 + i % 7 for i in range(1300)]
    lengths.insert(600, 128)
    groups = block_groups(lengths, 4096)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))   # each chunk once
    for g in groups:
        width = max(lengths[i] for i in g)
        assert lengths[g[0]] == width and len(g) * width <= 4096
    assert groups[0][0] == 600 and len(groups[0]) == 32                  # the long one's call
    assert max(lengths[i] for g in groups[1:] for i in g) == 11          # the others: their own width
    assert block_groups([], 4096) == [] and block_groups([3, 3], 4096) == [[0, 1]]


def test_one_long_and_many_short_sentences_get_their_own_vectors(onnx_analyzer):
    import numpy as np

    long = " ".join(f"word{i}" for i in range(120)) + "."
    texts = [long] + [f"Noted {i}." for i in range(1, 400)]
    answer = onnx_analyzer.analyze(" ".join(texts))
    assert len(answer["sentences"]) == 400
    together = np.stack([v.numpy() for v in onnx_analyzer._encode(texts)])
    # as when encoded alone, whichever call held them (x86's float kernels may group a sum by
    # the block's padded width: a unit or two in the last place; WebAssembly is exact)
    for i in (0, 1, 399):
        assert np.abs(onnx_analyzer._encode([texts[i]])[0].numpy() - together[i]).max() <= 5e-7


def test_an_email_gets_the_same_answer_alone_and_in_a_batch(onnx_analyzer):
    onnx_analyzer.cache.clear()
    together = onnx_analyzer.analyze_batch(EMAILS)
    for item, answer in zip(EMAILS, together):
        onnx_analyzer.cache.clear()
        alone = onnx_analyzer.analyze_batch([item])[0]
        g = agreement([answer], [alone])
        assert g.same_sentence_labels == g.sentences and g.same_email_labels == 1
        # not only the labels: int8 products per token and attention by sums, chunk by chunk,
        # keep every score to its fourth decimal
        assert g.max_score_difference == 0.0


def test_long_emails_are_read_in_the_same_windows(fp32_analyzer, w8_analyzer, onnx_analyzer):
    # The windows are cut by code both variants share; the exact variant shows they are the
    # PyTorch runtime's. (These 150 near-identical sentences sit on the desperate/neutral line,
    # 0.47-0.49, where int8 arithmetic moves a few of them across.)
    text = "\n".join(f"Point {k}: we are the best vendor, and I need your answer today." for k in range(150))
    long_sentence = " ".join(["We are the leading platform and our award-winning team"] * 30) + "."
    for t in (text, long_sentence):
        want = fp32_analyzer.analyze(t)
        g = agreement([want], [w8_analyzer.analyze(t)])
        assert g.same_sentence_labels == g.sentences and g.same_email_labels == 1
        assert g.max_score_difference < 0.001
        assert agreement([want], [onnx_analyzer.analyze(t)]).same_email_labels == 1


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
    assert isinstance(an, OnnxAnalyzer) and an.compute == "onnx-a8"
    assert not wants_onnx("bf16")


def test_a_cpu_whose_int8_products_saturate_is_refused(monkeypatch, tmp_path):
    from pitchlint.model import onnx_runtime
    from pitchlint.service.startup import StartupError, check_onnx_export

    monkeypatch.setattr(onnx_runtime, "int8_products_are_exact", lambda: False)
    with pytest.raises(onnx_runtime.Int8KernelsSaturate, match="--encoder w8"):
        onnx_runtime.OnnxAnalyzer()
    monkeypatch.setenv("PITCHLINT_COMPUTE", "onnx")
    with pytest.raises(StartupError, match="saturate"):
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    # the commands say it in one line, without a traceback
    from pitchlint.cli import main

    sample = str(ROOT / "tests" / "data" / "team_export_sample.jsonl")
    for args in (["evaluate", sample], ["analyze", sample], ["onnx", "parity", "--dev", sample]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and r.exception.__class__ is SystemExit, (args, r.output)
        assert "Error: this CPU's int8 products saturate" in r.output, args
    # shipping the a8 export needs the a8 answers the extension is tested against: refused
    # before anything is written
    out = tmp_path / "export"
    r = CliRunner().invoke(main, ["onnx", "export", "--out", str(out), "--ship"])
    assert r.exit_code == 1 and "cannot compute the answers the extension's a8 model" in r.output
    assert not out.exists()


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


def test_cli_check_and_evaluate_with_the_onnx_runtime(monkeypatch, w8_export):
    from pitchlint.cli import main
    from pitchlint.model.onnx_runtime import int8_products_are_exact

    monkeypatch.delenv("PITCHLINT_ONNX_DIR", raising=False)
    r = CliRunner().invoke(main, ["onnx", "check"])
    assert r.exit_code == 0, r.output
    assert "up to date" in r.output
    sample = str(ROOT / "tests" / "data" / "team_export_sample.jsonl")
    r = CliRunner().invoke(main, ["evaluate", "--runtime", "onnx", sample])
    if int8_products_are_exact():
        assert r.exit_code == 0, r.output
        assert "(onnx-a8)" in r.output and "highlight" in r.output
        return
    # x86 without VNNI: the shipped a8 export is refused with what to run instead; that works
    assert r.exit_code != 0 and "saturate" in r.output and "--encoder w8" in r.output, r.output
    monkeypatch.setenv("PITCHLINT_ONNX_DIR", str(w8_export))
    r = CliRunner().invoke(main, ["evaluate", "--runtime", "onnx", sample])
    assert r.exit_code == 0, r.output
    assert "(onnx-w8)" in r.output and "highlight" in r.output



def test_serve_refuses_a_stale_export_in_one_line(monkeypatch, tmp_path, served_export):
    from pitchlint.service.startup import StartupError, check_onnx_export

    check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_ONNX_DIR", str(tmp_path))
    with pytest.raises(StartupError, match="PITCHLINT_COMPUTE=onnx: no ONNX export .*pitchlint onnx export"):
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_COMPUTE", "bf16")
    check_onnx_export(artifact.DEFAULT_MODEL_DIR)


def test_threads_spin_during_a_request_only_when_asked(monkeypatch, served_export):
    from pitchlint.model.onnx_runtime import session_options, spin_mode
    from pitchlint.service.startup import StartupError, check_onnx_export

    so = session_options(2)
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    so = session_options(2, spin=True)
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    # ... and stop when the request's run ends, so idle workers leave the cores to the others
    assert so.get_session_config_entry("session.force_spinning_stop") == "1"
    monkeypatch.delenv("PITCHLINT_ONNX_SPIN", raising=False)
    assert spin_mode() == "auto"
    for value, mode in (("1", "1"), ("0", "0"), ("AUTO", "auto")):
        monkeypatch.setenv("PITCHLINT_ONNX_SPIN", value)
        assert spin_mode() == mode
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("PITCHLINT_ONNX_SPIN", "fast")
    with pytest.raises(StartupError, match="PITCHLINT_ONNX_SPIN must be auto, 0 or 1, got 'fast'"):
        check_onnx_export(artifact.DEFAULT_MODEL_DIR)


def test_an_analysis_knows_when_another_process_is_analysing(tmp_path):
    """Alone: true only while no other analysis holds the file, in this process or another;
    a process killed mid-analysis leaves nothing behind."""
    import signal
    import subprocess
    import sys
    import time

    from pitchlint.model.onnx_runtime import Alone

    path = tmp_path / "busy"
    with Alone(path).analysing() as alone:
        assert alone
        with Alone(path).analysing() as second:   # a second analysis beside it (another thread)
            assert not second
    with Alone(path).analysing() as alone:
        assert alone                               # both finished: alone again
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[2]); "
         "from pitchlint.model.onnx_runtime import Alone; "
         "cm = Alone(sys.argv[1]).analysing(); cm.__enter__(); print('in', flush=True); time.sleep(60)",
         str(path), str(ROOT / "server")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "in"
        with Alone(path).analysing() as alone:
            assert not alone
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while True:
            with Alone(path).analysing() as alone:
                if alone or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
        assert alone
    finally:
        holder.kill()
        holder.wait()


def test_with_spin_auto_an_analysis_spins_only_when_alone(onnx_analyzer, tmp_path, monkeypatch):
    from pitchlint.model.onnx_runtime import Alone, OnnxModel

    model = onnx_analyzer.onnx
    if model.spin != "auto":
        pytest.skip("PITCHLINT_ONNX_SPIN is set")
    assert set(model._sessions) == {False, True}
    seen = []
    encode = OnnxModel.encode

    def recording(self, *args, **kwargs):
        seen.append((self.spinning, self.encoder is self._sessions[True][0]))
        return encode(self, *args, **kwargs)

    monkeypatch.setattr(OnnxModel, "encode", recording)
    monkeypatch.setattr(model, "alone", Alone(tmp_path / "busy"))
    onnx_analyzer.cache.clear()
    first = onnx_analyzer.analyze("Hi Bo,\n\nSorry to chase again. Did you see my note?\n\nAl")
    with Alone(tmp_path / "busy").analysing():    # another process's analysis, say
        onnx_analyzer.cache.clear()
        second = onnx_analyzer.analyze("Hi Bo,\n\nSorry to chase again. Did you see my note?\n\nAl")
    assert seen == [(True, True), (False, False)]
    assert first == second                        # the same answer either way
    assert not model.spinning                     # outside an analysis: the sleeping sessions


def test_an_email_longer_than_one_call_is_read_in_bounded_calls(onnx_analyzer):
    """Windows of an email that would not fit one call go to the context graph a call's worth
    at a time (its `contextual` output) and the heads run outside it: the same logits as one
    call, within float rounding, and the same labels."""
    import numpy as np

    texts = [f"Sentence number {i} says something about {'our' if i % 3 else 'your'} week." for i in range(200)]
    vectors = np.stack([v.numpy() for v in onnx_analyzer._encode(texts)])
    email = (vectors, [0] * 200, [i % 5 != 0 for i in range(200)])
    whole = onnx_analyzer.onnx.logits([email])[0]
    parts = onnx_analyzer.onnx.logits([email], max_windows=2)[0]   # 200 sentences: 4 windows
    for name in ("sentence_focus", "sentence_tone", "email_focus"):
        assert np.abs(whole[name] - parts[name]).max() < 1e-4
        assert (whole[name].argmax(-1) == parts[name].argmax(-1)).all()
