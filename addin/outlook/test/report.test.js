"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const report = require("../src/report.js");
const { sentence, result } = require("./helpers.js");

const mixed = result([
  sentence("Hi Sam,"),
  sentence("I apologise for being a pain.", { tone: "desperate", focus: "me_talk" }),
  sentence("Please, let's talk.", { tone: "desperate" }),
  sentence("Sorry again.", { tone: "desperate" }),
  sentence("Come January you will be moved to another manager.", { tone: "threatening" }),
]);

test("summary counts each kind, worst first", () => {
  assert.equal(report.summary(mixed), "1 sentence reads as threatening; 3 as desperate; 1 as me-talk.");
  assert.equal(report.summary(result([sentence("Sorry.", { tone: "desperate" }), sentence("Please.", { tone: "desperate" }),
    sentence("Pretty please.", { tone: "desperate" })])), "3 sentences read as desperate.");
  assert.match(report.summary(result([sentence("Would Tuesday suit you?")], { focus: "customer_centric" })), /^Nothing flagged/);
});

test("verdict is the focus then the tones", () => {
  assert.equal(report.verdict(mixed), "me-talk · desperate · threatening");
  assert.equal(report.verdict(result([sentence("Hello.")], { focus: "customer_centric" })), "customer-centric · neutral tone");
});

test("send warning: null when clean, summary and quotes when flagged, never over 500 characters", () => {
  assert.equal(report.sendWarning(result([sentence("Hello.")])), null);
  const w = report.sendWarning(mixed);
  assert.ok(w.startsWith("1 sentence reads as threatening; 3 as desperate; 1 as me-talk."));
  assert.ok(w.includes("“Come January you will be moved to another manager.” “I apologise for being a pain.”"));
  assert.ok(w.endsWith("Review them in Pitchlint, or send anyway."));
  const long = result(Array.from({ length: 30 }, () => sentence("Please ".repeat(80), { tone: "desperate" })));
  assert.ok(report.sendWarning(long).length <= report.SMART_ALERT_LIMIT);
});
