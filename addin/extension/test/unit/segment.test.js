import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { splitSentences } from "../../src/lib/segment.js";

// Made by scripts/segment_fixtures.py from the service's splitter over every corpus and dev email.
const FIXTURES = gunzipSync(readFileSync(new URL("../fixtures/segment.jsonl.gz", import.meta.url)))
  .toString("utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

function sliceCodePoints(text, start, end) {
  return [...text].slice(start, end).join("");
}

test("the fixtures cover the corpus and the edge cases", () => {
  assert.ok(FIXTURES.length > 2000, `${FIXTURES.length} texts`);
  assert.ok(FIXTURES.some((f) => f.id.startsWith("edge-")));
});

test("every sentence, offset and quoted/signature mark is the Python splitter's", () => {
  const wrong = [];
  for (const f of FIXTURES) {
    const got = splitSentences(f.text).map((s) => [s.start, s.end, s.quoted, s.signature]);
    if (JSON.stringify(got) !== JSON.stringify(f.sentences)) wrong.push({ id: f.id, text: f.text, want: f.sentences, got });
  }
  if (wrong.length) {
    const w = wrong[0];
    assert.fail(`${wrong.length} of ${FIXTURES.length} texts split differently; first: ${w.id}\n${JSON.stringify(w.text)}\nwant ${JSON.stringify(w.want)}\ngot  ${JSON.stringify(w.got)}`);
  }
});

test("each sentence's text is its span of the text, in code points", () => {
  for (const f of FIXTURES.slice(0, 400)) {
    for (const s of splitSentences(f.text)) assert.equal(s.text, sliceCodePoints(f.text, s.start, s.end));
  }
});
