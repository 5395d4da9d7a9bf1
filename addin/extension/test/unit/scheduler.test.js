import { test } from "node:test";
import assert from "node:assert/strict";
import { Scheduler, LruCache, backoffDelay, isRetryable } from "../../src/lib/scheduler.js";

/** A controllable clock: timers fire only when the test advances time. */
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map();
  return {
    timers: {
      now: () => now,
      setTimeout: (fn, ms) => { const id = nextId++; timers.set(id, { at: now + ms, fn }); return id; },
      clearTimeout: (id) => timers.delete(id),
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await new Promise((r) => setImmediate(r));
      }
      now = until;
      await new Promise((r) => setImmediate(r));
    },
    pending: () => timers.size,
  };
}

function harness({ answers = [] } = {}) {
  const clock = fakeClock();
  const calls = [];
  const results = [];
  const states = [];
  let text = "Hello.";
  const s = new Scheduler({
    read: () => (text ? { key: text, request: { text } } : null),
    analyze: async (request) => { calls.push(request.text); return answers.length ? answers.shift() : { ok: true, data: { for: request.text } }; },
    onResult: (data) => results.push(data),
    onState: (state) => states.push(state),
    timers: clock.timers,
  });
  return { s, clock, calls, results, states, setText: (t) => { text = t; } };
}

test("typing only moves the timer; one request after a 600 ms pause", async () => {
  const h = harness();
  for (let i = 0; i < 20; i++) { h.s.poke(); await h.clock.advance(100); }
  assert.equal(h.calls.length, 0);
  await h.clock.advance(599 - 100);
  assert.equal(h.calls.length, 0);
  await h.clock.advance(1);
  assert.deepEqual(h.calls, ["Hello."]);
  assert.deepEqual(h.results, [{ for: "Hello." }]);
});

test("the same text is answered from the cache, without a request", async () => {
  const h = harness();
  h.s.poke(); await h.clock.advance(600);
  h.setText("Hello there.");
  h.s.poke(); await h.clock.advance(600);
  h.setText("Hello.");
  h.s.poke(); await h.clock.advance(600);
  assert.deepEqual(h.calls, ["Hello.", "Hello there."]);
  assert.equal(h.results.length, 3);
});

test("empty text clears without a request", async () => {
  const h = harness();
  h.setText("");
  h.s.poke(); await h.clock.advance(600);
  assert.deepEqual(h.calls, []);
  assert.deepEqual(h.results, [null]);
});

test("service down: quiet state, retries with growing back-off, then recovers", async () => {
  const down = { ok: false, error: { kind: "unreachable", message: "down" } };
  const h = harness({ answers: [down, down, down] });
  h.s.poke(); await h.clock.advance(600);
  assert.equal(h.states.at(-1), "offline");
  await h.clock.advance(2000); // retry 1 after 2 s
  assert.equal(h.calls.length, 2);
  await h.clock.advance(3999);
  assert.equal(h.calls.length, 2);
  await h.clock.advance(1); // retry 2 after 4 s
  assert.equal(h.calls.length, 3);
  // Typing during the back-off does not hammer the service.
  h.s.poke(); await h.clock.advance(600);
  assert.equal(h.calls.length, 3);
  await h.clock.advance(8000);
  assert.equal(h.calls.length, 4);
  assert.equal(h.states.at(-1), "ok");
  assert.deepEqual(h.results, [{ for: "Hello." }]);
});

test("a refused key is not retried by itself", async () => {
  const h = harness({ answers: [{ ok: false, error: { kind: "auth", message: "bad key" } }] });
  h.s.poke(); await h.clock.advance(600);
  await h.clock.advance(60000);
  assert.equal(h.calls.length, 1);
  assert.equal(h.states.at(-1), "error");
  assert.equal(h.clock.pending(), 0);
});

test("one request at a time; text changed in flight is checked after", async () => {
  const clock = fakeClock();
  const calls = [];
  let release;
  let text = "One.";
  const s = new Scheduler({
    read: () => ({ key: text, request: { text } }),
    analyze: (r) => { calls.push(r.text); return new Promise((res) => { release = () => res({ ok: true, data: r.text }); }); },
    timers: clock.timers,
  });
  s.poke(); await clock.advance(600);
  text = "One. Two.";
  s.poke(); await clock.advance(600);
  assert.deepEqual(calls, ["One."]);
  release(); await clock.advance(1); await clock.advance(1);
  assert.deepEqual(calls, ["One.", "One. Two."]);
});

test("back-off helpers", () => {
  assert.equal(backoffDelay(1), 2000);
  assert.equal(backoffDelay(3), 8000);
  assert.equal(backoffDelay(10), 15000);
  assert.equal(backoffDelay(1, {}, 30000), 30000);
  assert.ok(isRetryable({ kind: "timeout" }) && !isRetryable({ kind: "auth" }) && !isRetryable({ kind: "not_pitchlint" }));
  const c = new LruCache(2);
  c.set("a", 1); c.set("b", 2); c.get("a"); c.set("c", 3);
  assert.equal(c.get("b"), undefined);
  assert.equal(c.get("a"), 1);
});
