"""The analyzer on ONNX Runtime (`PITCHLINT_COMPUTE=onnx`): the PyTorch runtime's answers
(runtime.py; exactly with the w8 export, within the parity target with the shipped a8), from the
export that `pitchlint onnx export` writes.

Everything around the two graphs is the PyTorch runtime's own code: splitting, the per-sentence
vector cache, the quoted-text alternative, thresholds and the contract's answer (OnnxAnalyzer is
an Analyzer that replaces only how sentence vectors and probabilities are computed). Sentences
are packed into rows by features.pack (rows of the export's `server_pack_tokens`, 256) for w8;
for a8, whose attention runs chunk by chunk, each call is one row of chunks of similar length,
at most `block_cells` padded cells (block_groups); long emails are read in the same windows of
64 sentences (network.context_windows), cut here, outside the graph, and stitched back inside
it.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import artifact
from .features import BATCH_TOKENS, CHUNK_STRIDE, MAX_CHUNK_TOKENS, PACK_TOKENS, WordPieces, pack
from .network import CONTEXT_MARGIN, CONTEXT_WINDOW, WINDOWS_PER_CALL, chunk_token_ids, context_windows
from .onnx_export import (CONTEXT_FILE, ENCODER_FILE, TOKENIZER_FILE, StaleExport, check_export,
                          default_export_dir)
from . import runtime
from .runtime import Alone, Analyzer, LRUCache  # Alone: here for its earlier importers


@dataclass
class PackedBatch:
    input_ids: np.ndarray      # (rows, width) int64
    position_ids: np.ndarray
    segment_ids: np.ndarray    # chunks numbered from 1 within a row; 0 is padding
    spans: list = field(default_factory=list)   # (chunk index, row, start, end)


def sentence_chunks(token_lists: list[list[int]], cls_id: int, sep_id: int):
    """([CLS] window [SEP] per chunk, the sentence each chunk belongs to)."""
    chunks, owner = [], []
    for i, ids in enumerate(token_lists):
        for c in chunk_token_ids(ids, MAX_CHUNK_TOKENS, CHUNK_STRIDE):
            chunks.append([cls_id, *c, sep_id])
            owner.append(i)
    return chunks, owner


def rows_batch(chunks: list[list[int]], rows: list[list[int]]) -> PackedBatch:
    """One encoder call: each row's chunks side by side, numbered from 1, padded to the widest."""
    width = max(sum(len(chunks[i]) for i in r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    pos = np.zeros((len(rows), width), dtype=np.int64)
    seg = np.zeros((len(rows), width), dtype=np.int64)
    spans = []
    for b, r in enumerate(rows):
        at = 0
        for number, i in enumerate(r, 1):
            n = len(chunks[i])
            ids[b, at:at + n] = chunks[i]
            pos[b, at:at + n] = np.arange(n)
            seg[b, at:at + n] = number
            spans.append((i, b, at, at + n))
            at += n
    return PackedBatch(ids, pos, seg, spans)


def packed_batches(chunks: list[list[int]], pack_tokens: int = PACK_TOKENS,
                   batch_tokens: int = BATCH_TOKENS):
    """The encoder's inputs for w8: rows of features.pack, BATCH_TOKENS to a call (as
    features.encode_sentences, which also evens its rows out and pads them to ROW_ALIGN)."""
    rows = pack(chunks, pack_tokens)
    rows.sort(key=lambda r: sum(len(chunks[i]) for i in r))
    per_batch = max(1, batch_tokens // pack_tokens)
    for k in range(0, len(rows), per_batch):
        yield rows_batch(chunks, rows[k:k + per_batch])


def block_groups(lengths: list[int], cells: int) -> list[list[int]]:
    """Chunk indices, one list per encoder call, for a8's attention chunk by chunk: longest
    first, each call's chunks padded to its longest (W) in (C, W) blocks of at most `cells`
    cells (C * W), so the attention's scores, heads x C x W x W, stay within heads x cells x
    128 floats however the sentences' lengths mix (one 128-token sentence among a thousand
    short ones would otherwise make a thousand blocks of 128)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    width = 0
    for i in order:
        if not groups or (len(groups[-1]) + 1) * width > cells:
            groups.append([])
            width = lengths[i]
        groups[-1].append(i)
    return groups


def block_batches(chunks: list[list[int]], cells: int):
    """The encoder's inputs for a8: each group of block_groups as one row."""
    for group in block_groups([len(c) for c in chunks], cells):
        yield rows_batch(chunks, [group])


def pack_chunks(token_lists: list[list[int]], cls_id: int, sep_id: int):
    chunks, _ = sentence_chunks(token_lists, cls_id, sep_id)
    yield from packed_batches(chunks)


def pooled(hidden: np.ndarray, spans: list) -> np.ndarray:
    """Mean of each span's token vectors: (len(spans), H), in the order of `spans`."""
    b, width, h = hidden.shape
    flat = np.concatenate([hidden.reshape(b * width, h), np.zeros((1, h), hidden.dtype)])
    bounds = np.empty(2 * len(spans), dtype=np.int64)
    for k, (_, row, s, e) in enumerate(spans):
        bounds[2 * k] = row * width + s
        bounds[2 * k + 1] = row * width + e
    order = np.argsort(bounds[0::2], kind="stable")
    sorted_bounds = np.empty_like(bounds)
    sorted_bounds[0::2] = bounds[0::2][order]
    sorted_bounds[1::2] = bounds[1::2][order]
    sums = np.add.reduceat(flat, sorted_bounds, axis=0)[0::2]
    counts = (sorted_bounds[1::2] - sorted_bounds[0::2]).astype(hidden.dtype)
    out = np.empty((len(spans), h), dtype=hidden.dtype)
    out[order] = sums / counts[:, None]
    return out


def window_feeds(emails: list[tuple[np.ndarray, list[int], list[bool]]], jobs: list[tuple]) -> dict:
    """The context graph's window inputs for `jobs`, (email, start, end, core start, core end)
    each: positions count from each email's start and end, as the PyTorch runtime counts them."""
    width = max(we - ws for _, ws, we, _, _ in jobs)
    h = emails[0][0].shape[1]
    vec = np.zeros((len(jobs), width, h), dtype=np.float32)
    kinds = np.zeros((len(jobs), width), dtype=np.int64)
    positions = np.zeros((len(jobs), width), dtype=np.int64)
    from_end = np.zeros((len(jobs), width), dtype=np.int64)
    mask = np.zeros((len(jobs), width), dtype=bool)
    for j, (e, ws, we, _, _) in enumerate(jobs):
        vectors, k, _ = emails[e]
        n = vectors.shape[0]
        vec[j, :we - ws] = vectors[ws:we]
        kinds[j, :we - ws] = k[ws:we]
        idx = np.arange(ws, we)
        positions[j, :we - ws] = idx
        from_end[j, :we - ws] = n - 1 - idx
        mask[j, :we - ws] = True
    return {"vectors": vec, "kinds": kinds, "positions": positions, "from_end": from_end,
            "window_mask": mask}


def context_inputs(emails: list[tuple[np.ndarray, list[int], list[bool]]]) -> dict:
    """The context graph's feeds for several emails of any length: (vectors (S, H), kinds,
    counted) each. Windows as the PyTorch runtime reads them, and for every sentence the index
    of its vector in context (in the flattened windows) from the window whose core holds it."""
    jobs = [(e, *w) for e, (vectors, _, _) in enumerate(emails)
            for w in context_windows(vectors.shape[0], CONTEXT_WINDOW, CONTEXT_MARGIN)]
    feeds = window_feeds(emails, jobs)
    width = feeds["vectors"].shape[1]
    longest = max(v.shape[0] for v, _, _ in emails)
    stitch = np.zeros((len(emails), longest), dtype=np.int64)
    counted = np.zeros((len(emails), longest), dtype=bool)
    for j, (e, ws, we, cs, ce) in enumerate(jobs):
        stitch[e, cs:ce] = j * width + np.arange(cs, ce) - ws
    for e, (vectors, _, c) in enumerate(emails):
        counted[e, :vectors.shape[0]] = c
    return {**feeds, "stitch": stitch, "counted": counted}


class Heads:
    """The context graph's heads (ContextGraph.forward after the stitch), on one email's own
    vectors and vectors in context, with the graph's own weights: for emails whose windows
    take several calls."""

    NAMES = ("sentence_focus_own", "sentence_focus_ctx", "sentence_focus_bias", "sentence_tone_own",
             "sentence_tone_ctx", "sentence_tone_bias", "email_focus_own", "email_focus_ctx",
             "email_focus_bias", "attention_w", "attention_b")

    def __init__(self, context_path: Path):
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(context_path)).graph
        found = {i.name: numpy_helper.to_array(i) for i in graph.initializer if i.name in self.NAMES}
        missing = set(self.NAMES) - set(found)
        if missing:
            raise StaleExport(f"{context_path} has no {', '.join(sorted(missing))}: run `pitchlint onnx export`")
        self.w = {k: v.astype(np.float32) for k, v in found.items()}

    def __call__(self, own: np.ndarray, ctx: np.ndarray, counted: np.ndarray) -> dict:
        w = self.w

        def on_both(name):
            return own @ w[name + "_own"].T + ctx @ w[name + "_ctx"].T + w[name + "_bias"]

        weight = counted.astype(np.float32)
        score = np.where(counted, ctx @ w["attention_w"] + w["attention_b"], np.float32(-1e9))
        attn = np.exp(score - score.max())
        attn = attn / attn.sum() * weight
        share = weight / max(float(weight.sum()), 1.0)
        email = (attn @ ctx) @ w["email_focus_own"].T + (share @ ctx) @ w["email_focus_ctx"].T + w["email_focus_bias"]
        return {"sentence_focus": on_both("sentence_focus"), "sentence_tone": on_both("sentence_tone"),
                "email_focus": email.astype(np.float32)}


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = x / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def default_threads() -> int:
    """Every core for each process: a request alone gets the whole machine. Sessions do not spin
    while idle, so several workers share the cores instead of fighting over them."""
    return int(os.environ.get("PITCHLINT_ONNX_THREADS") or os.cpu_count() or 1)


SPIN_MODES = ("auto", "0", "1")


def spin_mode() -> str:
    """PITCHLINT_ONNX_SPIN: auto (unset or empty), 1 or 0."""
    value = os.environ.get("PITCHLINT_ONNX_SPIN", "").strip().lower() or "auto"
    if value not in SPIN_MODES:
        raise ValueError(f"PITCHLINT_ONNX_SPIN must be auto, 0 or 1, got {value!r}")
    return value


def session_options(threads: int, spin: bool = False):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads wait for their next operator asleep, or spin (`spin`) between operators during a
    # run and stop when it ends. Waking them costs about as much as a second core gains on one
    # email (~400 operators), but spinning threads take the cores from another worker computing
    # beside them: OnnxModel picks one or the other per analysis (PITCHLINT_ONNX_SPIN).
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if spin:
        so.add_session_config_entry("session.force_spinning_stop", "1")
    so.log_severity_level = 3
    return so


class OnnxModel:
    """The ONNX Runtime sessions of an export: the encoder's and the context graph's, in two sets
    (threads asleep between operators, or spinning during a run) with PITCHLINT_ONNX_SPIN=auto."""

    def __init__(self, export_dir: Path, threads: int | None = None, pack_tokens: int = PACK_TOKENS,
                 block_cells: int | None = None, spin: str | None = None, alone: Alone | None = None):
        import onnxruntime as ort

        self.export_dir = Path(export_dir)
        self.pack_tokens = pack_tokens
        self.block_cells = block_cells
        self.threads = threads or default_threads()
        # PITCHLINT_ONNX_SPIN: "0" threads always asleep between operators, "1" always spinning
        # during a run, "auto" spinning when the analysis runs alone on the machine (Alone), for
        # which both sets of sessions are loaded (about 35 MB more).
        self.spin = spin or spin_mode()
        self.alone = alone or Alone()
        providers = ["CPUExecutionProvider"]
        self._sessions = {}
        for spinning in {"0": (False,), "1": (True,), "auto": (False, True)}[self.spin]:
            so = session_options(self.threads, spin=spinning)
            self._sessions[spinning] = (
                ort.InferenceSession(str(self.export_dir / ENCODER_FILE), so, providers=providers),
                ort.InferenceSession(str(self.export_dir / CONTEXT_FILE), so, providers=providers))
        self._local = threading.local()
        self.heads = None   # Heads, read from the context graph when a long email first needs them

    @property
    def spinning(self) -> bool:
        """Whether this thread's current analysis uses the spinning sessions."""
        return getattr(self._local, "spinning", self.spin == "1")

    @property
    def encoder(self):
        return self._sessions[self.spinning][0]

    @property
    def context(self):
        return self._sessions[self.spinning][1]

    @contextlib.contextmanager
    def analysing(self):
        """One analysis: with PITCHLINT_ONNX_SPIN=auto, its calls use the spinning sessions when
        it runs alone on the machine, the sleeping ones otherwise."""
        if self.spin != "auto":
            yield
            return
        with self.alone.analysing() as alone:
            self._local.spinning = alone
            try:
                yield
            finally:
                del self._local.spinning

    def encode(self, token_lists: list[list[int]], cls_id: int, sep_id: int, hidden_size: int) -> np.ndarray:
        """One vector per sentence (N, H): chunks packed into rows, long sentences averaged over
        their windows weighted by their tokens (features.encode_sentences, on ONNX Runtime)."""
        if not token_lists:
            return np.zeros((0, hidden_size), dtype=np.float32)
        chunks, owner = sentence_chunks(token_lists, cls_id, sep_id)
        chunk_vecs = np.empty((len(chunks), hidden_size), dtype=np.float32)
        batches = (block_batches(chunks, self.block_cells) if self.block_cells
                   else packed_batches(chunks, self.pack_tokens))
        for batch in batches:
            (hidden,) = self.encoder.run(None, {"input_ids": batch.input_ids,
                                                "position_ids": batch.position_ids,
                                                "segment_ids": batch.segment_ids})
            chunk_vecs[[i for i, _, _, _ in batch.spans]] = pooled(hidden, batch.spans)
        if len(chunks) == len(token_lists):  # no sentence was long enough to be cut
            return chunk_vecs
        weights = np.array([len(c) - 2 for c in chunks], dtype=np.float32)
        out = np.zeros((len(token_lists), hidden_size), dtype=np.float32)
        den = np.zeros(len(token_lists), dtype=np.float32)
        np.add.at(out, owner, chunk_vecs * weights[:, None])
        np.add.at(den, owner, weights)
        return out / den[:, None]

    def logits(self, emails: list[tuple[np.ndarray, list[int], list[bool]]],
               max_windows: int = WINDOWS_PER_CALL) -> list[dict]:
        """Per email: sentence focus (S, 3), sentence tone (S, 3), email focus (2,) logits.
        Emails go to the graph in groups of about `max_windows` windows (an email is never split
        across calls), so time and memory stay linear in their length."""
        out: list = []
        group, windows = [], 0
        for email in emails:
            n = len(context_windows(email[0].shape[0], CONTEXT_WINDOW, CONTEXT_MARGIN))
            if group and windows + n > max_windows:
                out.extend(self._logits(group))
                group, windows = [], 0
            if n > max_windows:   # longer than one call: its windows in calls of max_windows
                out.append(self._long_logits(email, max_windows))
                continue
            group.append(email)
            windows += n
        if group:
            out.extend(self._logits(group))
        return out

    def _long_logits(self, email, max_windows: int) -> dict:
        """One email whose windows would not fit one call: the context layers read them
        max_windows at a time (the graph's `contextual` output alone), each sentence takes its
        vector in context from its window's core, and the heads run here (Heads), so memory
        stays that of one call whatever the email's length."""
        vectors, _, counted = email
        jobs = [(0, *w) for w in context_windows(vectors.shape[0], CONTEXT_WINDOW, CONTEXT_MARGIN)]
        in_context = np.empty_like(vectors)
        unused = {"stitch": np.zeros((1, 1), dtype=np.int64), "counted": np.zeros((1, 1), dtype=bool)}
        for k in range(0, len(jobs), max_windows):
            part = jobs[k:k + max_windows]
            (c,) = self.context.run(["contextual"], {**window_feeds([email], part), **unused})
            for j, (_, ws, _, cs, ce) in enumerate(part):
                in_context[cs:ce] = c[j, cs - ws:ce - ws]
        if self.heads is None:
            self.heads = Heads(self.export_dir / CONTEXT_FILE)
        return self.heads(vectors, in_context, np.asarray(counted, dtype=bool))

    def _logits(self, emails):
        sf, st, ef = self.context.run(["sentence_focus", "sentence_tone", "email_focus"], context_inputs(emails))
        return [{"sentence_focus": sf[e, :v.shape[0]], "sentence_tone": st[e, :v.shape[0]],
                 "email_focus": ef[e]} for e, (v, _, _) in enumerate(emails)]


@functools.cache
def int8_products_are_exact() -> bool:
    """Whether this CPU's uint8 x int8 products (MatMulIntegerToFloat, as the `a8` encoder
    uses them) give exact sums. On x86 CPUs without VNNI, ONNX Runtime's uint8 x int8 kernels
    add pairs of products in saturating 16-bit arithmetic (VPMADDUBSW), and the a8 encoder's
    inputs can reach that (255 x 127 twice is over 32,767); with VNNI (and in WebAssembly) the
    sums are exact. One small product with the largest values says which this CPU is (its sums,
    under 2**24, are exact in float32 too)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    k, n = 64, 3
    w = np.full((k, n), 127, dtype=np.int8)
    w[:, 1] = -127
    w[::2, 2] = -128
    graph = helper.make_graph(
        [helper.make_node("MatMulIntegerToFloat", ["a", "w", "one", "ones", "z"], ["y"], domain="com.microsoft")],
        "probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [2, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, n])],
        [helper.make_tensor("w", TensorProto.INT8, [k, n], w.tobytes(), raw=True),
         helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
         helper.make_tensor("ones", TensorProto.FLOAT, [n], [1.0] * n),
         helper.make_tensor("z", TensorProto.UINT8, [], [128])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=8)
    onnx.checker.check_model(model)
    a = np.full((2, k), 255, dtype=np.uint8)
    a[1] = 1
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"a": a})[0]
    return bool(np.array_equal(got, ((a.astype(np.int32) - 128) @ w.astype(np.int32)).astype(np.float32)))


class Int8KernelsSaturate(RuntimeError):
    pass


def check_int8_kernels(manifest: dict) -> None:
    """Int8KernelsSaturate when `manifest` is an a8 export and this CPU's int8 products saturate."""
    if manifest["encoder"]["variant"] == "a8" and not int8_products_are_exact():
        raise Int8KernelsSaturate(
            "this CPU's int8 products saturate (no VNNI), so the a8 export would not give the "
            "model's answers here: export the exact variant with `pitchlint onnx export --encoder "
            "w8 --out DIR --no-ship` and set PITCHLINT_ONNX_DIR=DIR, or leave PITCHLINT_COMPUTE unset")


class OnnxAnalyzer(Analyzer):
    """Analyzer whose encoder and context layers run on ONNX Runtime (see the module's notes)."""

    def __init__(self, model_dir: Path | str | None = None, cache_size: int = 20000,
                 threads: int | None = None, export_dir: Path | str | None = None):
        t0 = time.perf_counter()
        self.model_dir = Path(model_dir or os.environ.get("PITCHLINT_MODEL_DIR")
                              or artifact.DEFAULT_MODEL_DIR)
        if not (self.model_dir / "config.json").exists():
            raise FileNotFoundError(f"no model at {self.model_dir} (config.json missing); "
                                    f"run `pitchlint train` or set PITCHLINT_MODEL_DIR")
        self.export_dir = Path(export_dir or os.environ.get("PITCHLINT_ONNX_DIR")
                               or default_export_dir(self.model_dir))
        self.manifest = check_export(self.export_dir, self.model_dir)
        check_int8_kernels(self.manifest)
        self.config = artifact.read_config(self.model_dir)
        enc = self.manifest["encoder"]
        self.onnx = OnnxModel(self.export_dir, threads, pack_tokens=enc.get("server_pack_tokens", PACK_TOKENS),
                              block_cells=enc.get("block_cells"))
        self.compute = f"onnx-{self.manifest['encoder']['variant']}"
        self.net = None
        self.pieces = WordPieces(self.export_dir / TOKENIZER_FILE)
        self.hidden_size = self.manifest["encoder"]["hidden_size"]
        m = self.manifest
        self.name, self.version = m["name"], m["version"]
        self.temperature = dict(m["temperature"])
        self.focus_labels = list(m["labels"]["sentence_focus"])
        self.tone_labels = list(m["labels"]["sentence_tone"])
        self.email_labels = list(m["labels"]["email_focus"])
        thr = m["thresholds"]
        self.focus_weights = [thr["sentence_focus"].get(l, 1.0) for l in self.focus_labels]
        self.tone_weights = [thr["sentence_tone"].get(l, 1.0) for l in self.tone_labels]
        self.email_threshold = thr["email_focus_me_talk"]
        self.cache = LRUCache(cache_size)
        self.load_seconds = time.perf_counter() - t0

    def _analysing(self):
        return self.onnx.analysing()

    def _encode(self, texts: list[str]) -> list[torch.Tensor]:
        vecs = self.onnx.encode(self.pieces.ids(texts), self.pieces.cls_id, self.pieces.sep_id,
                                self.hidden_size)
        return list(torch.from_numpy(vecs))

    def _probabilities(self, emails):
        inputs = [(e.vectors.numpy(), list(e.kinds), list(e.counted)) for e in emails]
        logits = self.onnx.logits(inputs)
        t = self.temperature
        return ([torch.from_numpy(_softmax(l["sentence_focus"], t["sentence_focus"])) for l in logits],
                [torch.from_numpy(_softmax(l["sentence_tone"], t["sentence_tone"])) for l in logits],
                [torch.from_numpy(_softmax(l["email_focus"], t["email_focus"])) for l in logits])


RUNTIMES = ("torch", "onnx")


def wants_onnx(compute: str | None = None) -> bool:
    return (compute or os.environ.get("PITCHLINT_COMPUTE") or "").strip().lower() == "onnx"


def load_analyzer(model_dir=None, cache_size: int = 20000, threads: int | None = None,
                  compute: str | None = None) -> Analyzer:
    """The analyzer for `compute` (default PITCHLINT_COMPUTE): ONNX Runtime for "onnx", else the
    PyTorch runtime in that arithmetic. With "onnx", `threads` is ONNX Runtime's (default: every
    core, PITCHLINT_ONNX_THREADS)."""
    if wants_onnx(compute):
        return OnnxAnalyzer(model_dir, cache_size=cache_size,
                            threads=int(os.environ["PITCHLINT_ONNX_THREADS"])
                            if os.environ.get("PITCHLINT_ONNX_THREADS") else None)
    # runtime.Analyzer looked up now, not at import (tests stand in for it there)
    return runtime.Analyzer(model_dir, cache_size=cache_size, threads=threads,
                            compute="auto" if compute == "torch" else compute)


__all__ = ["Int8KernelsSaturate", "check_int8_kernels", "OnnxAnalyzer", "OnnxModel", "StaleExport", "int8_products_are_exact",
           "load_analyzer", "wants_onnx"]
