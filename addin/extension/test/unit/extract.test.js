import { test } from "node:test";
import assert from "node:assert/strict";
import { dom } from "./helpers.js";
import { extractText, rangeForTextSpan } from "../../src/lib/extract.js";
import { EXCLUDE_SELECTOR, STOP_SELECTOR } from "../../src/lib/draft.js";

const opts = { exclude: EXCLUDE_SELECTOR, stopAt: STOP_SELECTOR };
const text = (html) => {
  const doc = dom(`<div id="e" contenteditable="true">${html}</div>`);
  return extractText(doc.getElementById("e"), opts).text;
};

test("text over many inline nodes is one line", () => {
  assert.equal(text("Hel<b>lo <i>wor</i></b>ld."), "Hello world.");
});

test("<div> lines as Chrome writes them (Enter, empty line)", () => {
  assert.equal(text("<div>Hello</div><div><br></div><div>World</div>"), "Hello\n\nWorld");
  assert.equal(text("First<div>Second</div><div>Third<br></div>"), "First\nSecond\nThird");
  assert.equal(text("<div>A</div><div><br></div><div><br></div><div>B</div>"), "A\n\n\nB");
});

test("<br> lines", () => {
  assert.equal(text("Hello<br>World"), "Hello\nWorld");
  assert.equal(text("Hello<br><br>World"), "Hello\n\nWorld");
  assert.equal(text("<div>Hi<br></div><div>There</div>"), "Hi\nThere");
});

test("lists and paragraphs", () => {
  assert.equal(text("<p>Intro:</p><ul><li>One</li><li>Two <b>bold</b></li></ul><ol><li>Three</li></ol>"), "Intro:\nOne\nTwo bold\nThree");
});

test("nested divs", () => {
  assert.equal(text('<div dir="ltr"><div><div>Deep</div></div>Shallow</div>'), "Deep\nShallow");
});

test("non-breaking spaces and formatting whitespace keep their length", () => {
  const doc = dom('<div id="e">\n  <div>Hi\u00a0there</div>\n  <div>x</div>\n</div>');
  const { text: t, segments } = extractText(doc.getElementById("e"), opts);
  assert.equal(t, "Hi there\nx");
  assert.equal(segments.length, 2);
});

test("Gmail quote and signature are left out", () => {
  const html = '<div dir="ltr">Thanks for the call.</div><br><div><span class="gmail_signature_prefix">-- </span><br><div class="gmail_signature" data-smartmail="gmail_signature">Tom<br>Sales</div></div>'
    + '<div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div><blockquote class="gmail_quote">Old text.</blockquote></div><div>after</div>';
  assert.equal(text(html).trimEnd(), "Thanks for the call.");
});

test("Outlook: everything from #appendonsend on is history, #Signature is left out", () => {
  const html = '<div>My reply.</div><div id="Signature"><div>Dana</div></div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> X</div><div>Quoted body.</div>';
  assert.equal(text(html), "My reply.");
});

test("blockquotes anywhere are left out", () => {
  assert.equal(text("<div>Above.</div><blockquote>Quoted.</blockquote><div>Below.</div>"), "Above.\nBelow.");
});

test("hidden elements and style/script are left out", () => {
  assert.equal(text('Shown<span style="display:none">hidden</span><style>.x{}</style>.'), "Shown.");
});

test("ranges map back to the exact characters, across nodes and lines", () => {
  const doc = dom('<div id="e"><div>I <b>really</b> need 🙏 this.</div><div><br></div><div>Second line.</div></div>');
  const { text: t, segments } = extractText(doc.getElementById("e"), opts);
  assert.equal(t, "I really need 🙏 this.\n\nSecond line.");
  const check = (s) => {
    const at = t.indexOf(s);
    const r = rangeForTextSpan(doc, segments, at, at + s.length);
    assert.equal(r.toString(), s);
  };
  check("I really need 🙏 this.");
  check("really need");
  check("Second line.");
  check("🙏");
  // A span that ends on a virtual newline ends at the last text node.
  const at = t.indexOf("this.");
  assert.equal(rangeForTextSpan(doc, segments, at, at + 7).toString(), "this.");
  // A span that is only line breaks has no range.
  assert.equal(rangeForTextSpan(doc, segments, t.indexOf("\n"), t.indexOf("\n") + 2), null);
});
