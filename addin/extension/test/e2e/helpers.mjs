// What both end-to-end runs (run.mjs: with the service; on-device.mjs: without) share: waiting,
// the in-page probes of highlights and the chip, typing, and the named checks.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };

export async function waitFor(fn, { timeout = 20000, interval = 50, what = "condition" } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(interval);
  }
}

// Runs in the page's main world: every highlighted range, with the compose box or message it is in.
function readHighlights() {
  const out = [];
  for (const [name, h] of CSS.highlights) {
    for (const r of h) {
      const el = r.startContainer.nodeType === 1 ? r.startContainer : r.startContainer.parentElement;
      const box = el.closest("[role='dialog']") || el.closest("[role='region']") || el.closest(".a3s") || el.closest("[aria-label='Message body']");
      out.push({ name, text: r.toString(), where: box ? (box.id || box.getAttribute("aria-label") || box.className) : "?" });
    }
  }
  return out;
}

export async function highlights(page, where) {
  const all = await page.evaluate(readHighlights);
  return where ? all.filter((h) => h.where === where) : all;
}

export async function chipState(chip) {
  return chip.evaluate((host) => ({ state: host.dataset.state, text: host.shadowRoot.querySelector(".chip").textContent, title: host.shadowRoot.querySelector(".chip").title }));
}

export async function typeLikeAPerson(page, lines) {
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) await page.keyboard.press("Enter");
    await page.keyboard.type(lines[i], { delay: 12 });
  }
}

/** Named checks that log "ok"/"FAIL" with their time; `results` keeps each outcome. */
export function checks(log) {
  const results = [];
  async function check(name, fn) {
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name, ok: true });
      log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      results.push({ name, ok: false, error: e });
      log(`FAIL ${name}: ${e.stack || e}`);
      throw e;
    }
  }
  return { check, results };
}
