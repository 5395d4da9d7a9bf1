// What the writer wrote: the editor's text without the quoted earlier messages and the
// signature. Quotes and signatures are removed in two passes: by element (the mail clients
// mark them) and, for what pasted or plain-text mail leaves behind, by line.

/** Elements skipped wherever they are (their text is not the writer's). */
export const EXCLUDE_SELECTOR = [
  "blockquote",
  ".gmail_quote", ".gmail_quote_container", ".gmail_extra", ".gmail_signature",
  "[data-smartmail='gmail_signature']", ".gmail_signature_prefix",
  "#Signature", "#signature", "[id^='Signature']", ".x_Signature",
  "#divRplyFwdMsg", "[id$='_divRplyFwdMsg']", ".moz-cite-prefix", ".moz-signature",
  "[data-pitchlint-ignore]",
].join(",");

/** Elements after which nothing is the writer's (Outlook's reply header and what follows). */
export const STOP_SELECTOR = [
  "#appendonsend", "#divRplyFwdMsg", "[id$='_divRplyFwdMsg']", "div.gmail_quote", "#mail-editor-reference-message-container",
].join(",");

const QUOTE_HEADER = [
  /^On .{3,200}\bwrote:\s*$/,                       // Gmail, Apple Mail, Thunderbird
  /^Le .{3,200}\ba écrit\s*:\s*$/,
  /^Am .{3,200}\bschrieb .{0,100}:\s*$/,
  /^-{2,}\s*(Original Message|Forwarded message|Weitergeleitete Nachricht)\s*-{2,}\s*$/i,
  /^_{10,}\s*$/,                                    // Outlook's rule before "From:"
];
const OUTLOOK_HEADER_START = /^(From|De|Von|Da):\s.+$/;
const OUTLOOK_HEADER_NEXT = /^(Sent|Date|Envoyé|Gesendet|Inviato|To|À|An|A|Subject|Objet|Betreff|Oggetto|Cc):\s/;
const SIGNATURE_DELIMITER = /^-- ?$/;

/**
 * The spans of `text` (UTF-16 [start, end)) that are the writer's own: everything before a
 * reply header or signature delimiter, without lines quoted with ">".
 */
export function draftSpans(text) {
  const spans = [];
  let lineStart = 0;
  let spanStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    const trimmed = line.trim();
    let cutToEnd = SIGNATURE_DELIMITER.test(line) || QUOTE_HEADER.some((re) => re.test(trimmed));
    if (!cutToEnd && OUTLOOK_HEADER_START.test(trimmed)) {
      const nextEnd = text.indexOf("\n", lineEnd + 1);
      const next = text.slice(lineEnd + 1, nextEnd < 0 ? text.length : nextEnd).trim();
      cutToEnd = OUTLOOK_HEADER_NEXT.test(next);
    }
    if (cutToEnd) {
      if (lineStart > spanStart) spans.push([spanStart, lineStart]);
      return trimSpans(text, spans);
    }
    if (/^\s*>/.test(line)) {
      if (lineStart > spanStart) spans.push([spanStart, lineStart]);
      spanStart = Math.min(text.length, lineEnd + 1);
    }
    if (lineEnd >= text.length) break;
    lineStart = lineEnd + 1;
  }
  if (text.length > spanStart) spans.push([spanStart, text.length]);
  return trimSpans(text, spans);
}

function trimSpans(text, spans) {
  // Trailing blank lines before a cut are not content; keep offsets of the rest untouched.
  const out = [];
  for (const [s, e] of spans) {
    let end = e;
    while (end > s && /\s/.test(text[end - 1])) end--;
    if (end > s) out.push([s, end]);
  }
  return out;
}

/**
 * Joins the kept spans of `text` into the text sent to the service, with a map back.
 * Returns {text, pieces}; pieces[i] = {from, to, source} says that sent[from, to) is
 * original[source, source + to - from).
 */
export function joinSpans(text, spans) {
  const pieces = [];
  let out = "";
  for (let i = 0; i < spans.length; i++) {
    const [s, e] = spans[i];
    if (i > 0) out += "\n"; // a removed quote becomes a line break, as it looked
    pieces.push({ from: out.length, to: out.length + (e - s), source: s });
    out += text.slice(s, e);
  }
  return { text: out, pieces };
}

/** Maps a UTF-16 index in the sent text to the original text; `edge` is "start" or "end". */
export function toSourceIndex(pieces, index, edge = "start") {
  for (const p of pieces) {
    if (edge === "start" ? index < p.to : index <= p.to) {
      if (index < p.from) return p.source;
      return p.source + (index - p.from);
    }
  }
  const last = pieces[pieces.length - 1];
  return last ? last.source + (last.to - last.from) : 0;
}
