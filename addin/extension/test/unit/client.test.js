import { test } from "node:test";
import assert from "node:assert/strict";
import { testConnection, analyze, sendFeedback, normalizeServiceUrl, originPattern } from "../../src/lib/client.js";

const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const MODEL = { name: "pitchlint-minilm", version: "2026.11.0", labels: { tone: ["desperate"] } };
const ANALYSIS = { focus: { label: "me_talk" }, tone: { label: "neutral", flags: [] }, sentences: [] };

function fakeFetch(routes) {
  const seen = [];
  const f = async (url, init) => {
    seen.push({ url, init });
    const path = new URL(url).pathname;
    const route = routes[path];
    if (!route) return new Response("<html>Not Found</html>", { status: 404, headers: { "content-type": "text/html" } });
    return route(init);
  };
  f.seen = seen;
  return f;
}

test("URLs are normalised and checked", () => {
  assert.equal(normalizeServiceUrl(" http://127.0.0.1:8350 "), "http://127.0.0.1:8350/");
  assert.equal(normalizeServiceUrl("https://pl.example.com/api?x=1"), "https://pl.example.com/api/");
  assert.throws(() => normalizeServiceUrl("ftp://x"), /http:\/\/ or https:\/\//);
  assert.throws(() => normalizeServiceUrl("not a url"), /is not a URL/);
  assert.equal(originPattern("http://127.0.0.1:8399/"), "http://127.0.0.1:8399/*");
});

test("test connection: ok, with the key sent as a Bearer header", async () => {
  const f = fakeFetch({ "/v1/model": () => json(200, MODEL), "/v1/analyze": () => json(200, ANALYSIS) });
  const r = await testConnection({ serviceUrl: "http://127.0.0.1:8350", apiKey: "pl_abc", fetchImpl: f });
  assert.equal(r.ok, true, r.message);
  assert.match(r.message, /pitchlint-minilm 2026\.11\.0/);
  assert.equal(f.seen[0].init.headers.Authorization, "Bearer pl_abc");
});

test("test connection: unreachable", async () => {
  const r = await testConnection({ serviceUrl: "http://127.0.0.1:1", fetchImpl: async () => { throw new TypeError("Failed to fetch"); } });
  assert.equal(r.kind, "unreachable");
  assert.match(r.message, /Cannot reach 127\.0\.0\.1:1/);
});

test("test connection: bad key and missing key", async () => {
  const bad = fakeFetch({ "/v1/model": () => json(401, { error: { code: "invalid_key", message: "the API key is not known to this service" } }) });
  const r = await testConnection({ serviceUrl: "http://x/", apiKey: "nope", fetchImpl: bad });
  assert.equal(r.kind, "auth");
  assert.match(r.message, /API key was refused: the API key is not known/);
  const missing = fakeFetch({ "/v1/model": () => json(401, { error: { code: "missing_key", message: "..." } }) });
  assert.match((await testConnection({ serviceUrl: "http://x/", fetchImpl: missing })).message, /requires an API key/);
});

test("test connection: a server that is not Pitchlint", async () => {
  const r = await testConnection({ serviceUrl: "http://x/", fetchImpl: fakeFetch({}) });
  assert.equal(r.kind, "not_pitchlint");
  assert.match(r.message, /not a Pitchlint service/);
  const other = fakeFetch({ "/v1/model": () => json(200, { id: "gpt" }) });
  assert.equal((await testConnection({ serviceUrl: "http://x/", fetchImpl: other })).kind, "not_pitchlint");
  const html = fakeFetch({ "/v1/model": () => new Response("<html></html>", { status: 200, headers: { "content-type": "text/html" } }) });
  assert.equal((await testConnection({ serviceUrl: "http://x/", fetchImpl: html })).kind, "not_pitchlint");
});

test("test connection: timeout", async () => {
  const slow = (url, init) => new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  const r = await testConnection({ serviceUrl: "http://x/", fetchImpl: slow, timeoutMs: 30 });
  assert.equal(r.kind, "timeout");
  assert.match(r.message, /did not answer within/);
});

test("analyze: 429 carries Retry-After, 503 is not ready", async () => {
  const busy = fakeFetch({ "/v1/analyze": () => json(429, { error: { code: "rate_limited" } }, { "retry-after": "7" }) });
  const r = await analyze({ baseUrl: "http://x/", text: "Hi.", fetchImpl: busy });
  assert.equal(r.error.kind, "rate_limited");
  assert.equal(r.error.retryAfterMs, 7000);
  const starting = fakeFetch({ "/v1/analyze": () => json(503, { error: { code: "model_not_ready", message: "loading" } }) });
  assert.equal((await analyze({ baseUrl: "http://x/", text: "Hi.", fetchImpl: starting })).error.kind, "not_ready");
});

test("feedback: posts the kept sample's id; nothing without one; a service without /v1/feedback is fine", async () => {
  const none = fakeFetch({});
  const r = await sendFeedback({ baseUrl: "http://x/", sampleId: 12, fetchImpl: none });
  assert.deepEqual([r.ok, r.sent], [true, false]);
  assert.deepEqual(JSON.parse(none.seen[0].init.body), { sample_id: 12, kind: "ignored" });
  const untouched = fakeFetch({});
  assert.deepEqual(await sendFeedback({ baseUrl: "http://x/", sampleId: null, fetchImpl: untouched }),
    { ok: true, sent: false, reason: "the team keeps no history" });
  assert.equal(untouched.seen.length, 0);
  const yes = fakeFetch({ "/v1/feedback": () => json(201, { id: 1 }) });
  assert.deepEqual(await sendFeedback({ baseUrl: "http://x/", sampleId: 3, fetchImpl: yes }), { ok: true, sent: true });
});

test("analyze: sends the draft's history key when it has one, and only a valid one", async () => {
  const f = fakeFetch({ "/v1/analyze": () => json(200, ANALYSIS) });
  await analyze({ baseUrl: "http://x/", text: "Hi.", historyKey: "draft-1", fetchImpl: f });
  await analyze({ baseUrl: "http://x/", text: "Hi.", fetchImpl: f });
  await analyze({ baseUrl: "http://x/", text: "Hi.", historyKey: "x".repeat(1001), fetchImpl: f });
  const bodies = f.seen.map((s) => JSON.parse(s.init.body));
  assert.equal(bodies[0].history_key, "draft-1");
  assert.ok(!("history_key" in bodies[1]) && !("history_key" in bodies[2]));
});
