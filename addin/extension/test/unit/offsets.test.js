import { test } from "node:test";
import assert from "node:assert/strict";
import { codePointIndexTable, codePointToUtf16, utf16ToCodePoint, codePointLength } from "../../src/lib/offsets.js";

test("ASCII offsets are unchanged", () => {
  const t = "Hello there.";
  for (let i = 0; i <= t.length; i++) assert.equal(codePointToUtf16(t, i), i);
});

test("emoji outside the BMP count as one code point and two UTF-16 units", () => {
  const t = "Hi 🚀 team. We 👍 it.";
  // Python: t.index("team") == 5 ; in JS it is 6.
  assert.equal(codePointToUtf16(t, 5), t.indexOf("team"));
  assert.equal(utf16ToCodePoint(t, t.indexOf("team")), 5);
  assert.equal(codePointLength(t), [...t].length);
  assert.equal(codePointToUtf16(t, codePointLength(t)), t.length);
});

test("combining characters are separate code points (no normalisation)", () => {
  const t = "Cafe\u0301 is open. Next.";
  assert.equal(codePointToUtf16(t, 14), t.indexOf(" Next"));
  assert.equal(t.slice(codePointToUtf16(t, 0), codePointToUtf16(t, 13)), "Cafe\u0301 is open");
});

test("ZWJ sequences, flags and non-Latin scripts", () => {
  const t = "👩‍💻🇩🇪 Привет. 你好世界。 مرحبا. 𝒜bc";
  const cps = [...t];
  const table = codePointIndexTable(t);
  for (let cp = 0; cp <= cps.length; cp++) {
    assert.equal(codePointToUtf16(t, cp, table), cps.slice(0, cp).join("").length);
  }
});

test("offsets past the end clamp to the text", () => {
  assert.equal(codePointToUtf16("ab", 10), 2);
  assert.equal(codePointToUtf16("ab", -1), 0);
});

test("a lone surrogate counts as one code point, like Python", () => {
  const t = "a\ud800b";
  assert.equal(codePointToUtf16(t, 2), 2);
  assert.equal(utf16ToCodePoint(t, 3), 3);
});
