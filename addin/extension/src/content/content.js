// Content script: finds compose editors and opened messages, reads their text, asks the
// service worker for an analysis, and draws. It never calls the network and never changes a
// character inside an editor.
import { readDraft, flaggedSpans, rangesForSpans, relocateSpans, emailSummary } from "../lib/analysis.js";
import { hostFor, findEditors, findReadBodies, findSendButton, findSubject, readSubjectFor } from "../lib/hosts.js";
import { Scheduler, LruCache } from "../lib/scheduler.js";
import { whereLabel } from "../lib/where.js";
import { HighlightLayer, Card, Chip } from "./ui.js";

const NAV_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

function send(message) {
  // The extension may have been reloaded under the page: stay quiet, never throw.
  return new Promise((resolve) => {
    try {
      chrome.runtime.sendMessage(message, (reply) => {
        if (chrome.runtime.lastError) resolve({ ok: false, error: { kind: "unreachable", message: chrome.runtime.lastError.message } });
        else resolve(reply || { ok: false, error: { kind: "unreachable", message: "no reply" } });
      });
    } catch (e) {
      resolve({ ok: false, error: { kind: "unreachable", message: String((e && e.message) || e) } });
    }
  });
}

const page = {
  host: hostFor(location.hostname),
  layer: null,
  card: null,
  compose: new Map(),
  read: new Map(),
  ignored: new Set(),
  cache: new LruCache(100),
  debug: false,
  onDevice: false,
  prepared: false,
  metrics: { keystrokeMs: [], draws: [] },
  lastNavAt: 0,
  hoverFrame: 0,
};

function publishMetrics() {
  if (!page.debug) return;
  const ks = page.metrics.keystrokeMs;
  document.documentElement.dataset.pitchlintMetrics = JSON.stringify({ keystrokeMs: ks.slice(-2000), draws: page.metrics.draws.slice(-50) });
}

function statusText(state, error) {
  if (state === "offline") return { text: "Pitchlint offline · retrying", title: error ? error.message : "" };
  if (state === "error") return { text: "Pitchlint: check options", title: error ? error.message : "" };
  return { text: "Pitchlint", title: "" };
}

function ignoreItem(item) {
  page.ignored.add(item.key);
  send({ type: "ignore", key: item.key, label: item.label, sampleId: item.sampleId });
  for (const c of page.compose.values()) c.dropKey(item.key);
  for (const r of page.read.values()) r.dropKey(item.key);
}

function newHistoryKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return `draft-${crypto.randomUUID()}`;
  return `draft-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

class ComposeController {
  constructor(editor) {
    this.editor = editor;
    this.items = [];
    this.summary = null;
    this.state = "idle";
    this.lastInputAt = 0;
    this.historyKey = newHistoryKey(); // this draft, for the team's history (one analysis a draft)
    const ws = getComputedStyle(editor).whiteSpace || "";
    this.preserveNewlines = ws.startsWith("pre") || ws === "break-spaces";
    this.chip = new Chip(document, { onIgnore: ignoreItem });
    this.scheduler = new Scheduler({
      read: () => this.readRequest(),
      analyze: (request) => send({ type: "analyze", request }),
      onResult: (data, current) => this.draw(data, current),
      onState: (state, error) => this.setState(state, error),
      cache: page.cache,
      timers: { now: () => performance.now() },
    });
    this.onInput = () => {
      const t0 = performance.now();
      this.lastInputAt = t0;
      this.scheduler.poke();
      this.dropEdited();
      if (page.card && page.card.visible) page.card.hide();
      page.metrics.keystrokeMs.push(performance.now() - t0);
      if (page.metrics.keystrokeMs.length > 4000) page.metrics.keystrokeMs.splice(0, 2000);
    };
    editor.addEventListener("input", this.onInput, { passive: true });
    if (page.onDevice && !page.prepared) {
      // The model on this device loads while the writer types, not after the first pause.
      page.prepared = true;
      send({ type: "prepare" });
    }
    this.placeChip();
    this.scheduler.runSoon();
  }
  placeChip() {
    if (this.chip.host.isConnected) return;
    const sendButton = findSendButton(this.editor, page.host);
    if (sendButton) sendButton.insertAdjacentElement("afterend", this.chip.host);
    else this.editor.insertAdjacentElement("beforebegin", this.chip.host);
  }
  readRequest() {
    const draft = readDraft(this.editor, { preserveNewlines: this.preserveNewlines });
    if (!draft.text.trim()) return null;
    const subject = findSubject(this.editor, page.host);
    return { key: `compose\n${subject}\n${draft.text}`, request: { text: draft.text, subject, mode: "compose", historyKey: this.historyKey }, draft, firedAt: performance.now(), inputAt: this.lastInputAt };
  }
  // A sentence that was edited loses its highlight at once; the next answer says if it is still bad.
  dropEdited() {
    if (!this.items.length) return;
    const kept = this.items.filter((item) => item.range.toString() === item.text);
    if (kept.length !== this.items.length) {
      this.items = kept;
      page.layer.set(this, this.items);
    }
  }
  dropKey(key) {
    const kept = this.items.filter((item) => item.key !== key);
    if (kept.length !== this.items.length) {
      this.items = kept;
      page.layer.set(this, this.items);
      this.renderChip();
    }
  }
  draw(data, current) {
    if (!data || !current) {
      this.items = [];
      this.summary = null;
      page.layer.set(this, []);
      this.renderChip();
      return;
    }
    const spans = flaggedSpans(data, current.draft, page.ignored);
    const now = readDraft(this.editor, { preserveNewlines: this.preserveNewlines });
    const moved = relocateSpans(spans, current.draft.fullText, now.fullText);
    this.items = rangesForSpans(document, now, moved);
    this.summary = emailSummary(data);
    this.where = whereLabel(data);
    page.layer.set(this, this.items);
    this.state = "ok";
    this.renderChip();
    const drawnAt = performance.now();
    if (page.debug) {
      page.metrics.draws.push({ sinceInputMs: current.inputAt ? drawnAt - current.inputAt : null, sinceDebounceMs: drawnAt - current.firedAt, flagged: this.items.length });
      publishMetrics();
    }
  }
  setState(state, error) {
    this.state = state;
    this.error = error || null;
    if (state === "checking") {
      if (this.chip.host.dataset.state === "idle" || this.chip.host.dataset.state === "offline") this.chip.host.dataset.state = "checking";
      return;
    }
    this.renderChip();
  }
  renderChip() {
    if (this.state === "offline" || this.state === "error") {
      const s = statusText(this.state, this.error);
      this.chip.setState(this.state, s.text, { title: s.title });
      this.chip.setItems([], s.title);
      return;
    }
    if (!this.summary) {
      this.chip.setState("idle", "Pitchlint");
      this.chip.setItems([]);
      return;
    }
    const n = this.items.length;
    const where = this.where || whereLabel(null);
    const title = n ? `${n} flagged sentence${n === 1 ? "" : "s"}: click to list` : "Nothing flagged";
    this.chip.setState(n ? "flagged" : "ok", this.summary.text + where.suffix, { count: n, title: where.title ? `${title}. ${where.title}` : title });
    this.chip.setItems(this.items);
  }
  dispose() {
    this.scheduler.dispose();
    this.editor.removeEventListener("input", this.onInput);
    page.layer.set(this, []);
    this.chip.host.remove();
  }
}

class ReadController {
  constructor(body) {
    this.body = body;
    this.items = [];
    this.shown = false;
    this.chip = new Chip(document, { onIgnore: ignoreItem, below: true, onToggle: () => this.toggle() });
    this.chip.setState("checking", "Pitchlint: reading…");
    body.insertAdjacentElement("beforebegin", this.chip.host);
    this.scheduler = new Scheduler({
      read: () => {
        const draft = readDraft(this.body);
        if (!draft.text.trim()) return null;
        const subject = readSubjectFor(this.body, page.host);
        return { key: `read\n${subject}\n${draft.text}`, request: { text: draft.text, subject, mode: "read" }, draft };
      },
      analyze: (request) => send({ type: "analyze", request }),
      onResult: (data, current) => this.draw(data, current),
      onState: (state, error) => {
        if (state === "offline" || state === "error") {
          const s = statusText(state, error);
          this.chip.setState(state, s.text, { title: s.title });
        }
      },
      cache: page.cache,
    });
    this.scheduler.runSoon();
  }
  draw(data, current) {
    if (!data) { this.chip.setState("idle", "Pitchlint: no text"); return; }
    const spans = flaggedSpans(data, current.draft, page.ignored);
    this.items = rangesForSpans(document, current.draft, spans);
    this.summary = emailSummary(data);
    this.where = whereLabel(data);
    this.render();
  }
  render() {
    const n = this.items.length;
    const hint = n ? (this.shown ? " · hide" : " · show") : "";
    const where = this.where || whereLabel(null);
    const title = n ? `${n} sentence${n === 1 ? "" : "s"} made it so; click to ${this.shown ? "hide" : "show"} them` : "";
    this.chip.setState(n || this.summary.focus === "me-talk" || this.summary.tones[0] !== "neutral" ? "flagged" : "ok",
      `${this.summary.text}${where.suffix}${hint}`, { count: n, title: [title, where.title].filter(Boolean).join(". ") });
    this.chip.setItems(this.items);
    page.layer.set(this, this.shown ? this.items : []);
  }
  toggle() {
    if (!this.summary) return;
    this.shown = !this.shown;
    this.render();
  }
  dropKey(key) {
    this.items = this.items.filter((i) => i.key !== key);
    if (this.summary) this.render();
  }
  dispose() {
    this.scheduler.dispose();
    page.layer.set(this, []);
    this.chip.host.remove();
  }
}

function scan() {
  for (const editor of findEditors(document, page.host)) {
    if (!page.compose.has(editor)) page.compose.set(editor, new ComposeController(editor));
  }
  for (const [editor, c] of page.compose) {
    if (!editor.isConnected) { c.dispose(); page.compose.delete(editor); } else c.placeChip();
  }
  for (const body of findReadBodies(document, page.host)) {
    if (!page.read.has(body)) page.read.set(body, new ReadController(body));
  }
  for (const [body, r] of page.read) {
    if (!body.isConnected) { r.dispose(); page.read.delete(body); }
  }
}

let scanTimer = null;
function scheduleScan() {
  if (scanTimer !== null) return;
  scanTimer = setTimeout(() => { scanTimer = null; try { scan(); } catch { /* never break the page */ } }, 150);
}

function onPointerMove(e) {
  if (page.hoverFrame) return;
  const x = e.clientX;
  const y = e.clientY;
  page.hoverFrame = requestAnimationFrame(() => {
    page.hoverFrame = 0;
    if (page.card.host.contains(e.target) || e.target === page.card.host) return;
    const item = page.layer.itemAt(x, y);
    if (item) { if (page.card.item !== item) page.card.show(item); else page.card.cancelHide(); }
    else if (page.card.visible) page.card.hideSoon();
  });
}

function onSelectionChange() {
  if (performance.now() - page.lastNavAt > 600) return;
  const sel = document.getSelection();
  if (!sel || !sel.rangeCount || !sel.isCollapsed) return;
  const { focusNode, focusOffset } = sel;
  for (const c of page.compose.values()) {
    if (!c.editor.contains(focusNode)) continue;
    const item = c.items.find((i) => i.range.isPointInRange(focusNode, focusOffset));
    if (item) page.card.show(item);
    else if (page.card.visible) page.card.hide();
    return;
  }
}

function onKeyDown(e) {
  if (NAV_KEYS.has(e.key)) page.lastNavAt = performance.now();
  // Alt+Enter on a highlight moves focus into the card, so Ignore is reachable by keyboard.
  if (e.key === "Enter" && e.altKey && page.card.visible) { e.preventDefault(); page.card.show(page.card.item, { focus: true }); }
  if (e.key === "Escape") {
    // Dismissed: a caret move still being reported (selectionchange comes later, and later
    // still on a busy page) must not bring the card straight back.
    page.lastNavAt = -Infinity;
    if (page.card.visible) page.card.hide();
  }
}

async function start() {
  if (!page.host) return;
  const config = await send({ type: "config" });
  page.debug = !!(config && config.debug);
  page.onDevice = !!(config && config.onDevice);
  for (const key of (config && config.ignored) || []) page.ignored.add(key);
  page.layer = new HighlightLayer();
  page.card = new Card(document, ignoreItem);
  new MutationObserver(scheduleScan).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("mousemove", onPointerMove, { passive: true, capture: true });
  document.addEventListener("selectionchange", onSelectionChange, { passive: true });
  document.addEventListener("keydown", onKeyDown, { capture: true });
  window.addEventListener("scroll", () => { if (page.card.visible) page.card.hide(); }, { passive: true, capture: true });
  window.addEventListener("resize", () => { if (page.card.visible) page.card.hide(); }, { passive: true });
  scan();
}

start().catch(() => { /* never break the page */ });
