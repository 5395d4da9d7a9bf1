import { test } from "node:test";
import assert from "node:assert/strict";
import { draftSpans, joinSpans, toSourceIndex } from "../../src/lib/draft.js";

const sent = (t) => joinSpans(t, draftSpans(t)).text;

test("plain text reply headers cut the history", () => {
  assert.equal(sent("Sounds good.\n\nOn Mon, Nov 2, 2026 at 9:00 AM Tom <t@x> wrote:\n> old\n> older"), "Sounds good.");
  assert.equal(sent("Yes.\n________________________________\nFrom: Tom\nSent: Monday\nTo: Dana\n\nOld"), "Yes.");
  assert.equal(sent("Yes.\nFrom: Tom Baker <t@x>\nSent: Monday\nSubject: x"), "Yes.");
  assert.equal(sent("---------- Forwarded message ---------\nFrom: x"), "");
});

test("a line starting with From: that is not a header stays", () => {
  assert.equal(sent("From: the team at Acme, with thanks.\nBye."), "From: the team at Acme, with thanks.\nBye.");
});

test("the signature delimiter ends the draft", () => {
  assert.equal(sent("See you.\n-- \nTom Baker\nSales"), "See you.");
});

test("inline > quotes are removed and offsets map back", () => {
  const t = "Answer one.\n> question one\n> more\nAnswer two.";
  const { text, pieces } = joinSpans(t, draftSpans(t));
  assert.equal(text, "Answer one.\nAnswer two.");
  const i = text.indexOf("Answer two.");
  assert.equal(toSourceIndex(pieces, i), t.indexOf("Answer two."));
  assert.equal(toSourceIndex(pieces, i + 11, "end"), t.indexOf("Answer two.") + 11);
  assert.equal(toSourceIndex(pieces, 11, "end"), 11);
});
