// The task pane against a DOM (jsdom) and an office-addin-mock Outlook.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { JSDOM } = require("jsdom");
const { createPane } = require("../src/taskpane.js");
const { PitchlintError } = require("../src/client.js");
const { outlookMock, sentence, result } = require("./helpers.js");

function page(file = "taskpane.html") {
  const html = fs.readFileSync(path.join(__dirname, "..", file), "utf8").replace(/<script[^>]*><\/script>/g, "");
  return new JSDOM(html).window.document;
}

const FLAGGED = result([
  sentence("Hi Sam,"),
  sentence("I apologise for <b>chasing</b> again.", { tone: "desperate", focus: "me_talk", message: "Apologising reads as desperate." }),
  sentence("You will be moved to another manager.", { tone: "threatening" }),
]);

function pane(doc, office, deps = {}) {
  const timers = [];
  const p = createPane({ doc, office, serviceUrl: "https://localhost:8443", clock: () => new Date(2026, 10, 28, 9, 5),
    setInterval: (fn, ms) => { timers.push({ fn, ms }); return timers.length; }, clearInterval: () => {}, ...deps });
  p.timers = timers;
  return p;
}

test("compose: shows focus, tone, summary and each flagged sentence as text", async () => {
  const doc = page();
  const asked = [];
  const p = pane(doc, outlookMock({ body: "Hi Sam,\n\nI apologise.\n\nOn Mon, Sam wrote:\n> no" }),
    { analyze: async (a) => { asked.push(a); return FLAGGED; } });
  assert.equal(await p.start(), "shown");
  assert.equal(asked[0].text, "Hi Sam,\n\nI apologise.");
  assert.equal(asked[0].mode, "compose");
  assert.equal(doc.getElementById("verdict").textContent, "me-talk · desperate · threatening");
  assert.equal(doc.getElementById("focus").textContent, "me-talk");
  assert.equal(doc.getElementById("tone").textContent, "desperate, threatening");
  assert.equal(doc.getElementById("summary").textContent, "1 sentence reads as threatening; 1 as desperate; 1 as me-talk.");
  const items = doc.querySelectorAll("#sentences li");
  assert.equal(items.length, 2);
  assert.equal(items[0].querySelector("q").textContent, "I apologise for <b>chasing</b> again.");
  assert.equal(items[0].querySelector("b"), null, "email text is never parsed as HTML");
  assert.equal(items[0].querySelector(".message").textContent, "Apologising reads as desperate.");
  assert.equal(doc.getElementById("status").hidden, true);
  assert.equal(doc.getElementById("updated").textContent, "Checked 09:05");
});

test("compose: re-analyses on a timer, only when the draft changed, and on demand", async () => {
  const doc = page();
  const office = outlookMock({ body: "I apologise." });
  let calls = 0;
  const p = pane(doc, office, { analyze: async () => { calls += 1; return FLAGGED; } });
  await p.start();
  assert.equal(p.timers.length, 1);
  assert.ok(p.timers[0].ms >= 5000);
  assert.equal(await p.refresh(), "unchanged");
  office.state.body = "I apologise again.";
  assert.equal(await p.refresh(), "shown");
  assert.equal(await p.refresh({ force: true }), "shown");
  assert.equal(calls, 3);
});

test("read mode: classifies once in read mode with the subject string, no timer", async () => {
  const doc = page("readpane.html");
  const asked = [];
  const p = pane(doc, outlookMock({ body: "We are the best vendor.", compose: false, subject: "Our platform" }),
    { analyze: async (a) => { asked.push(a); return FLAGGED; } });
  assert.equal(p.mode, "read");
  await p.start();
  assert.equal(p.timers.length, 0);
  assert.equal(asked[0].mode, "read");
  assert.equal(asked[0].subject, "Our platform");
});

test("every failure leaves a readable message, never a blank pane", async () => {
  const cases = [
    [{ analyze: async () => { throw new PitchlintError("timeout", "Pitchlint did not answer within 10 s; try again"); } }, /did not answer within 10 s/],
    [{ analyze: async () => { throw new PitchlintError("network", "Pitchlint could not be reached at https://localhost:8443; check your connection"); } }, /could not be reached/],
    [{ analyze: async () => { throw new PitchlintError("auth", "Sign-in problem: the sign-in token has expired"); } }, /Sign-in problem/],
    [{ analyze: async () => { throw new TypeError("boom"); } }, /Something went wrong: boom/],
  ];
  for (const [deps, pattern] of cases) {
    const doc = page();
    const p = pane(doc, outlookMock({ body: "I apologise." }), deps);
    assert.equal(await p.start(), "error");
    const status = doc.getElementById("status");
    assert.equal(status.hidden, false);
    assert.equal(status.className, "error");
    assert.match(status.textContent, pattern);
  }
  const doc = page();
  const p = pane(doc, outlookMock({ bodyError: "item is busy" }), { analyze: async () => FLAGGED });
  assert.equal(await p.start(), "error");
  assert.match(doc.getElementById("status").textContent, /could not give Pitchlint the email's text \(item is busy\)/);
});

test("an empty draft says what to do", async () => {
  const doc = page();
  const p = pane(doc, outlookMock({ body: "" }), { analyze: async () => FLAGGED });
  assert.equal(await p.start(), "empty");
  assert.match(doc.getElementById("status").textContent, /write a few sentences/);
});

test("an error after a result keeps the result and says it is the last check", async () => {
  const doc = page();
  const office = outlookMock({ body: "I apologise." });
  let fail = false;
  const p = pane(doc, office, { analyze: async () => { if (fail) throw new PitchlintError("timeout", "Pitchlint did not answer within 10 s; try again"); return FLAGGED; } });
  await p.start();
  fail = true;
  await p.refresh({ force: true });
  assert.match(doc.getElementById("status").textContent, /\(showing the last check\)$/);
  assert.equal(doc.querySelectorAll("#sentences li").length, 2);
});

test("the first check may prompt for sign-in; timer checks never do", async () => {
  const doc = page();
  const office = outlookMock({ body: "I apologise." });
  const p = pane(doc, office, { analyze: async () => FLAGGED });
  await p.start();
  assert.equal(office.data.lastTokenOptions.allowSignInPrompt, true);
  await p.refresh({ force: true });
  assert.equal(office.data.lastTokenOptions.allowSignInPrompt, false);
});

test("'Not right?' sends feedback on that sentence and says thanks", async () => {
  const doc = page();
  const sent = [];
  const p = pane(doc, outlookMock({ body: "I apologise." }), { analyze: async () => FLAGGED,
    sendFeedback: async (f) => { sent.push(f); return { stored: true }; } });
  await p.start();
  const button = doc.querySelectorAll("#sentences li button.wrong")[1];
  button.click();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(sent.map(({ sentence, label, kind, token }) => ({ sentence, label, kind, token })),
    [{ sentence: "You will be moved to another manager.", label: "threatening", kind: "wrong", token: "sso-token" }]);
  assert.equal(button.textContent, "Thanks");
  assert.match(doc.getElementById("status").textContent, /not threatening/);
});

test("feedback that cannot be sent says so and can be retried", async () => {
  const doc = page();
  const p = pane(doc, outlookMock({ body: "I apologise." }), { analyze: async () => FLAGGED,
    sendFeedback: async () => { throw new PitchlintError("network", "Pitchlint could not be reached at x; check your connection"); } });
  await p.start();
  const button = doc.querySelector("#sentences li button.wrong");
  button.click();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(button.disabled, false);
  assert.match(doc.getElementById("status").textContent, /^Feedback not sent: Pitchlint could not be reached/);
});

test("the pane's checks and Send share the draft's history key; a message read uses its item id", async () => {
  const office = outlookMock({ body: "I apologise." });
  const asked = [];
  const p = pane(page(), office, { analyze: async (a) => { asked.push(a); return FLAGGED; } });
  await p.start();
  office.state.body = "I apologise again.";
  await p.refresh();
  assert.match(asked[0].historyKey, /^outlook-draft:/);
  assert.equal(asked[1].historyKey, asked[0].historyKey);
  assert.equal(office.session.pitchlintHistoryKey, asked[0].historyKey);  // where Send finds it

  const read = [];
  const itemId = "AAMkAGI2TG93AAA=" + "x".repeat(300);
  const r = pane(page("readpane.html"), outlookMock({ body: "We are the best vendor.", compose: false, itemId }),
    { analyze: async (a) => { read.push(a); return FLAGGED; } });
  await r.start();
  assert.equal(read[0].historyKey, `outlook-item:${itemId}`);
  const other = [];
  await pane(page("readpane.html"), outlookMock({ body: "We are the best vendor.", compose: false, itemId: itemId + "y" }),
    { analyze: async (a) => { other.push(a); return FLAGGED; } }).start();
  assert.notEqual(other[0].historyKey, read[0].historyKey);
});
