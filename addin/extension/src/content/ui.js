// The content script's drawing: highlights (CSS Custom Highlight API, so the editor's DOM is
// never touched), the card, the chips. Every element we add lives in a shadow root of our own.
// Text is always set with textContent.

const HIGHLIGHT_NAMES = {
  threatening: "pitchlint-threatening",
  desperate: "pitchlint-desperate",
  "me-talk": "pitchlint-me-talk",
};

/** One Highlight per label, shared by every editor and message on the page. */
export class HighlightLayer {
  constructor() {
    this.owners = new Map();
    this.supported = typeof CSS !== "undefined" && !!CSS.highlights && typeof Highlight === "function";
    this.highlights = {};
    if (this.supported) {
      for (const [label, name] of Object.entries(HIGHLIGHT_NAMES)) {
        const h = new Highlight();
        h.priority = label === "threatening" ? 3 : label === "desperate" ? 2 : 1;
        this.highlights[label] = h;
        CSS.highlights.set(name, h);
      }
    }
  }
  set(owner, items) {
    if (items && items.length) this.owners.set(owner, items);
    else this.owners.delete(owner);
    this.redraw();
  }
  redraw() {
    if (!this.supported) return;
    for (const h of Object.values(this.highlights)) h.clear();
    for (const items of this.owners.values()) {
      for (const item of items) {
        const h = this.highlights[item.label];
        if (h && item.range) h.add(item.range);
      }
    }
  }
  /** The item whose range is under the viewport point (x, y). */
  itemAt(x, y) {
    for (const items of this.owners.values()) {
      for (const item of items) {
        if (!item.range) continue;
        for (const r of item.range.getClientRects()) {
          if (x >= r.left - 1 && x <= r.right + 1 && y >= r.top - 1 && y <= r.bottom + 2) return item;
        }
      }
    }
    return null;
  }
}

const CARD_CSS = `
:host { all: initial; }
.card { position: fixed; z-index: 2147483646; max-width: 340px; min-width: 220px; box-sizing: border-box;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124;
  background: #fff; border: 1px solid #dadce0; border-radius: 8px; padding: 10px 12px;
  box-shadow: 0 4px 16px rgba(0,0,0,.18); }
.card[hidden] { display: none; }
.label { display: inline-block; font-weight: 600; font-size: 11px; text-transform: uppercase; letter-spacing: .04em;
  padding: 1px 6px; border-radius: 4px; color: #fff; }
.label.threatening { background: #c5221f; } .label.desperate { background: #b06000; } .label.me-talk { background: #1967d2; }
.message { margin: 6px 0 8px; }
.actions { display: flex; justify-content: flex-end; gap: 8px; }
button { font: inherit; font-size: 12px; border: 1px solid #dadce0; background: #f8f9fa; color: #202124;
  border-radius: 4px; padding: 3px 10px; cursor: pointer; }
button:hover, button:focus-visible { background: #e8eaed; outline: 2px solid #1a73e8; outline-offset: 1px; }
`;

/** The small card shown on hover or keyboard focus on a highlight. */
export class Card {
  constructor(doc, onIgnore) {
    this.doc = doc;
    this.onIgnore = onIgnore;
    this.item = null;
    this.hideTimer = null;
    this.host = doc.createElement("pitchlint-card");
    const root = this.host.attachShadow({ mode: "open" });
    const style = doc.createElement("style");
    style.textContent = CARD_CSS;
    this.card = doc.createElement("div");
    this.card.className = "card";
    this.card.setAttribute("role", "dialog");
    this.card.setAttribute("aria-label", "Pitchlint");
    this.card.hidden = true;
    this.labelEl = doc.createElement("span");
    this.messageEl = doc.createElement("div");
    this.messageEl.className = "message";
    const actions = doc.createElement("div");
    actions.className = "actions";
    this.ignoreButton = doc.createElement("button");
    this.ignoreButton.type = "button";
    this.ignoreButton.textContent = "Ignore";
    this.ignoreButton.title = "Don't flag this sentence again";
    this.ignoreButton.addEventListener("click", () => {
      const item = this.item;
      this.hide();
      if (item) this.onIgnore(item);
    });
    actions.append(this.ignoreButton);
    this.card.append(this.labelEl, this.messageEl, actions);
    root.append(style, this.card);
    this.card.addEventListener("mouseenter", () => this.cancelHide());
    this.card.addEventListener("mouseleave", () => this.hideSoon());
    this.card.addEventListener("keydown", (e) => { if (e.key === "Escape") this.hide(); });
  }
  attach() {
    if (!this.host.isConnected) (this.doc.body || this.doc.documentElement).append(this.host);
  }
  show(item, { focus = false } = {}) {
    this.cancelHide();
    this.attach();
    this.item = item;
    this.labelEl.className = `label ${item.label}`;
    this.labelEl.textContent = item.label;
    this.messageEl.textContent = item.message;
    this.card.hidden = false;
    this.host.dataset.label = item.label;
    this.place(item.range);
    if (focus) this.ignoreButton.focus({ preventScroll: true });
  }
  place(range) {
    const rects = range ? range.getClientRects() : [];
    const r = rects.length ? rects[rects.length - 1] : { left: 10, bottom: 10, top: 10 };
    const view = this.doc.defaultView;
    const width = 340;
    const left = Math.max(8, Math.min(r.left, view.innerWidth - width - 8));
    const below = r.bottom + 6;
    const top = below + 120 > view.innerHeight ? Math.max(8, r.top - 126) : below;
    this.card.style.left = `${left}px`;
    this.card.style.top = `${top}px`;
  }
  get visible() {
    return !this.card.hidden;
  }
  hideSoon(ms = 250) {
    this.cancelHide();
    this.hideTimer = setTimeout(() => this.hide(), ms);
  }
  cancelHide() {
    if (this.hideTimer) clearTimeout(this.hideTimer);
    this.hideTimer = null;
  }
  hide() {
    this.cancelHide();
    this.card.hidden = true;
    this.item = null;
  }
}

const CHIP_CSS = `
:host { all: initial; display: inline-block; vertical-align: middle; position: relative; margin: 0 8px; }
.chip { display: inline-flex; align-items: center; gap: 6px; height: 26px; padding: 0 10px; box-sizing: border-box;
  font: 12px/1 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #3c4043; white-space: nowrap;
  background: #f1f3f4; border: 1px solid #dadce0; border-radius: 13px; cursor: pointer; }
.chip:focus-visible { outline: 2px solid #1a73e8; outline-offset: 1px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #9aa0a6; flex: none; }
:host([data-state="flagged"]) .dot { background: #d93025; }
:host([data-state="ok"]) .dot { background: #188038; }
:host([data-state="checking"]) .dot { background: #1a73e8; }
:host([data-state="offline"]) .chip, :host([data-state="error"]) .chip { color: #80868b; background: #f8f9fa; }
.count { font-weight: 700; color: #fff; background: #d93025; border-radius: 8px; padding: 2px 6px; }
.count[hidden] { display: none; }
.list { position: absolute; z-index: 2147483646; bottom: 32px; left: 0; width: 360px; max-height: 320px; overflow: auto;
  background: #fff; border: 1px solid #dadce0; border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.18);
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124; padding: 6px 0; margin: 0; list-style: none; }
:host([data-below]) { display: block; width: max-content; margin: 6px 0; }
:host([data-below]) .list { bottom: auto; top: 32px; }
.list[hidden] { display: none; }
.list li { padding: 6px 12px; border-bottom: 1px solid #f1f3f4; }
.list li:last-child { border-bottom: 0; }
.list .sentence { font-style: italic; }
.list .message { color: #5f6368; margin-top: 2px; }
.list .row { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
.label { font-weight: 600; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; padding: 1px 6px; border-radius: 4px; color: #fff; }
.label.threatening { background: #c5221f; } .label.desperate { background: #b06000; } .label.me-talk { background: #1967d2; }
button.ignore { font: inherit; font-size: 12px; border: 1px solid #dadce0; background: #f8f9fa; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
`;

/** The summary chip (beside Send, or above an opened message). */
export class Chip {
  constructor(doc, { onIgnore, onToggle, below = false } = {}) {
    this.doc = doc;
    this.onIgnore = onIgnore;
    this.onToggle = onToggle;
    this.host = doc.createElement("pitchlint-chip");
    if (below) this.host.dataset.below = "";
    const root = this.host.attachShadow({ mode: "open" });
    const style = doc.createElement("style");
    style.textContent = CHIP_CSS;
    this.button = doc.createElement("button");
    this.button.type = "button";
    this.button.className = "chip";
    this.button.setAttribute("aria-haspopup", "true");
    this.button.setAttribute("aria-expanded", "false");
    const dot = doc.createElement("span");
    dot.className = "dot";
    this.textEl = doc.createElement("span");
    this.textEl.className = "text";
    this.countEl = doc.createElement("span");
    this.countEl.className = "count";
    this.countEl.hidden = true;
    this.button.append(dot, this.textEl, this.countEl);
    this.list = doc.createElement("ul");
    this.list.className = "list";
    this.list.hidden = true;
    this.list.setAttribute("role", "list");
    root.append(style, this.button, this.list);
    this.items = [];
    this.note = "";
    this.button.addEventListener("click", (e) => {
      e.preventDefault();
      e.stopPropagation();
      if (this.onToggle) this.onToggle();
      else this.toggleList();
    });
    this.host.addEventListener("keydown", (e) => { if (e.key === "Escape") this.closeList(); });
    this.setState("idle", "Pitchlint");
  }
  setState(state, text, { title = "", count = 0 } = {}) {
    this.host.dataset.state = state;
    this.textEl.textContent = text;
    this.button.title = title || text;
    this.button.setAttribute("aria-label", `Pitchlint: ${text}${count ? `, ${count} flagged` : ""}`);
    this.countEl.hidden = !count;
    this.countEl.textContent = count ? String(count) : "";
  }
  setItems(items, note = "") {
    this.items = items;
    this.note = note;
    if (!this.list.hidden) this.renderList();
  }
  toggleList() {
    if (this.list.hidden) this.openList(); else this.closeList();
  }
  openList() {
    this.renderList();
    this.list.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
  }
  closeList() {
    this.list.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }
  renderList() {
    const doc = this.doc;
    this.list.replaceChildren();
    if (!this.items.length) {
      const li = doc.createElement("li");
      li.textContent = this.note || "No flagged sentences.";
      this.list.append(li);
      return;
    }
    for (const item of this.items) {
      const li = doc.createElement("li");
      const row = doc.createElement("div");
      row.className = "row";
      const label = doc.createElement("span");
      label.className = `label ${item.label}`;
      label.textContent = item.label;
      row.append(label);
      if (this.onIgnore) {
        const ignore = doc.createElement("button");
        ignore.type = "button";
        ignore.className = "ignore";
        ignore.textContent = "Ignore";
        ignore.addEventListener("click", (e) => { e.stopPropagation(); this.onIgnore(item); });
        row.append(ignore);
      }
      const sentence = doc.createElement("div");
      sentence.className = "sentence";
      sentence.textContent = item.text.length > 160 ? `${item.text.slice(0, 157)}…` : item.text;
      const message = doc.createElement("div");
      message.className = "message";
      message.textContent = item.message;
      li.append(row, sentence, message);
      this.list.append(li);
    }
  }
}
