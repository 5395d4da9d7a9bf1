"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { analyze, getCredential, API_KEY_SETTING } = require("../src/client.js");
const { outlookMock, sentence, result, fakeFetch } = require("./helpers.js");

const base = { serviceUrl: "https://localhost:8443/", text: "Sorry to chase.", mode: "compose" };

test("posts the text, subject and mode with the bearer token", async () => {
  const answer = result([sentence("Sorry to chase.", { tone: "desperate" })]);
  const fetchImpl = fakeFetch({ json: answer });
  const got = await analyze({ ...base, subject: "Hi", token: "tok", fetchImpl });
  assert.deepEqual(got, answer);
  const [call] = fetchImpl.calls;
  assert.equal(call.url, "https://localhost:8443/addin/outlook/api/analyze");
  assert.equal(call.init.headers.Authorization, "Bearer tok");
  assert.deepEqual(call.body, { text: "Sorry to chase.", subject: "Hi", mode: "compose" });
});

test("no token, no Authorization header", async () => {
  const fetchImpl = fakeFetch({ json: result([]) });
  await analyze({ ...base, fetchImpl });
  assert.equal(fetchImpl.calls[0].init.headers.Authorization, undefined);
});

test("each failure has its own readable message", async () => {
  const cases = [
    [new TypeError("Failed to fetch"), "network", /could not be reached at https:\/\/localhost:8443/],
    [{ status: 401, json: { error: { code: "token_expired", message: "the sign-in token has expired" } } }, "auth", /^Sign-in problem: the sign-in token has expired/],
    [{ status: 413, json: { error: { code: "text_too_long", message: "text is 141,200 characters; the limit is 100,000" } } }, "too_large", /^Too long to check: text is 141,200/],
    [{ status: 429, json: { error: { code: "rate_limited", message: "retry in 20 s" } } }, "rate_limited", /retry in 20 s/],
    [{ status: 503, text: "<html>Bad gateway</html>" }, "server", /Pitchlint is having trouble: the service answered 503/],
    [{ status: 200, text: "not json" }, "bad_answer", /could not be read/],
  ];
  for (const [answer, kind, pattern] of cases) {
    await assert.rejects(analyze({ ...base, fetchImpl: fakeFetch(answer) }), (e) => {
      assert.equal(e.kind, kind);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

test("a slow service times out with its own message and the request is aborted", async () => {
  let signal;
  const fetchImpl = (url, init) => { signal = init.signal; return new Promise(() => {}); };
  await assert.rejects(analyze({ ...base, timeoutMs: 20, fetchImpl }), (e) => {
    assert.equal(e.kind, "timeout");
    assert.match(e.message, /did not answer within 0 s|did not answer within/);
    return true;
  });
  assert.equal(signal.aborted, true);
});

test("credential: SSO token first, without prompts unless asked", async () => {
  const office = outlookMock({ token: "sso-1" });
  assert.deepEqual(await getCredential(office), { kind: "sso", token: "sso-1" });
  assert.deepEqual(office.data.lastTokenOptions, { allowSignInPrompt: false, allowConsentPrompt: false, forMSGraphAccess: false });
  await getCredential(office, { allowPrompt: true });
  assert.equal(office.data.lastTokenOptions.allowSignInPrompt, true);
});

test("credential: an API key when SSO is not available, else none", async () => {
  const noSso = { code: 13012, message: "SSO is not supported here" };
  const withKey = outlookMock({ tokenError: noSso, settings: { [API_KEY_SETTING]: "pl_abc" } });
  assert.deepEqual(await getCredential(withKey), { kind: "key", token: "pl_abc" });
  assert.deepEqual(await getCredential(outlookMock({ tokenError: noSso })), { kind: "none", token: null });
});

test("feedback posts the sentence, label and kind", async () => {
  const { sendFeedback } = require("../src/client.js");
  const fetchImpl = fakeFetch({ status: 201, json: { stored: true, id: 1 } });
  assert.deepEqual(await sendFeedback({ serviceUrl: "https://localhost:8443", token: "t", sentence: "Sorry.", label: "desperate", fetchImpl }),
    { stored: true, id: 1 });
  assert.equal(fetchImpl.calls[0].url, "https://localhost:8443/addin/outlook/api/feedback");
  assert.deepEqual(fetchImpl.calls[0].body, { sentence: "Sorry.", label: "desperate", kind: "wrong" });
});

test("a history key is sent when there is a valid one", async () => {
  const fetchImpl = fakeFetch({ json: result([]) });
  await analyze({ ...base, historyKey: "outlook-draft:1", fetchImpl });
  await analyze({ ...base, historyKey: "x".repeat(1001), fetchImpl });
  await analyze({ ...base, historyKey: null, fetchImpl });
  assert.equal(fetchImpl.calls[0].body.history_key, "outlook-draft:1");
  assert.ok(!("history_key" in fetchImpl.calls[1].body) && !("history_key" in fetchImpl.calls[2].body));
});
