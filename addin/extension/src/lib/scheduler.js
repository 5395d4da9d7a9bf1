// When to ask the service: after a pause in typing, never twice for the same text, one
// request at a time per editor, and with back-off while the service is down or refusing.

/** A small least-recently-used map. */
export class LruCache {
  constructor(limit = 50) {
    this.limit = limit;
    this.map = new Map();
  }
  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
  }
  get size() {
    return this.map.size;
  }
}

/** Errors worth retrying by themselves: the service may come back. */
export function isRetryable(error) {
  return ["unreachable", "timeout", "rate_limited", "not_ready", "server"].includes(error && error.kind);
}

/** The wait before retry number `failures` (1, 2, ...): 2 s, 4 s, 8 s ... capped. */
export function backoffDelay(failures, { baseMs = 2000, maxMs = 15000 } = {}, retryAfterMs = 0) {
  const exp = baseMs * 2 ** Math.max(0, failures - 1);
  return Math.max(Math.min(maxMs, exp), Math.min(retryAfterMs || 0, 60000));
}

/**
 * options:
 *   read(): the request to make now, {key, request, ...anything} or null when there is no text
 *   analyze(request): Promise of {ok: true, data} or {ok: false, error: {kind, message, retryAfterMs}}
 *   onResult(data | null, read): draw (null: nothing to show)
 *   onState(state, error): "checking" | "ok" | "offline" | "error"
 *   debounceMs (600), cache (LruCache), timers ({setTimeout, clearTimeout, now})
 */
export class Scheduler {
  constructor(options) {
    this.read = options.read;
    this.analyze = options.analyze;
    this.onResult = options.onResult || (() => {});
    this.onState = options.onState || (() => {});
    this.debounceMs = options.debounceMs ?? 600;
    this.cache = options.cache || new LruCache(50);
    this.backoff = options.backoff || {};
    const t = options.timers || {};
    this.setTimer = t.setTimeout || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = t.clearTimeout || ((id) => clearTimeout(id));
    this.now = t.now || (() => Date.now());
    this.timer = null;
    this.inFlight = false;
    this.again = false;
    this.failures = 0;
    this.retryAt = 0;
    this.lastKey = null;
    this.disposed = false;
    this.requests = 0;
    this.lastFiredAt = 0;
  }

  /** Called on every keystroke: only moves a timer (the work per keystroke stays tiny). */
  poke(delayMs = this.debounceMs) {
    if (this.disposed) return;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => { this.timer = null; this.run(); }, delayMs);
  }

  /** Check now (the editor appeared, or the user asked). */
  runSoon() {
    this.poke(0);
  }

  async run() {
    if (this.disposed) return;
    if (this.inFlight) { this.again = true; return; }
    const wait = this.retryAt - this.now();
    if (wait > 0) { this.poke(wait); return; }
    this.lastFiredAt = this.now();
    const current = this.read();
    if (!current) { this.lastKey = null; this.onResult(null, null); return; }
    const cached = this.cache.get(current.key);
    if (cached) {
      this.lastKey = current.key;
      this.onResult(cached, current);
      return;
    }
    this.inFlight = true;
    this.requests++;
    this.onState("checking");
    let answer;
    try {
      answer = await this.analyze(current.request);
    } catch (e) {
      answer = { ok: false, error: { kind: "unreachable", message: String((e && e.message) || e) } };
    }
    this.inFlight = false;
    if (this.disposed) return;
    if (answer && answer.ok) {
      this.failures = 0;
      this.retryAt = 0;
      this.cache.set(current.key, answer.data);
      this.lastKey = current.key;
      this.onState("ok");
      this.onResult(answer.data, current);
    } else {
      const error = (answer && answer.error) || { kind: "unreachable", message: "no answer" };
      if (isRetryable(error)) {
        this.failures++;
        const delay = backoffDelay(this.failures, this.backoff, error.retryAfterMs);
        this.retryAt = this.now() + delay;
        this.onState("offline", { ...error, retryInMs: delay });
        this.poke(delay);
      } else {
        this.onState("error", error);
      }
    }
    if (this.again) { this.again = false; this.poke(0); }
  }

  dispose() {
    this.disposed = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}
