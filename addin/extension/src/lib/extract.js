// Reads an editor's (or a message's) text the way it is displayed, line by line, and keeps a
// map from every character back to the DOM text node it came from. Nothing in the DOM is
// changed. Line breaks that come from <br> or from block elements (<div>, <p>, <li>...) are
// "virtual" characters with no text node behind them.

const BLOCK_TAGS = new Set([
  "ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "CENTER", "DD", "DETAILS", "DIV", "DL", "DT",
  "FIELDSET", "FIGCAPTION", "FIGURE", "FOOTER", "FORM", "H1", "H2", "H3", "H4", "H5", "H6",
  "HEADER", "HR", "LI", "MAIN", "NAV", "OL", "P", "PRE", "SECTION", "SUMMARY", "TABLE", "TBODY",
  "TD", "TFOOT", "TH", "THEAD", "TR", "UL",
]);
const SKIP_TAGS = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "HEAD", "TITLE", "IFRAME", "OBJECT"]);

export function isBlockElement(el) {
  return BLOCK_TAGS.has(el.nodeName.toUpperCase());
}

function isHidden(el) {
  if (el.hidden) return true;
  const display = el.style && el.style.display;
  return display === "none";
}

// A <br> that ends a line which already has text adds no new line (<div>Hi<br></div> is one line).
function isLastInBlock(br, root) {
  let node = br;
  while (node && node !== root) {
    for (let sib = node.nextSibling; sib; sib = sib.nextSibling) {
      if (sib.nodeType === 3 && sib.data.length === 0) continue;
      if (sib.nodeType === 8) continue;
      return false;
    }
    node = node.parentNode;
    if (node && node.nodeType === 1 && isBlockElement(node)) return true;
  }
  return true;
}

/**
 * Walks `root` and returns {text, segments}. `segments` lists the text nodes in order as
 * {node, start, end} (UTF-16 indices into `text`).
 * options.exclude: a CSS selector; matching elements are skipped (quotes, signatures).
 * options.stopAt: a CSS selector; at the first matching element the draft ends
 *   (Outlook puts the quoted history *after* #divRplyFwdMsg, as siblings).
 * options.preserveNewlines: the editor uses white-space: pre/pre-wrap, so "\n" in text is a line.
 */
export function extractText(root, options = {}) {
  const { exclude = "", stopAt = "", preserveNewlines = false } = options;
  const parts = [];
  const segments = [];
  let length = 0;
  let pendingNewline = false;
  let lineHasContent = false;
  let stopped = false;

  function emitVirtual(str) {
    parts.push(str);
    length += str.length;
  }
  function flushPending() {
    if (pendingNewline) {
      if (length > 0) emitVirtual("\n");
      pendingNewline = false;
    }
  }
  function blockBoundary() {
    if (lineHasContent) pendingNewline = true;
    lineHasContent = false;
  }

  function visitText(node) {
    let data = node.data;
    if (!data) return;
    if (!preserveNewlines && /^[ \t\r\n]*$/.test(data) && /[\r\n]/.test(data)) return; // HTML formatting
    flushPending();
    // Same length in, same length out: offsets stay exact.
    data = preserveNewlines ? data.replace(/[\u00a0\t\r]/g, " ") : data.replace(/[\u00a0\t\r\n]/g, " ");
    parts.push(data);
    segments.push({ node, start: length, end: length + data.length });
    length += data.length;
    lineHasContent = !data.endsWith("\n");
  }

  function visit(node) {
    if (stopped) return;
    if (node.nodeType === 3) return visitText(node);
    if (node.nodeType !== 1) return;
    const tag = node.nodeName.toUpperCase();
    if (node !== root) {
      if (stopAt && node.matches(stopAt)) { stopped = true; return; }
      if (SKIP_TAGS.has(tag) || isHidden(node)) return;
      if (exclude && node.matches(exclude)) {
        if (isBlockElement(node)) blockBoundary();
        return;
      }
    }
    if (tag === "BR") {
      if (lineHasContent && isLastInBlock(node, root)) return;
      flushPending();
      emitVirtual("\n");
      lineHasContent = false;
      return;
    }
    const block = node !== root && isBlockElement(node);
    if (block) blockBoundary();
    for (let child = node.firstChild; child && !stopped; child = child.nextSibling) visit(child);
    if (block) blockBoundary();
  }

  visit(root);
  return { text: parts.join(""), segments };
}

function findSegment(segments, index, forEnd) {
  // The first segment whose end is past `index` (for a start), or the last whose start is
  // before it (for an end).
  let lo = 0;
  let hi = segments.length - 1;
  if (hi < 0) return -1;
  if (!forEnd) {
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid].end > index) { found = mid; hi = mid - 1; } else lo = mid + 1;
    }
    return found;
  }
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid].start < index) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

/** The DOM position {node, offset} where the character at text index `index` starts. */
export function domPositionForStart(segments, index) {
  const i = findSegment(segments, index, false);
  if (i < 0) return null;
  const seg = segments[i];
  return { node: seg.node, offset: Math.max(0, index - seg.start) };
}

/** The DOM position {node, offset} just after the character before text index `index`. */
export function domPositionForEnd(segments, index) {
  const i = findSegment(segments, index, true);
  if (i < 0) return null;
  const seg = segments[i];
  return { node: seg.node, offset: Math.min(seg.end, index) - seg.start };
}

/** A DOM Range over text[start, end) (UTF-16), or null when it covers no text node. */
export function rangeForTextSpan(doc, segments, start, end) {
  if (end <= start) return null;
  const a = domPositionForStart(segments, start);
  const b = domPositionForEnd(segments, end);
  if (!a || !b) return null;
  const range = doc.createRange();
  try {
    range.setStart(a.node, a.offset);
    range.setEnd(b.node, b.offset);
  } catch {
    return null;
  }
  if (range.collapsed) return null;
  return range;
}
