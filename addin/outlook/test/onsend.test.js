// The Smart Alerts handler, driven through an office-addin-mock Outlook: it soft-blocks with a
// summary when something is flagged and lets the mail go in every other case, in time.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { createSendHandler, DEADLINE_MS } = require("../src/onsend.js");
const { outlookMock, sentence, result, fakeFetch } = require("./helpers.js");

const DRAFT = "Hi Sam,\n\nI apologise for chasing again. Please, just reply.\n\nBest,\nTom\n\n" +
  "________________________________\nFrom: Sam\nSent: Monday\n\nNo budget this year.";
const FLAGGED = result([
  sentence("Hi Sam,"),
  sentence("I apologise for chasing again.", { tone: "desperate", focus: "me_talk" }),
  sentence("Please, just reply.", { tone: "desperate" }),
]);

function send(office, deps = {}) {
  return new Promise((resolve) => {
    const event = { completed: (options) => resolve({ options, event }) };
    const handler = createSendHandler({ office, serviceUrl: "https://localhost:8443", ...deps });
    handler(event);
  });
}

test("flagged draft: soft block with the summary, a Review button and Send anyway", async () => {
  const fetchImpl = fakeFetch({ json: FLAGGED });
  const office = outlookMock({ body: DRAFT });
  const { options } = await send(office, {
    analyze: (args) => require("../src/client.js").analyze({ ...args, fetchImpl }) });
  assert.equal(options.allowEvent, false);
  assert.match(options.errorMessage, /^2 sentences read as desperate; 1 as me-talk\./);
  assert.equal(options.cancelLabel, "Review");
  assert.equal(options.commandId, "msgComposeOpenPaneButton");
  assert.equal(options.sendModeOverride, "promptUser");
  // only the sender's own words were sent, with the SSO token, in compose mode
  const sent = fetchImpl.calls[0].body;
  assert.equal(sent.text, "Hi Sam,\n\nI apologise for chasing again. Please, just reply.");
  assert.equal(sent.mode, "compose");
  assert.equal(sent.subject, "Following up");
  assert.equal(fetchImpl.calls[0].init.headers.Authorization, "Bearer sso-token");
  assert.ok(office.data.lastTokenOptions.allowSignInPrompt === false, "never prompts on send");
});

test("clean draft goes", async () => {
  const clean = result([sentence("Would Tuesday suit your team?")], { focus: "customer_centric" });
  const { options } = await send(outlookMock({ body: "Would Tuesday suit your team?" }),
    { analyze: async () => clean });
  assert.deepEqual(options, { allowEvent: true });
});

test("the mail goes whenever the check cannot be made", async (t) => {
  const failing = {
    "service unreachable": { analyze: (a) => require("../src/client.js").analyze({ ...a, fetchImpl: fakeFetch(new TypeError("Failed to fetch")) }) },
    "service error": { analyze: (a) => require("../src/client.js").analyze({ ...a, fetchImpl: fakeFetch({ status: 500, text: "oops" }) }) },
    "sign-in refused": { analyze: (a) => require("../src/client.js").analyze({ ...a, fetchImpl: fakeFetch({ status: 401, json: { error: { code: "token_expired", message: "expired" } } }) }) },
    "handler bug": { analyze: async () => { throw new TypeError("x is undefined"); } },
    "nonsense answer": { analyze: async () => ({ sentences: null }) },
  };
  for (const [name, deps] of Object.entries(failing)) {
    await t.test(name, async () => {
      const { options } = await send(outlookMock({ body: DRAFT }), deps);
      assert.deepEqual(options, { allowEvent: true });
    });
  }
  await t.test("body unreadable", async () => {
    const { options } = await send(outlookMock({ bodyError: "InternalServerError" }), { analyze: async () => FLAGGED });
    assert.deepEqual(options, { allowEvent: true });
  });
  await t.test("nothing of the sender's own", async () => {
    let asked = false;
    const { options } = await send(outlookMock({ body: "\n> quoted only" }), { analyze: async () => { asked = true; return FLAGGED; } });
    assert.deepEqual(options, { allowEvent: true });
    assert.equal(asked, false);
  });
});

test("a service that never answers: the mail goes at the deadline, once", async () => {
  let calls = 0;
  const office = outlookMock({ body: DRAFT });
  const done = await new Promise((resolve) => {
    const event = { completed: (o) => { calls += 1; resolve(o); } };
    createSendHandler({ office, serviceUrl: "https://localhost:8443", deadlineMs: 60,
      analyze: (args) => new Promise((res) => setTimeout(() => res(FLAGGED), 200 + args.timeoutMs * 0)) })(event);
  });
  assert.deepEqual(done, { allowEvent: true });
  await new Promise((r) => setTimeout(r, 250)); // the late answer must not complete the event again
  assert.equal(calls, 1);
});

test("the analysis gets only the time left before the deadline", async () => {
  let timeoutMs;
  await send(outlookMock({ body: DRAFT }), { analyze: async (a) => { timeoutMs = a.timeoutMs; return FLAGGED; } });
  assert.ok(timeoutMs > 0 && timeoutMs < DEADLINE_MS, String(timeoutMs));
  assert.ok(DEADLINE_MS <= 3000, "well before Outlook's ~5 s");
});

test("a slow sign-in counts against the same deadline", async () => {
  const office = outlookMock({ body: DRAFT });
  const { options } = await send(office, { deadlineMs: 50,
    getCredential: () => new Promise((res) => setTimeout(() => res({ token: "late" }), 150)),
    analyze: async () => FLAGGED });
  assert.deepEqual(options, { allowEvent: true });
});

test("the draft's history key: made once per compose session, sent with every check", async () => {
  const fetchImpl = fakeFetch({ json: FLAGGED });
  const office = outlookMock({ body: DRAFT });
  const analyze = (args) => require("../src/client.js").analyze({ ...args, fetchImpl });
  await send(office, { analyze });
  await send(office, { analyze });
  const keys = fetchImpl.calls.map((c) => c.body.history_key);
  assert.match(keys[0], /^outlook-draft:/);
  assert.equal(keys[1], keys[0]);
  assert.equal(office.session.pitchlintHistoryKey, keys[0]);
  // another draft, another key; no session data (older Outlook): no key, the check still runs
  await send(outlookMock({ body: DRAFT }), { analyze });
  await send(outlookMock({ body: DRAFT, sessionData: false }), { analyze });
  assert.notEqual(fetchImpl.calls[2].body.history_key, keys[0]);
  assert.ok(!("history_key" in fetchImpl.calls[3].body));
});
