// From an editor to the request, and from the service's answer back to spans of the editor's
// text. Pure functions over extract.js, draft.js and offsets.js.
import { extractText, rangeForTextSpan } from "./extract.js";
import { EXCLUDE_SELECTOR, STOP_SELECTOR, draftSpans, joinSpans, toSourceIndex } from "./draft.js";
import { codePointIndexTable, codePointToUtf16 } from "./offsets.js";

/** The writer's text in `root`: {fullText, segments, text (sent), pieces}. */
export function readDraft(root, options = {}) {
  const { text: fullText, segments } = extractText(root, {
    exclude: options.exclude ?? EXCLUDE_SELECTOR,
    stopAt: options.stopAt ?? STOP_SELECTOR,
    preserveNewlines: options.preserveNewlines ?? false,
  });
  const { text, pieces } = joinSpans(fullText, draftSpans(fullText));
  return { fullText, segments, text, pieces };
}

export const LABELS = {
  threatening: "threatening",
  desperate: "desperate",
  me_talk: "me-talk",
};

/** The one label a flagged sentence is shown with: threatening > desperate > me-talk. */
export function sentenceLabel(sentence) {
  if (!sentence || !sentence.flagged) return null;
  const tone = sentence.tone && sentence.tone.label;
  if (tone === "threatening" || tone === "desperate") return tone;
  if (sentence.focus && sentence.focus.label === "me_talk") return "me-talk";
  return tone && tone !== "neutral" ? tone : "me-talk";
}

/** Normalised sentence text, the key under which "Ignore" is remembered. */
export function normalizeSentence(text) {
  return String(text).normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();
}

/** A 53-bit hash (cyrb53) of the normalised sentence: the ignore list keeps no email text. */
export function ignoreKey(text) {
  const str = normalizeSentence(text);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * The flagged sentences of `response` as spans of the draft's full text (UTF-16), trimmed of
 * surrounding white space: [{label, message, text, start, end, key}].
 * `ignored` is a Set of ignoreKey values to leave out.
 */
export function flaggedSpans(response, draft, ignored = new Set()) {
  const out = [];
  const sentences = (response && response.sentences) || [];
  if (!sentences.length) return out;
  const table = codePointIndexTable(draft.text);
  for (const s of sentences) {
    const label = sentenceLabel(s);
    if (!label || s.quoted || s.signature) continue;
    let a = codePointToUtf16(draft.text, s.start, table);
    let b = codePointToUtf16(draft.text, s.end, table);
    while (a < b && /\s/.test(draft.text[a])) a++;
    while (b > a && /\s/.test(draft.text[b - 1])) b--;
    if (b <= a) continue;
    const text = draft.text.slice(a, b);
    const key = ignoreKey(text);
    if (ignored.has(key)) continue;
    out.push({
      label, key, text,
      // Set when the team keeps history: "Ignore" then tells the team's feedback (/v1/feedback).
      sampleId: Number.isInteger(s.sample_id) ? s.sample_id : null,
      message: s.message || defaultMessage(label),
      start: toSourceIndex(draft.pieces, a, "start"),
      end: toSourceIndex(draft.pieces, b, "end"),
    });
  }
  return out;
}

function defaultMessage(label) {
  return {
    threatening: "This line reads as a threat; say what the reader gains instead.",
    desperate: "This line reads as desperate; lead with something useful to the reader.",
    "me-talk": "This sentence is about you; say what it means for the reader.",
  }[label];
}

/** DOM Ranges for spans (from flaggedSpans) over the draft the spans were computed on. */
export function rangesForSpans(doc, draft, spans) {
  const out = [];
  for (const span of spans) {
    const range = rangeForTextSpan(doc, draft.segments, span.start, span.end);
    if (range) out.push({ ...span, range });
  }
  return out;
}

/**
 * Re-finds spans computed on an older text in the current one (the writer typed while the
 * service was answering): a span stays where its text still is, or moves to the nearest
 * place the same text appears; otherwise it is dropped.
 */
export function relocateSpans(spans, oldText, newText) {
  if (oldText === newText) return spans;
  const out = [];
  for (const span of spans) {
    if (newText.slice(span.start, span.end) === span.text) { out.push(span); continue; }
    let best = -1;
    let bestDistance = Infinity;
    for (let i = newText.indexOf(span.text); i >= 0; i = newText.indexOf(span.text, i + 1)) {
      const d = Math.abs(i - span.start);
      if (d < bestDistance) { best = i; bestDistance = d; }
    }
    if (best >= 0) out.push({ ...span, start: best, end: best + span.text.length });
  }
  return out;
}

/** The email at a glance: {focus, tones, text} e.g. "me-talk · desperate". */
export function emailSummary(response) {
  if (!response) return null;
  const focus = response.focus && response.focus.label === "me_talk" ? "me-talk" : "customer-centric";
  const flags = (response.tone && response.tone.flags) || [];
  const tones = flags.length ? [...flags] : [(response.tone && response.tone.label) || "neutral"];
  const order = ["threatening", "desperate", "neutral"];
  tones.sort((x, y) => order.indexOf(x) - order.indexOf(y));
  return { focus, tones, text: [focus, ...tones].join(" · ") };
}
