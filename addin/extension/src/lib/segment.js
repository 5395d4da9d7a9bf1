// Sentence splitting, with quoted history and signatures marked: a line-by-line port of the
// service's splitter (server/pitchlint/text/segment.py), so that the on-device model reads
// exactly the sentences the service reads. Offsets are code points, as the service counts them.
// test/unit/segment.test.js checks it against fixtures made by the Python splitter from every
// corpus and dev email (scripts/segment_fixtures.py); change both together.
//
// Python's `re` and JavaScript's RegExp differ in what \s, \w, \b and \d mean and in case-
// insensitive matching; the classes below spell out Python's meaning (its str.isspace, str.isalnum,
// Unicode decimal digits), and case-insensitive patterns run on a copy of the text in which the
// two letters Python folds to "i" and JavaScript does not (U+0130, U+0131) are "i" (same length).

const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_WORD = "\\p{L}\\p{N}_";
// \b: between a word character and anything else (Python's Unicode-aware word boundary).
const PY_B = `(?:(?<=[${PY_WORD}])(?![${PY_WORD}])|(?<![${PY_WORD}])(?=[${PY_WORD}]))`;
// str.isdigit(): decimal digits and the other characters with a digit value (superscripts, circled).
const PY_DIGIT = new RegExp("^[\\p{Nd}\\u{b2}-\\u{b3}\\u{b9}\\u{1369}-\\u{1371}\\u{19da}\\u{2070}\\u{2074}-\\u{2079}" +
  "\\u{2080}-\\u{2089}\\u{2460}-\\u{2468}\\u{2474}-\\u{247c}\\u{2488}-\\u{2490}\\u{24ea}\\u{24f5}-\\u{24fd}\\u{24ff}" +
  "\\u{2776}-\\u{277e}\\u{2780}-\\u{2788}\\u{278a}-\\u{2792}\\u{10a40}-\\u{10a43}\\u{10e60}-\\u{10e68}" +
  "\\u{11052}-\\u{1105a}\\u{1f100}-\\u{1f10a}]", "u");
const PY_LOWER = /^\p{Lowercase}/u;
const PY_SYMBOL = /^[\p{So}\p{Sk}]/u;

const LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/gu;
const BOUNDARY = new RegExp(`(?:[.!?]+|…+)["'”’)\\]]*(?=[${PY_SPACE}\\x00-\\x1f\\x7f])`, "gu");
const TITLES = new Set(["mr", "mrs", "ms", "mx", "dr", "prof", "st", "vs", "v", "e.g", "i.e", "eg", "ie", "cf",
  "attn", "approx", "appr", "viz", "resp", "p.s", "ps", "n.b", "nb", "re", "fwd", "pvt"]);
const NUMBERED = new Set(["no", "nos", "nr", "vol", "fig", "pp", "ref", "ext", "tel", "jan", "feb", "mar",
  "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "ca",
  "min", "max", "p", "pg", "art", "sec", "para", "ch"]);
const GREETING = new RegExp(
  "^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening|day)|morning|" +
  "afternoon|evening|yo|howdy|hola|bonjour|ciao)" + PY_B + `[^,.!?:;\\n]{0,40}[,!:][${PY_SPACE}]+(?=[A-Z])`, "iu");
const INLINE_BLANK = /[ \t\x00-\x08\x0e-\x1b\x1f\x7f\xa0]/u;
const LIST_MARKER = new RegExp(`^[${PY_SPACE}]*(?:\\p{Nd}{1,3}|[A-Za-z]|[ivxIVX]{1,4})\\.$`, "u");
const INLINE_CUTS = new RegExp(
  `(?<=${PY_B}wrote:)[${PY_SPACE}]+(?=>|[^${PY_SPACE}])|(?<=-{3})[${PY_SPACE}]+(?=\\*?(?:from|date|sent|to|subject):)`, "giu");
const ABBREVIATION = /([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.$/u;
const BULLETS = new RegExp(`(?<=[^${PY_SPACE}])[${PY_SPACE}]+(?=[•●▪◦‣][${PY_SPACE}])`, "gu");
const BEFORE_CAPITAL = new RegExp(`(?<=[^${PY_SPACE}])[${PY_SPACE}]+(?=[A-Z])`, "gu");

// Sign-offs: the words case-insensitively, then (case-sensitively) perhaps a name on the line.
const SIGN_OFF_WORDS = ["best", "best regards", "kind regards", "kindest regards", "regards", "warm regards",
  "warmest regards", "warmly", "warm wishes", "best wishes", "all the best", "thanks", "thank you",
  "thanks so much", "thanks again", "thank you so much", "many thanks", "thanks in advance",
  "thank you in advance", "cheers", "sincerely", "yours sincerely", "sincerely yours", "yours truly",
  "yours faithfully", "respectfully", "talk soon", "speak soon", "take care", "rgds", "br", "thx", "ty", "tia",
  "cordially", "with thanks", "with gratitude", "with kind regards", "with best regards", "greetings",
  "salutations", "un saludo", "saludos", "bonne (?:journée|semaine)", "mit freundlichen grüßen", "ciao", "xx",
  "xo", "love"].map((w) => new RegExp(`^(?:${w})`, "iu"));
const SIGN_OFF_REST = new RegExp(
  `^[${PY_SPACE}]*[,.!]*(?:[${PY_SPACE}]*[,|\\-–—]?[${PY_SPACE}]*[A-Z@][${PY_WORD}.'&@()]*` +
  `(?:[${PY_SPACE},|\\-–—]+[A-Z@][${PY_WORD}.'&@()]*){0,6})?[${PY_SPACE}]*$`, "u");
const SIGNATURE_DELIMITER = new RegExp(`^(?:--|—|__+)(?:[${PY_SPACE}]|$)`, "u");
const SENT_FROM = /^(?:sent from my|sent from (?:outlook|mail|yahoo)|get outlook for)/iu;
const ON_WROTE = new RegExp(`^(?:>[${PY_SPACE}]*)*on${PY_B}.{4,300}${PY_B}wrote:$`, "iu");
const ORIGINAL_MESSAGE = new RegExp(`^-{2,}[${PY_SPACE}]*original message[${PY_SPACE}]*-{2,}$`, "iu");
const FORWARD_MARKER = new RegExp(
  `^(?:-{2,}[${PY_SPACE}]*forwarded message[${PY_SPACE}]*-{2,}|begin forwarded message:|` +
  `-{2,}[${PY_SPACE}]*forwarded by .*|fwd?:[${PY_SPACE}]*-{2,}.*)$`, "iu");
const HEADER = new RegExp(`^\\*?(?:from|sent|date|to|cc|bcc|subject|reply-to)\\*?:[${PY_SPACE}]`, "iu");
const PS = new RegExp(`^p\\.?[${PY_SPACE}]?p?\\.?s\\.?${PY_B}`, "iu");
const SENT_OR_DATE = /^\*?(sent|date)\*?:/iu;

/** The text Python's case-insensitive patterns see (same length: U+0130 and U+0131 fold to "i"). */
function foldForIgnoreCase(text) {
  return text.replace(/[\u0130\u0131]/g, "i");
}

function codePointAtIndex(text, i) {
  return String.fromCodePoint(text.codePointAt(i));
}

/** The code point that ends just before UTF-16 index i. */
function codePointBefore(text, i) {
  const c = text.charCodeAt(i - 1);
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = text.charCodeAt(i - 2);
    if (h >= 0xd800 && h <= 0xdbff) return text.slice(i - 2, i);
  }
  return text[i - 1];
}

/** The UTF-16 index `n` code points before i (not before `floor`). */
function backCodePoints(text, i, n, floor) {
  while (n > 0 && i > floor) {
    i--;
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > floor) {
      const h = text.charCodeAt(i - 1);
      if (h >= 0xd800 && h <= 0xdbff) i--;
    }
    n--;
  }
  return i;
}

function countCodePoints(text, from = 0, to = text.length) {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const PY_SPACE_RE = new RegExp(`^[${PY_SPACE}]$`, "u");

/** White space, a control character or a byte-order mark: never a sentence's edge. */
function isBlankUnit(ch) {
  const o = ch.charCodeAt(0);
  return o < 32 || (o >= 127 && o <= 159) || o === 0xfeff || PY_SPACE_RE.test(ch);
}

function stripSpan(text, start, end) {
  // Only BMP characters are blank, so stepping by UTF-16 units is stepping by code points here.
  while (start < end && isBlankUnit(text[start])) start++;
  while (end > start && isBlankUnit(text[end - 1])) end--;
  return [start, end];
}

function abbreviationBlocks(chunk, next) {
  const m = ABBREVIATION.exec(chunk);
  if (!m) return false;
  const word = m[1].toLowerCase();
  if (TITLES.has(word)) return true;
  return NUMBERED.has(word) && PY_DIGIT.test(next);
}

function isSymbol(ch) {
  const o = ch.codePointAt(0);
  return PY_SYMBOL.test(ch) || (o >= 0x1f000 && o <= 0x1faff);
}

/** Sentence spans (UTF-16) inside one line [start, end). */
function splitLine(text, start, end) {
  const cuts = new Set();
  const line = text.slice(start, end);
  const folded = foldForIgnoreCase(line);
  const g = GREETING.exec(folded);
  if (g) cuts.add(start + g[0].length);
  for (const m of folded.matchAll(INLINE_CUTS)) cuts.add(start + m.index + m[0].length);
  for (const m of line.matchAll(BOUNDARY)) {
    const cut = start + m.index + m[0].length;
    let at = cut;
    while (at < end && INLINE_BLANK.test(text[at])) at++;
    if (at >= end) continue;
    const next = codePointAtIndex(text, at);
    const punct = m[0];
    if (punct.startsWith(".") && !punct.startsWith("..")) {
      const dot = start + m.index + 1;
      if (PY_LOWER.test(next) || abbreviationBlocks(text.slice(backCodePoints(text, dot, 64, start), dot), next)) continue;
      if (countCodePoints(text, start, dot) <= 8 && LIST_MARKER.test(text.slice(start, dot))) continue;
    }
    cuts.add(cut);
  }
  for (const m of line.matchAll(BULLETS)) cuts.add(start + m.index + m[0].length);
  for (const m of line.matchAll(BEFORE_CAPITAL)) {
    if (isSymbol(codePointBefore(line, m.index))) cuts.add(start + m.index + m[0].length);
  }
  const spans = [];
  let s = start;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    spans.push(stripSpan(text, s, cut));
    s = cut;
  }
  spans.push(stripSpan(text, s, end));
  return spans.filter(([a, b]) => b > a);
}

function isSignOff(t) {
  const folded = foldForIgnoreCase(t);
  for (const word of SIGN_OFF_WORDS) {
    const m = word.exec(folded);
    if (m && SIGN_OFF_REST.test(t.slice(m[0].length))) return true;
  }
  return false;
}

/**
 * Every sentence of `text`, in order: [{start, end, text, quoted, signature}] with start and end
 * in code points (Python string indices), as the service's splitter gives them.
 */
export function splitSentences(text) {
  const spans = [];
  let pos = 0;
  const lines = [];
  for (const m of text.matchAll(LINE_BREAK)) {
    lines.push([pos, m.index]);
    pos = m.index + m[0].length;
  }
  lines.push([pos, text.length]);
  for (const [a0, b0] of lines) {
    const [a, b] = stripSpan(text, a0, b0);
    if (b > a) spans.push(...splitLine(text, a, b));
  }
  const n = spans.length;
  const texts = spans.map(([a, b]) => text.slice(a, b));
  const quoted = new Array(n).fill(false);
  const signature = new Array(n).fill(false);

  let historyFrom = n;
  let i = 0;
  while (i < n) {
    const t = texts[i];
    const ft = foldForIgnoreCase(t);
    if (ON_WROTE.test(ft) || ORIGINAL_MESSAGE.test(ft)) { historyFrom = i; break; }
    const lower = t.toLowerCase();
    if ((lower.startsWith("from:") || lower.startsWith("*from:*")) &&
        texts.slice(i + 1, i + 4).some((f) => SENT_OR_DATE.test(foldForIgnoreCase(f)))) {
      historyFrom = i;
      break;
    }
    if (FORWARD_MARKER.test(ft)) {
      quoted[i] = true;
      i++;
      while (i < n && HEADER.test(foldForIgnoreCase(texts[i]))) { quoted[i] = true; i++; }
      continue;
    }
    if (t.startsWith(">")) quoted[i] = true;
    i++;
  }
  for (let k = historyFrom; k < n; k++) quoted[k] = true;

  const ownAfter = new Array(historyFrom + 1).fill(0);
  for (let k = historyFrom - 1; k >= 0; k--) ownAfter[k] = ownAfter[k + 1] + (quoted[k] ? 0 : 1);
  for (let k = 0; k < historyFrom; k++) {
    const t = texts[k];
    if (quoted[k]) continue;
    if (SENT_FROM.test(foldForIgnoreCase(t))) { signature[k] = true; continue; }
    const delimiter = SIGNATURE_DELIMITER.test(t);
    if (delimiter || (ownAfter[k + 1] <= 8 && isSignOff(t))) {
      const rest = [];
      for (let m = k + 1; m < historyFrom; m++) if (!quoted[m]) rest.push(m);
      const short = rest.length <= 8 && rest.every((m) => countCodePoints(texts[m]) <= 80);
      if (delimiter || short) {
        for (const m of [k, ...rest]) {
          if (PS.test(foldForIgnoreCase(texts[m]))) break;
          signature[m] = true;
        }
        break;
      }
    }
  }

  // UTF-16 -> code points, walking forward once (spans are in order).
  const out = [];
  let unit = 0;
  let cp = 0;
  for (let k = 0; k < n; k++) {
    const [a, b] = spans[k];
    cp += countCodePoints(text, unit, a);
    const start = cp;
    cp += countCodePoints(text, a, b);
    unit = b;
    out.push({ start, end: cp, text: texts[k], quoted: quoted[k], signature: signature[k] });
  }
  return out;
}
