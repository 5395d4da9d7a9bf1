import { test } from "node:test";
import assert from "node:assert/strict";
import { dom, response } from "./helpers.js";
import { readDraft, flaggedSpans, rangesForSpans, relocateSpans, emailSummary, sentenceLabel, ignoreKey } from "../../src/lib/analysis.js";

function setup(html) {
  const doc = dom(`<div id="e" contenteditable="true">${html}</div>`);
  const editor = doc.getElementById("e");
  return { doc, editor, draft: readDraft(editor) };
}

test("service offsets (code points) land on the right DOM characters, with emoji and lines", () => {
  const { doc, draft } = setup('<div>Hi Dana 👋,</div><div><br></div><div>Our <b>award-winning</b> platform 🚀 is the best.</div><div>Sorry to chase again. Did my emails get through?</div>'
    + '<div class="gmail_quote"><blockquote>Please reply now or else.</blockquote></div>');
  assert.equal(draft.text, "Hi Dana 👋,\n\nOur award-winning platform 🚀 is the best.\nSorry to chase again. Did my emails get through?");
  const res = response(draft.text, [["Our award-winning platform 🚀 is the best.", "neutral"], ["Did my emails get through?", "desperate"]]);
  const items = rangesForSpans(doc, draft, flaggedSpans(res, draft));
  assert.deepEqual(items.map((i) => [i.label, i.range.toString()]), [
    ["me-talk", "Our award-winning platform 🚀 is the best."],
    ["desperate", "Did my emails get through?"],
  ]);
});

test("combining characters and non-Latin scripts", () => {
  const { doc, draft } = setup("<div>Cafe\u0301 time. Пожалуйста, ответьте мне сегодня. 请回复我。</div>");
  const res = response(draft.text, [["Пожалуйста, ответьте мне сегодня.", "desperate"], ["请回复我。", "desperate"]]);
  const items = rangesForSpans(doc, draft, flaggedSpans(res, draft));
  assert.deepEqual(items.map((i) => i.range.toString()), ["Пожалуйста, ответьте мне сегодня.", "请回复我。"]);
});

test("sentence spans with surrounding white space are trimmed; quoted/signature ones skipped", () => {
  const { doc, draft } = setup("<div>One.</div><div>Two two.</div>");
  const res = {
    focus: { label: "me_talk" }, tone: { label: "neutral", flags: [] },
    sentences: [
      { start: 0, end: 5, flagged: true, focus: { label: "me_talk" }, tone: { label: "neutral" }, message: "m" },
      { start: 5, end: 13, flagged: true, quoted: true, focus: { label: "me_talk" }, tone: { label: "neutral" }, message: "m" },
    ],
  };
  const items = rangesForSpans(doc, draft, flaggedSpans(res, draft));
  assert.deepEqual(items.map((i) => i.range.toString()), ["One."]);
});

test("text-level quotes removed before sending map back to the editor", () => {
  const { doc, draft } = setup("<div>Answer.</div><div>&gt; their question</div><div>Please reply today, I beg you.</div>");
  assert.equal(draft.text, "Answer.\nPlease reply today, I beg you.");
  const res = response(draft.text, [["Please reply today, I beg you.", "desperate"]]);
  const items = rangesForSpans(doc, draft, flaggedSpans(res, draft));
  assert.equal(items[0].range.toString(), "Please reply today, I beg you.");
});

test("ignored sentences are left out (normalised text)", () => {
  const { draft } = setup("<div>Sorry to chase again.</div>");
  const res = response(draft.text, [["Sorry to chase again.", "desperate"]]);
  assert.equal(flaggedSpans(res, draft, new Set([ignoreKey("  sorry to  CHASE again. ")])).length, 0);
  assert.equal(flaggedSpans(res, draft, new Set([ignoreKey("something else")])).length, 1);
});

test("a sentence the team's history kept carries its sample id (for Ignore's feedback)", () => {
  const { draft } = setup("<div>Sorry to chase again. We are the best.</div>");
  const res = response(draft.text, [["Sorry to chase again.", "desperate"], ["We are the best.", "neutral"]]);
  res.sentences[0].sample_id = 41;
  assert.deepEqual(flaggedSpans(res, draft, new Set()).map((s) => s.sampleId), [41, null]);
});

test("spans follow text typed while the service answered", () => {
  const spans = [{ start: 4, end: 10, text: "Sorry." }];
  assert.deepEqual(relocateSpans(spans, "Hi. Sorry.", "Hi there. Sorry."), [{ start: 10, end: 16, text: "Sorry." }]);
  assert.deepEqual(relocateSpans(spans, "Hi. Sorry.", "Hi. Fixed."), []);
});

test("labels and the summary", () => {
  assert.equal(sentenceLabel({ flagged: true, tone: { label: "threatening" }, focus: { label: "me_talk" } }), "threatening");
  assert.equal(sentenceLabel({ flagged: true, tone: { label: "neutral" }, focus: { label: "me_talk" } }), "me-talk");
  assert.equal(sentenceLabel({ flagged: false, tone: { label: "desperate" } }), null);
  assert.equal(emailSummary({ focus: { label: "me_talk" }, tone: { label: "threatening", flags: ["desperate", "threatening"] } }).text, "me-talk · threatening · desperate");
  assert.equal(emailSummary({ focus: { label: "customer_centric" }, tone: { label: "neutral", flags: [] } }).text, "customer-centric · neutral");
});
