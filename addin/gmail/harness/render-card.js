/* A local stand-in for Gmail's side panel: draws the add-on's Card v1 JSON (the widgets that
 * Pitchlint uses) so the cards can be looked at and screenshotted without Google. Card text
 * may carry Gmail's small set of formatting tags; everything else is shown as text. */
(function () {
  "use strict";
  const ALLOWED = new Set(["B", "I", "U", "BR", "FONT"]);

  function formatted(el, markup) {
    const tpl = document.createElement("template");
    tpl.innerHTML = markup;
    (function clean(node) {
      for (const child of Array.from(node.childNodes)) {
        if (child.nodeType === 1 && !ALLOWED.has(child.tagName)) child.replaceWith(document.createTextNode(child.textContent));
        else if (child.nodeType === 1) { for (const a of Array.from(child.attributes)) if (a.name !== "color") child.removeAttribute(a.name); clean(child); }
      }
    })(tpl.content);
    el.appendChild(tpl.content);
    return el;
  }

  function div(cls, text) {
    const d = document.createElement("div");
    d.className = cls;
    if (text !== undefined) d.textContent = text;
    return d;
  }

  function button(b, filled) {
    const el = document.createElement("button");
    el.className = filled ? "btn filled" : "btn";
    el.textContent = b.text;
    el.title = b.onClick.action.function;
    return el;
  }

  function widget(w) {
    if (w.textParagraph) return formatted(div("para"), w.textParagraph.text);
    if (w.decoratedText) {
      const d = w.decoratedText, box = div("decorated");
      const body = div("dt-body");
      if (d.topLabel) body.appendChild(div("top", d.topLabel));
      body.appendChild(formatted(div("dt-text"), d.text));
      if (d.bottomLabel) body.appendChild(formatted(div("bottom"), d.bottomLabel));
      box.appendChild(body);
      if (d.button) box.appendChild(button(d.button, false));
      return box;
    }
    if (w.buttonList) {
      const row = div("buttons");
      w.buttonList.buttons.forEach((b, i) => row.appendChild(button(b, i === 0)));
      return row;
    }
    if (w.divider) return document.createElement("hr");
    return div("unknown", JSON.stringify(w));
  }

  window.renderCard = function (target, response) {
    const nav = response.action ? response.action.navigations[0] : response.renderActions.action.navigations[0];
    const card = nav.pushCard || nav.updateCard;
    const panel = div("panel");
    if (card.header) {
      const h = div("header");
      const logo = div("logo", "✓");
      h.appendChild(logo);
      const t = div("titles");
      t.appendChild(div("title", card.header.title));
      if (card.header.subtitle) t.appendChild(div("subtitle", card.header.subtitle));
      h.appendChild(t);
      panel.appendChild(h);
    }
    for (const s of card.sections) {
      const sec = div("section");
      if (s.header) sec.appendChild(div("section-header", s.header));
      for (const w of s.widgets) sec.appendChild(widget(w));
      panel.appendChild(sec);
    }
    target.appendChild(panel);
  };
})();
