import { test } from "node:test";
import assert from "node:assert/strict";
import { shouldFallBack, fallbackNote, whereLabel } from "../../src/lib/where.js";

test("the device fallback is used only when allowed, and only while the service cannot be reached", () => {
  const down = { ok: false, error: { kind: "unreachable", message: "Cannot reach 127.0.0.1:8350" } };
  assert.equal(shouldFallBack(down, false), false);
  assert.equal(shouldFallBack(down, true), true);
  for (const kind of ["timeout", "server", "not_ready"]) assert.equal(shouldFallBack({ ok: false, error: { kind } }, true), true, kind);
  for (const kind of ["auth", "bad_request", "too_long", "not_pitchlint", "rate_limited"]) assert.equal(shouldFallBack({ ok: false, error: { kind } }, true), false, kind);
  assert.equal(shouldFallBack({ ok: true, data: {} }, true), false);
});

test("an answer made on the device by the fallback says so plainly", () => {
  const note = fallbackNote({ kind: "unreachable", message: "Cannot reach 127.0.0.1:8350" });
  assert.match(note.message, /cannot be reached.*analysed on this device; nothing was sent/);
  const where = whereLabel({ fallback: note });
  assert.equal(where.suffix, " · on this device");
  assert.equal(whereLabel({ on_device: true }).suffix, "", "a chosen on-device mode needs no notice on every chip");
});
