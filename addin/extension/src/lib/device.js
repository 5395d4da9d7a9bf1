// On-device analysis: the service's analyzer (server/pitchlint/model/runtime.py and
// onnx_runtime.py) over the same ONNX export, in the browser. Text in, the analyze contract's
// answer out, so everything that draws an answer works unchanged.
//
// This module is plain logic: the ONNX Runtime sessions, the tokenizer and the tensor type are
// handed in (src/offscreen/offscreen.js gives onnxruntime-web's; the Node tests give the same
// library running on Node), so it is tested without a browser.
import { splitSentences } from "./segment.js";

const KIND_BODY = 0;
const KIND_QUOTED = 1;
const KIND_SIGNATURE = 2;
const KIND_SUBJECT = 3;
const FLAG_ORDER = ["desperate", "threatening"];
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const PY_STRIP = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export class DeviceAnalyzeError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Python's round(x, 4) for the scores (the exact binary value, rounded to 4 decimals). */
export function round4(x) {
  return Number(x.toFixed(4));
}

/** Overlapping windows over a sentence's tokens (network.chunk_token_ids). */
export function chunkTokenIds(ids, maxTokens, stride) {
  if (ids.length <= maxTokens) return [ids];
  const out = [];
  for (let start = 0; ; start += stride) {
    out.push(ids.slice(start, start + maxTokens));
    if (start + maxTokens >= ids.length) return out;
  }
}

/** Rows of chunk indices, each at most `capacity` tokens: first fit, longest first (features.pack). */
export function packRows(chunks, capacity) {
  const order = chunks.map((_, i) => i).sort((a, b) => chunks[b].length - chunks[a].length);
  const rows = [];
  const room = [];
  for (const i of order) {
    const n = chunks[i].length;
    let placed = false;
    for (let r = 0; r < room.length; r++) {
      if (n <= room[r]) { rows[r].push(i); room[r] -= n; placed = true; break; }
    }
    if (!placed) { rows.push([i]); room.push(capacity - n); }
  }
  return rows;
}

/**
 * Chunk indices, one list per encoder call, for the a8 export's attention chunk by chunk
 * (onnx_runtime.block_groups): longest first, each call's chunks padded to its longest in
 * blocks of at most `cells` cells, so the attention's memory stays bounded however lengths mix.
 */
export function blockGroups(lengths, cells) {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const groups = [];
  let width = 0;
  for (const i of order) {
    if (!groups.length || (groups[groups.length - 1].length + 1) * width > cells) {
      groups.push([]);
      width = lengths[i];
    }
    groups[groups.length - 1].push(i);
  }
  return groups;
}

/** (start, end, coreStart, coreEnd) of the context windows for n sentences (network.context_windows). */
export function contextWindows(n, window, margin) {
  if (n <= window) return [[0, n, 0, n]];
  const out = [];
  let cs = 0;
  while (cs < n) {
    const ws = Math.max(0, Math.min(cs - margin, n - window));
    const we = Math.min(n, ws + window);
    const ce = we === n ? n : we - margin;
    out.push([ws, we, cs, ce]);
    cs = ce;
  }
  return out;
}

function argmaxWeighted(row, weights, skip = -1) {
  let best = -1;
  let bestValue = -Infinity;
  for (let j = 0; j < row.length; j++) {
    const v = j === skip ? -1 : Math.fround(row[j] * weights[j]);
    if (v > bestValue) { best = j; bestValue = v; }
  }
  return best;
}

function softmaxRows(logits, rows, width, temperature) {
  const out = [];
  for (let r = 0; r < rows; r++) {
    const z = new Float64Array(width);
    let max = -Infinity;
    for (let j = 0; j < width; j++) { z[j] = Math.fround(logits[r * width + j] / temperature); if (z[j] > max) max = z[j]; }
    let sum = 0;
    for (let j = 0; j < width; j++) { z[j] = Math.fround(Math.exp(z[j] - max)); sum += z[j]; }
    out.push(Array.from(z, (v) => Math.fround(v / Math.fround(sum))));
  }
  return out;
}

class VectorCache {
  constructor(limit) { this.limit = limit; this.map = new Map(); }
  get(key) {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
  }
  clear() { this.map.clear(); }
  get size() { return this.map.size; }
}

/**
 * options: manifest (the export's model.json), tokenizer (encode(text, {add_special_tokens}) ->
 * {ids}), vocab ids {cls, sep, unk}, encoder and context (each run(feeds) -> Promise of outputs
 * with .data), Tensor (onnxruntime's Tensor class), cacheSize.
 */
export class DeviceAnalyzer {
  constructor({ manifest, tokenizer, ids, encoder, context, Tensor, cacheSize = 2000 }) {
    this.m = manifest;
    this.tokenizer = tokenizer;
    this.ids = ids;
    this.encoder = encoder;
    this.context = context;
    this.Tensor = Tensor;
    this.cache = new VectorCache(cacheSize);
    this.hidden = manifest.encoder.hidden_size;
    const thr = manifest.thresholds;
    this.focusLabels = manifest.labels.sentence_focus;
    this.toneLabels = manifest.labels.sentence_tone;
    this.emailLabels = manifest.labels.email_focus;
    this.focusWeights = this.focusLabels.map((l) => Math.fround(thr.sentence_focus[l] ?? 1));
    this.toneWeights = this.toneLabels.map((l) => Math.fround(thr.sentence_tone[l] ?? 1));
    this.emailThreshold = thr.email_focus_me_talk;
    this.stats = { encoded: 0, cached: 0 };
  }

  get modelInfo() {
    return { name: this.m.name, version: this.m.version };
  }

  tokenIds(text) {
    const ids = this.tokenizer.encode(text.replace(LONE_SURROGATE, "\ufffd"), { add_special_tokens: false }).ids;
    return ids.length ? Array.from(ids, Number) : [this.ids.unk];
  }

  int64(values, dims) {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
    return new this.Tensor("int64", data, dims);
  }

  /** One vector (Float32Array) per text, from the cache or the encoder. */
  async vectors(texts) {
    const out = new Array(texts.length);
    const todo = new Map();
    texts.forEach((t, i) => {
      const v = this.cache.get(t);
      if (v) { out[i] = v; this.stats.cached++; } else {
        if (!todo.has(t)) todo.set(t, []);
        todo.get(t).push(i);
      }
    });
    if (!todo.size) return out;
    const uniq = [...todo.keys()];
    const vecs = await this.encode(uniq.map((t) => this.tokenIds(t)));
    uniq.forEach((t, k) => {
      this.cache.set(t, vecs[k]);
      for (const i of todo.get(t)) out[i] = vecs[k];
    });
    this.stats.encoded += uniq.length;
    return out;
  }

  async encode(tokenLists) {
    const { max_chunk_tokens: maxTokens, chunk_stride: stride, pack_tokens: packTokens, block_cells: cells } = this.m.encoder;
    const h = this.hidden;
    const chunks = [];
    const owner = [];
    tokenLists.forEach((ids, i) => {
      for (const c of chunkTokenIds(ids, maxTokens, stride)) { chunks.push([this.ids.cls, ...c, this.ids.sep]); owner.push(i); }
    });
    const total = (r) => r.reduce((a, i) => a + chunks[i].length, 0);
    // a8: one row per call, chunks of similar length (blockGroups); w8: rows of packTokens
    const rows = cells ? blockGroups(chunks.map((c) => c.length), cells)
      : packRows(chunks, packTokens).sort((a, b) => total(a) - total(b));
    const perBatch = cells ? 1 : Math.max(1, Math.floor(4096 / packTokens));
    const chunkVecs = new Array(chunks.length);
    for (let k = 0; k < rows.length; k += perBatch) {
      const group = rows.slice(k, k + perBatch);
      const width = Math.max(...group.map(total));
      const ids = new Array(group.length * width).fill(0);
      const pos = new Array(group.length * width).fill(0);
      const seg = new Array(group.length * width).fill(0);
      const spans = [];
      group.forEach((r, b) => {
        let at = 0;
        r.forEach((i, number) => {
          const c = chunks[i];
          for (let t = 0; t < c.length; t++) { ids[b * width + at + t] = c[t]; pos[b * width + at + t] = t; seg[b * width + at + t] = number + 1; }
          spans.push([i, b, at, at + c.length]);
          at += c.length;
        });
      });
      const dims = [group.length, width];
      const result = await this.encoder.run({ input_ids: this.int64(ids, dims), position_ids: this.int64(pos, dims), segment_ids: this.int64(seg, dims) });
      const hidden = result.hidden.data;
      for (const [i, b, s, e] of spans) {
        const acc = new Float64Array(h);
        for (let t = s; t < e; t++) {
          const base = (b * width + t) * h;
          for (let d = 0; d < h; d++) acc[d] += hidden[base + d];
        }
        const v = new Float32Array(h);
        for (let d = 0; d < h; d++) v[d] = acc[d] / (e - s);
        chunkVecs[i] = v;
      }
    }
    if (chunks.length === tokenLists.length) return chunkVecs;
    const out = tokenLists.map(() => new Float64Array(h));
    const den = new Float64Array(tokenLists.length);
    chunks.forEach((c, k) => {
      const w = c.length - 2;
      for (let d = 0; d < h; d++) out[owner[k]][d] += chunkVecs[k][d] * w;
      den[owner[k]] += w;
    });
    return out.map((v, i) => Float32Array.from(v, (x) => x / den[i]));
  }

  /** Logits for emails given as {vectors: [Float32Array], kinds: [int], counted: [bool]}. */
  async logits(emails) {
    const { window, margin } = this.m.context;
    const h = this.hidden;
    const jobs = [];
    emails.forEach((e, ei) => { for (const w of contextWindows(e.vectors.length, window, margin)) jobs.push([ei, ...w]); });
    const width = Math.max(...jobs.map(([, ws, we]) => we - ws));
    const longest = Math.max(...emails.map((e) => e.vectors.length));
    const vec = new Float32Array(jobs.length * width * h);
    const kinds = new Array(jobs.length * width).fill(0);
    const positions = new Array(jobs.length * width).fill(0);
    const fromEnd = new Array(jobs.length * width).fill(0);
    const mask = new Uint8Array(jobs.length * width);
    const stitch = new Array(emails.length * longest).fill(0);
    const counted = new Uint8Array(emails.length * longest);
    jobs.forEach(([ei, ws, we, cs, ce], j) => {
      const e = emails[ei];
      const n = e.vectors.length;
      for (let p = ws; p < we; p++) {
        const at = j * width + (p - ws);
        vec.set(e.vectors[p], at * h);
        kinds[at] = e.kinds[p];
        positions[at] = p;
        fromEnd[at] = n - 1 - p;
        mask[at] = 1;
      }
      for (let p = cs; p < ce; p++) stitch[ei * longest + p] = j * width + (p - ws);
    });
    emails.forEach((e, ei) => e.counted.forEach((c, p) => { counted[ei * longest + p] = c ? 1 : 0; }));
    const T = this.Tensor;
    const dims = [jobs.length, width];
    const out = await this.context.run({
      vectors: new T("float32", vec, [jobs.length, width, h]),
      kinds: this.int64(kinds, dims), positions: this.int64(positions, dims), from_end: this.int64(fromEnd, dims),
      window_mask: new T("bool", mask, dims),
      stitch: this.int64(stitch, [emails.length, longest]),
      counted: new T("bool", counted, [emails.length, longest]),
    }, ["sentence_focus", "sentence_tone", "email_focus"]);   // not `contextual` (the server's long emails)
    const nf = this.focusLabels.length;
    const nt = this.toneLabels.length;
    const ne = this.emailLabels.length;
    const t = this.m.temperature;
    return emails.map((e, ei) => {
      const n = e.vectors.length;
      return {
        sf: softmaxRows(out.sentence_focus.data.subarray(ei * longest * nf, (ei * longest + n) * nf), n, nf, t.sentence_focus),
        st: softmaxRows(out.sentence_tone.data.subarray(ei * longest * nt, (ei * longest + n) * nt), n, nt, t.sentence_tone),
        ef: softmaxRows(out.email_focus.data.subarray(ei * ne, (ei + 1) * ne), 1, ne, t.email_focus)[0],
      };
    });
  }

  /** The analyze contract's answer for one email. Throws DeviceAnalyzeError for bad input. */
  async analyze({ text, subject = null } = {}) {
    if (typeof text !== "string") throw new DeviceAnalyzeError("invalid_text", "text must be a string");
    const sentences = splitSentences(text);
    if (!sentences.length) throw new DeviceAnalyzeError("empty_text", "text is empty or only white space; send the email body to analyse");
    const subj = typeof subject === "string" ? subject.replace(PY_STRIP, "") : "";
    const texts = [...(subj ? [subj] : []), ...sentences.map((s) => s.text)];
    const vectors = await this.vectors(texts);
    let kinds = sentences.map((s) => (s.quoted ? KIND_QUOTED : s.signature ? KIND_SIGNATURE : KIND_BODY));
    let counted = kinds.map((k) => k === KIND_BODY);
    if (subj) { kinds = [KIND_SUBJECT, ...kinds]; counted = [false, ...counted]; }
    const emails = [{ vectors, kinds, counted }];
    const hasQuoted = kinds.includes(KIND_QUOTED);
    // The email's focus if its own text holds no pitch and the quoted text must count too.
    if (hasQuoted) emails.push({ vectors, kinds, counted: kinds.map((k) => k === KIND_BODY || k === KIND_QUOTED) });
    const [main, alt] = await this.logits(emails);
    return this.decide(sentences, kinds, counted, main, alt, subj ? 1 : 0);
  }

  decide(sentences, kinds, counted, main, alt, off) {
    const n = sentences.length;
    const sf = main.sf.slice(off, off + n);
    const st = main.st.slice(off, off + n);
    const other = this.focusLabels.indexOf("other");
    const neutral = this.toneLabels.indexOf("neutral");
    const focusIdx = sf.map((row) => argmaxWeighted(row, this.focusWeights));
    const toneIdx = st.map((row) => argmaxWeighted(row, this.toneWeights));
    for (let k = 0; k < n; k++) {
      if (toneIdx[k] !== neutral && focusIdx[k] === other) focusIdx[k] = argmaxWeighted(sf[k], this.focusWeights, other);
    }
    const own = kinds.slice(off).map((k) => k === KIND_BODY);
    const pitch = focusIdx.map((f, k) => f !== other || toneIdx[k] !== neutral);
    const ownHasPitch = own.some((o, k) => o && pitch[k]);
    const useAlt = alt && !ownHasPitch && kinds.slice(off).some((k) => k === KIND_QUOTED);
    const emailCounted = useAlt ? kinds.slice(off).map((k) => k === KIND_BODY || k === KIND_QUOTED) : counted.slice(off);
    const ef = useAlt ? alt.ef : main.ef;
    const messages = this.m.messages;
    const out = sentences.map((s, k) => {
      const focus = this.focusLabels[focusIdx[k]];
      const tone = this.toneLabels[toneIdx[k]];
      const flagged = focus === "me_talk" || tone !== "neutral";
      return {
        start: s.start, end: s.end, text: s.text,
        focus: { label: focus, scores: Object.fromEntries(this.focusLabels.map((l, j) => [l, round4(sf[k][j])])) },
        tone: { label: tone, scores: Object.fromEntries(this.toneLabels.map((l, j) => [l, round4(st[k][j])])) },
        flagged, message: flagged ? (messages[tone] || messages[focus] || null) : null,
        quoted: s.quoted, signature: s.signature,
      };
    });
    const rows = st.filter((_, k) => emailCounted[k]);
    const labels = new Set(toneIdx.filter((_, k) => emailCounted[k]).map((t) => this.toneLabels[t]));
    const flags = FLAG_ORDER.filter((f) => labels.has(f));
    const toneScores = {};
    for (const f of FLAG_ORDER) {
      const j = this.toneLabels.indexOf(f);
      toneScores[f] = round4(rows.length ? Math.max(...rows.map((r) => r[j])) : 0);
    }
    toneScores.neutral = round4(rows.length ? Math.min(...rows.map((r) => r[neutral])) : 1);
    const pMe = ef[this.emailLabels.indexOf("me_talk")];
    const primary = flags.includes("threatening") ? "threatening" : flags.includes("desperate") ? "desperate" : "neutral";
    return {
      model: this.modelInfo,
      focus: { label: pMe >= this.emailThreshold ? "me_talk" : "customer_centric", scores: { me_talk: round4(pMe), customer_centric: round4(1 - pMe) } },
      tone: { label: primary, flags, scores: toneScores },
      sentences: out,
    };
  }
}
