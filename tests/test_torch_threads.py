"""The PyTorch runtime's calls: rows evened out and padded to ROW_ALIGN (so oneDNN meets few
shapes), and a worker's threads widened to every core while its analysis runs alone on the
machine (PITCHLINT_TORCH_ALONE), narrowed again as soon as another analysis starts."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest
import torch

from pitchlint.model import features
from pitchlint.model.features import ROW_ALIGN, aligned, balanced_rows, encode_sentences, pack
from pitchlint.model.alone import Alone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMAIL = ("Hi Bo,\n\nSorry to chase again, but did you see my note about the pilot? "
         "If we don't hear back by Friday, the discount is gone.\n\nAl")


def test_rows_hold_about_as_many_tokens_each():
    pieces = [[0] * n for n in (5, 36, 45, 35, 35, 30, 5, 8, 60, 40)]      # 299 tokens
    assert [sum(len(pieces[i]) for i in r) for r in pack(pieces, 256)] == [256, 43]
    rows = balanced_rows(pieces, 256)
    assert sorted(i for r in rows for i in r) == list(range(len(pieces)))
    assert sorted(sum(len(pieces[i]) for i in r) for r in rows) == [149, 150]
    # where evening out would overfill a row, pack()'s rows stand
    tight = [[0] * n for n in (128, 128, 100, 100, 50, 6)]
    assert balanced_rows(tight, 256) == pack(tight, 256)
    assert [aligned(n) for n in (1, 32, 33, 199, 256)] == [32, 32, 64, 224, 256]


def test_the_encoder_meets_widths_of_row_align_and_vectors_do_not_change(analyzer):
    calls = []
    encoder = analyzer.net.encoder

    class Recording(torch.nn.Module):
        config = encoder.config

        def forward(self, ids, mask, **kwargs):
            calls.append(tuple(ids.shape))
            return encoder(ids, mask, **kwargs)

    texts = [f"Sentence {i} tells the reader about {'our' if i % 2 else 'your'} plans for the "
             f"coming quarter in some detail." for i in range(16)]
    ids = analyzer.pieces.ids(texts)
    assert sum(len(t) + 2 for t in ids) > 256                # two rows
    net = type("Net", (), {"encoder": Recording()})()
    with torch.inference_mode():
        together = encode_sentences(net, analyzer.pieces, ids)
        alone = torch.cat([encode_sentences(net, analyzer.pieces, [t]) for t in ids])
    assert calls[0][0] == 2 and all(width % ROW_ALIGN == 0 for _, width in calls)
    # a sentence's vector is its own, whatever shares its call (bfloat16's last bits aside)
    assert torch.allclose(together, alone, atol=0.02)
    assert float(torch.nn.functional.cosine_similarity(together, alone).min()) > 0.9999


@contextlib.contextmanager
def _worker(monkeypatch, tmp_path, threads: int = 1):
    """An Analyzer as a `pitchlint serve` worker loads it (fewer threads than cores), with its
    own lock file; the process's thread count restored afterwards."""
    from pitchlint.model.runtime import Analyzer

    before = torch.get_num_threads()
    try:
        an = Analyzer(threads=threads)
        monkeypatch.setattr(an, "alone", Alone(tmp_path / "busy"))
        yield an
    finally:
        torch.set_num_threads(before)


def _encoder(an):
    """The encoder whose layers call before_layer (BF16Encoder's inner where bfloat16 is native)."""
    from pitchlint.model.artifact import bare_encoder

    return bare_encoder(an.net.encoder)


def _layer_threads(monkeypatch, an, during=None):
    """Threads at each encoder layer of one analysis of EMAIL; `during(layer)` runs first."""
    seen = []
    inner = _encoder(an)
    retune = inner.before_layer

    def recording():
        if during:
            during(len(seen))
        retune()
        seen.append(torch.get_num_threads())

    monkeypatch.setattr(inner, "before_layer", recording)
    an.cache.clear()
    answer = an.analyze(EMAIL)
    return seen, answer


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to widen to")
def test_a_worker_alone_uses_every_core_and_gives_way_when_another_analysis_starts(monkeypatch, tmp_path):
    monkeypatch.delenv("PITCHLINT_TORCH_ALONE", raising=False)
    cores = os.cpu_count()
    with _worker(monkeypatch, tmp_path) as an:
        assert (an.threads, an.alone_threads) == (1, cores)
        alone, first = _layer_threads(monkeypatch, an)
        assert alone == [cores] * 6
        assert torch.get_num_threads() == 1                  # its own threads between requests
        with Alone(tmp_path / "busy").analysing():           # another worker's analysis, say
            beside, second = _layer_threads(monkeypatch, an)
        assert beside == [1] * 6
        with contextlib.ExitStack() as other:                # ... starting after two layers
            mid, third = _layer_threads(
                monkeypatch, an, lambda layer: layer == 2 and other.enter_context(Alone(tmp_path / "busy").analysing()))
        assert mid == [cores, cores, 1, 1, 1, 1]
        assert torch.get_num_threads() == 1
        labels = [[(s["focus"]["label"], s["tone"]["label"]) for s in a["sentences"]] for a in (first, second, third)]
        assert labels[0] == labels[1] == labels[2]
        assert [a["tone"]["flags"] for a in (first, second, third)] == [["desperate", "threatening"]] * 3


def test_with_torch_alone_0_a_worker_keeps_its_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("PITCHLINT_TORCH_ALONE", "0")
    with _worker(monkeypatch, tmp_path) as an:
        assert an.alone_threads is None and _encoder(an).before_layer is None
        an.cache.clear()
        an.analyze(EMAIL)
        assert torch.get_num_threads() == 1


def test_a_bad_torch_alone_setting_is_refused_at_start(monkeypatch):
    from pitchlint.model.alone import alone_mode
    from pitchlint.service.startup import StartupError, check

    monkeypatch.delenv("PITCHLINT_COMPUTE", raising=False)
    for value, mode in (("", "auto"), ("AUTO", "auto"), ("0", "0")):
        monkeypatch.setenv("PITCHLINT_TORCH_ALONE", value)
        assert alone_mode() == mode
    monkeypatch.setenv("PITCHLINT_TORCH_ALONE", "always")
    with pytest.raises(StartupError, match="PITCHLINT_TORCH_ALONE must be auto or 0, got 'always'"):
        check(lambda: None)


def test_alone_now_sees_an_analysis_that_starts_in_another_process(tmp_path):
    path = tmp_path / "busy"
    alone = Alone(path)
    assert not alone.alone_now()                          # outside an analysis: no claim
    with alone.analysing() as first:
        assert first and alone.alone_now()
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[2]); "
             "from pitchlint.model.alone import Alone; "
             "cm = Alone(sys.argv[1]).analysing(); print(cm.__enter__(), flush=True); sys.stdin.read()",
             str(path), os.path.join(ROOT, "server")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "False"    # it sees this analysis too
            assert not alone.alone_now()
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
        assert alone.alone_now()                          # it finished: alone again


def test_rows_align_is_a_divisor_of_a_row():
    """Rounding a full row up must not widen it past PACK_TOKENS."""
    assert features.PACK_TOKENS % ROW_ALIGN == 0


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to widen to")
def test_where_the_file_cannot_be_locked_an_analysis_goes_on_not_alone(monkeypatch, tmp_path):
    """The lock is a hint for speed: a file system that refuses it (ENOLCK) costs no answer."""
    import errno

    from pitchlint.model import alone as alone_module

    def refused(*args, **kwargs):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(alone_module, "_lock", refused)
    with Alone(tmp_path / "busy").analysing() as alone:
        assert alone is False
    with _worker(monkeypatch, tmp_path) as an:
        seen, answer = _layer_threads(monkeypatch, an)
        assert seen == [1] * 6                              # never widened
        assert answer["tone"]["flags"] == ["desperate", "threatening"]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to widen to")
def test_a_request_thread_started_while_another_had_widened_runs_its_own_threads(monkeypatch, tmp_path):
    """gthread workers: a new request thread takes the process's thread count of the moment it
    first runs PyTorch; an analysis starts from the worker's own count whatever that was."""
    import threading

    with _worker(monkeypatch, tmp_path) as an:
        seen = []

        def request():
            torch.set_num_threads(os.cpu_count())       # as if it had started mid-widening
            with Alone(tmp_path / "busy").analysing():  # and another analysis runs beside it
                seen.extend(_layer_threads(monkeypatch, an)[0])
            seen.append(torch.get_num_threads())

        t = threading.Thread(target=request)
        t.start()
        t.join()
        assert seen == [1] * 7
