// End-to-end test: Debian's chromium (headless=new, which loads extensions) with the built
// extension, pages that reproduce Gmail's and Outlook on the web's DOM served at the real
// hosts (context.route), and a real `pitchlint serve` with the shipped model on a free port.
//
//   node test/e2e/run.mjs            (after `node build.mjs`)
//
// Environment: CHROMIUM (default /usr/bin/chromium), PITCHLINT_BIN (default: the repo's
// .venv/bin/pitchlint, else `pitchlint` on PATH), PITCHLINT_MODEL_DIR (default
// models/pitchlint-minilm), SCREENSHOTS (default docs/screenshots at the repo root).
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { checks, chipState, highlights, median, sleep, typeLikeAPerson, waitFor } from "./helpers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const EXT_ROOT = resolve(HERE, "../..");
const REPO = resolve(EXT_ROOT, "../..");
const EXTENSION = join(EXT_ROOT, "dist/chrome");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MODEL_DIR = process.env.PITCHLINT_MODEL_DIR || join(REPO, "models/pitchlint-minilm");
const SHOTS = process.env.SCREENSHOTS || join(REPO, "docs/screenshots");
const PITCHLINT = process.env.PITCHLINT_BIN || (existsSync(join(REPO, ".venv/bin/pitchlint")) ? join(REPO, ".venv/bin/pitchlint") : "pitchlint");
const PAGES = join(HERE, "pages");

const log = (...a) => console.log("[e2e]", ...a);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => res(port)); });
    srv.on("error", rej);
  });
}

// ---- the service ------------------------------------------------------------------------
class Service {
  constructor(port) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}/`;
    this.instance = mkdtempSync(join(tmpdir(), "pitchlint-e2e-instance-"));
    this.proc = null;
    this.output = "";
  }
  async start() {
    this.proc = spawn(PITCHLINT, ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--workers", "1", "--threads", "4"], {
      detached: true, // its own process group, so stop() ends gunicorn's workers too
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PITCHLINT_MODEL_DIR: MODEL_DIR,
        PITCHLINT_REQUIRE_KEYS: "0",
        PITCHLINT_CORS_ORIGINS: "chrome-extension://*",
        PITCHLINT_INSTANCE_PATH: this.instance,
        PITCHLINT_RATE_LIMIT_PER_MINUTE: "0",
      },
    });
    const keep = (d) => { this.output = (this.output + d).slice(-4000); };
    this.proc.stdout.on("data", keep);
    this.proc.stderr.on("data", keep);
    const proc = this.proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`pitchlint serve exited (${proc.exitCode}):\n${this.output}`);
      const r = await fetch(`${this.url}v1/model`).catch(() => null);
      return r && r.ok;
    }, { timeout: 120000, interval: 250, what: `pitchlint serve on port ${this.port}` });
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const proc = this.proc;
    try { process.kill(-proc.pid, "SIGTERM"); } catch { /* already gone */ }
    await waitFor(() => proc.exitCode !== null || proc.signalCode !== null, { timeout: 20000, what: "the service to stop" }).catch(() => {
      try { process.kill(-proc.pid, "SIGKILL"); } catch { /* gone */ }
    });
    await waitFor(async () => !(await fetch(`${this.url}v1/model`).then(() => true, () => false)), { timeout: 10000, what: "the port to close" });
  }
}

// A server that is not Pitchlint (for "Test connection"); it allows any origin, as many do.
async function startOtherServer() {
  const port = await freePort();
  const srv = createServer((req, res) => {
    res.writeHead(404, { "content-type": "text/html", "access-control-allow-origin": "*", "access-control-allow-headers": "*" });
    res.end("<html><body>Not Found</body></html>");
  });
  await new Promise((r) => srv.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => srv.close(r)) };
}

// ---- in-page probes (run in the page's main world) ---------------------------------------
async function metrics(page) {
  return page.evaluate(() => JSON.parse(document.documentElement.dataset.pitchlintMetrics || "{\"keystrokeMs\":[],\"draws\":[]}"));
}

// Selects `text` inside `selector` (main world), as a user would by dragging over it.
async function selectText(page, selector, text) {
  await page.evaluate(([sel, t]) => {
    const root = document.querySelector(sel);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const i = n.data.indexOf(t);
      if (i >= 0) {
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + t.length);
        const s = getSelection();
        s.removeAllRanges();
        s.addRange(r);
        return;
      }
    }
    throw new Error(`text not found: ${t}`);
  }, [selector, text]);
}

// ---- the run ----------------------------------------------------------------------------
const { check, results } = checks(log);

async function main() {
  if (!existsSync(join(EXTENSION, "manifest.json"))) throw new Error(`no build at ${EXTENSION}: run \`node build.mjs\` first`);
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
  if (!existsSync(join(MODEL_DIR, "config.json"))) throw new Error(`no model at ${MODEL_DIR} (config.json missing): run \`pitchlint train\` or set PITCHLINT_MODEL_DIR`);
  mkdirSync(SHOTS, { recursive: true });

  const service = new Service(await freePort());
  const other = await startOtherServer();
  const userDataDir = mkdtempSync(join(tmpdir(), "pitchlint-e2e-profile-"));
  const consoleErrors = [];
  let context;
  const figures = {};
  try {
    log(`starting pitchlint serve on ${service.url} (model ${MODEL_DIR})`);
    await service.start();
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: false, // the new headless mode is asked for below: it loads extensions
      args: [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`,
      ],
      viewport: { width: 1280, height: 820 },
    });
    // The mail hosts are served from the test pages; nothing leaves the machine.
    await context.route(/^https:\/\/mail\.google\.com\//, (route) => route.fulfill({ contentType: "text/html; charset=utf-8", body: readFileSync(join(PAGES, "gmail.html"), "utf8") }));
    await context.route(/^https:\/\/outlook\.office\.com\//, (route) => route.fulfill({ contentType: "text/html; charset=utf-8", body: readFileSync(join(PAGES, "outlook.html"), "utf8") }));
    const worker = context.serviceWorkers()[0] || await context.waitForEvent("serviceworker", { timeout: 20000 });
    const extensionId = new URL(worker.url()).host;
    await worker.evaluate((url) => chrome.storage.local.set({ serviceUrl: url, apiKey: "", debug: true }), service.url);
    log(`extension ${extensionId} configured for ${service.url}`);

    const watch = (page) => {
      page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`); });
      page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    };

    // ---------------- Gmail ----------------
    const gmail = await context.newPage();
    watch(gmail);
    await gmail.goto("https://mail.google.com/mail/u/0/#inbox");

    await check("Gmail reading mode: the chip classifies the incoming pitch", async () => {
      const chip = gmail.locator(".adn pitchlint-chip");
      await waitFor(async () => (await chipState(chip)).state === "flagged", { what: "the reading chip" });
      const { text } = await chipState(chip);
      assert.match(text, /me-talk/);
      assert.match(text, /desperate/);
      assert.equal((await highlights(gmail)).length, 0, "highlights stay hidden until asked");
      await chip.locator("button.chip").click();
      const hs = await waitFor(async () => { const h = await highlights(gmail); return h.length ? h : null; }, { what: "highlights in the message" });
      assert.ok(hs.every((h) => h.where === ":incoming"), "highlights are in the message body");
      assert.ok(!hs.some((h) => /2013 pricing/.test(h.text)), "the quoted earlier message is not highlighted");
      assert.ok(hs.some((h) => h.name === "pitchlint-desperate" && h.text.startsWith("I apologize for being a pain")));
      await gmail.screenshot({ path: join(SHOTS, "extension-gmail-read.png") });
      await chip.locator("button.chip").click(); // hide again for the compose checks
      await waitFor(async () => (await highlights(gmail)).length === 0, { what: "highlights hidden" });
    });

    const lines = [
      "Hi Dana 👋,",
      "",
      "Sorry to chase again. Did my last three emails get through?",
      "Our platform 🚀 has won many awards and we are the best in the industry.",
      "If you do not sign by Friday, your price will double.",
      "",
      "Tom",
    ];
    const expected = {
      "Sorry to chase again.": "pitchlint-desperate",
      "Did my last three emails get through?": "pitchlint-desperate",
      "Our platform 🚀 has won many awards and we are the best in the industry.": "pitchlint-me-talk",
      "If you do not sign by Friday, your price will double.": "pitchlint-threatening",
    };
    const editor1 = "#compose-1 [g_editable='true']";
    let htmlBefore;
    await check("Gmail compose: finds the new editor, highlights exactly the flagged sentences", async () => {
      await gmail.click("#compose-button");
      await gmail.locator("#compose-1 pitchlint-chip").waitFor({ state: "attached" });
      await gmail.click(editor1);
      const drawsBefore = (await metrics(gmail)).draws.length;
      await typeLikeAPerson(gmail, lines);
      htmlBefore = await gmail.locator(editor1).evaluate((e) => e.innerHTML);
      const hs = await waitFor(async () => {
        const h = await highlights(gmail, "compose-1");
        return Object.keys(expected).every((t) => h.some((x) => x.text === t)) ? h : null;
      }, { what: "the four flagged sentences to be highlighted" });
      for (const [t, name] of Object.entries(expected)) {
        assert.equal(hs.find((h) => h.text === t).name, name, `label of "${t}"`);
      }
      assert.ok(!hs.some((h) => /Hi Dana|Tom$/.test(h.text)), "greeting and sign-off are not flagged");
      assert.equal(await gmail.locator(editor1).evaluate((e) => e.innerHTML), htmlBefore, "the editor's DOM is unchanged");
      const m = await metrics(gmail);
      const draw = m.draws.slice(drawsBefore).filter((d) => d.flagged >= 4).at(0) || m.draws.at(-1);
      figures.compose = draw;
      await gmail.screenshot({ path: join(SHOTS, "extension-gmail-compose.png") });
    });

    await check("Gmail compose: the summary chip beside Send, and its list", async () => {
      const chip = gmail.locator("#compose-1 pitchlint-chip");
      assert.equal(await chip.evaluate((h) => h.previousElementSibling && h.previousElementSibling.textContent), "Send", "the chip sits beside Send");
      const s = await chipState(chip);
      assert.equal(s.state, "flagged");
      assert.match(s.text, /me-talk · threatening · desperate/);
      assert.match(s.text, /4$/);
      await chip.locator("button.chip").click();
      const items = chip.locator(".list li");
      await waitFor(async () => (await items.count()) === 4, { what: "4 items in the list" });
      assert.match(await items.nth(0).textContent(), /desperate.*Sorry to chase again\./s);
      await gmail.screenshot({ path: join(SHOTS, "extension-gmail-chip-list.png") });
      await chip.locator("button.chip").click();
    });

    await check("Gmail compose: hovering a highlight shows the card; Ignore removes it and it stays away", async () => {
      const target = "Did my last three emails get through?";
      const box = await gmail.evaluate((t) => {
        for (const [, h] of CSS.highlights) for (const r of h) if (r.toString() === t) { const b = r.getClientRects()[0]; return { x: b.left + b.width / 2, y: b.top + b.height / 2 }; }
        return null;
      }, target);
      assert.ok(box, "the highlight has a box");
      await gmail.mouse.move(box.x - 20, box.y);
      await gmail.mouse.move(box.x, box.y, { steps: 3 });
      const card = gmail.locator("pitchlint-card .card");
      await card.waitFor({ state: "visible", timeout: 5000 });
      assert.match(await card.locator(".label").textContent(), /desperate/);
      assert.match(await card.locator(".message").textContent(), /desperate/i);
      await gmail.screenshot({ path: join(SHOTS, "extension-gmail-card.png") });
      await card.locator("button", { hasText: "Ignore" }).click();
      await waitFor(async () => !(await highlights(gmail, "compose-1")).some((h) => h.text === target), { what: "the ignored highlight to go" });
      const stored = await worker.evaluate(() => chrome.storage.local.get("ignored").then((s) => Object.keys(s.ignored || {}).length));
      assert.equal(stored, 1, "the ignored sentence is remembered");
      // New text means a new analysis; the ignored sentence must not come back.
      await gmail.click(editor1);
      await gmail.keyboard.press("Control+End");
      await gmail.keyboard.type(" Best", { delay: 12 });
      await waitFor(async () => (await metrics(gmail)).draws.length > 0 && (await highlights(gmail, "compose-1")).length === 3, { what: "re-analysis" });
      await sleep(1200);
      assert.ok(!(await highlights(gmail, "compose-1")).some((h) => h.text === target), "still ignored after re-analysis");
    });

    await check("Gmail compose: fixing a sentence clears its highlight; other highlights follow the edit", async () => {
      await gmail.mouse.move(5, 5);
      await selectText(gmail, editor1, "If you do not sign by Friday, your price will double.");
      // A question about the reader's own stated situation: customer-centric in any context.
      await gmail.keyboard.type("You mentioned onboarding takes your team six weeks; is that still the case?", { delay: 12 });
      await waitFor(async () => !(await highlights(gmail, "compose-1")).some((h) => h.name === "pitchlint-threatening"), { what: "the threatening highlight to clear" });
      await sleep(1500); // the analysis of the new text is in
      const hs = await highlights(gmail, "compose-1");
      assert.ok(!hs.some((h) => /You mentioned onboarding/.test(h.text)), "the fixed sentence is not flagged");
      assert.ok(hs.some((h) => h.text === "Sorry to chase again."), "the others are still there");
      const s = await chipState(gmail.locator("#compose-1 pitchlint-chip"));
      assert.doesNotMatch(s.text, /threatening/);
    });

    await check("Gmail compose: moving the caret into a highlight with the keyboard shows the card", async () => {
      // the previous check's edit may still be in analysis on a busy machine: wait for the highlight
      await waitFor(async () => (await highlights(gmail, "compose-1")).some((h) => h.text.startsWith("Sorry to chase again.")),
        { what: "the highlight on 'Sorry to chase again.'" });
      await gmail.mouse.move(5, 5);
      await gmail.locator(editor1).evaluate((e) => {
        const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const i = n.data.indexOf("Sorry to chase again.");
          if (i >= 0) { const r = document.createRange(); r.setStart(n, i); r.collapse(true); getSelection().removeAllRanges(); getSelection().addRange(r); return; }
        }
      });
      await gmail.keyboard.press("ArrowRight");
      await gmail.keyboard.press("ArrowRight");
      const card = gmail.locator("pitchlint-card .card");
      await card.waitFor({ state: "visible", timeout: 5000 });
      assert.match(await card.locator(".label").textContent(), /desperate/);
      await gmail.keyboard.press("Escape");
      await card.waitFor({ state: "hidden", timeout: 5000 });
    });

    await check("Gmail: several compose boxes at once, and a reply with a quote and a signature", async () => {
      await gmail.evaluate(() => window.openCompose('<div dir="ltr"><br></div><br><div><br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">Tom Baker<br>We apologise for being so persistent.</div></div><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Nov 2, 2026 at 9:00 AM Dana wrote:<br></div><blockquote class="gmail_quote">Please stop emailing me. I beg you, I am desperate for some quiet.</blockquote></div>'));
      const editor2 = "#compose-2 [g_editable='true']";
      await gmail.locator("#compose-2 pitchlint-chip").waitFor({ state: "attached" });
      await gmail.locator(editor2).evaluate((e) => { const r = document.createRange(); r.setStart(e.firstElementChild, 0); r.collapse(true); getSelection().removeAllRanges(); getSelection().addRange(r); e.focus(); });
      const drawsBefore = (await metrics(gmail)).draws.length;
      await gmail.keyboard.type("Please, I am begging you to reply to me today.", { delay: 12 });
      // Wait for the analysis of the whole sentence: on a busy machine an analysis of the part
      // typed so far ("Please, I am begging you") can be drawn first.
      const typed = "Please, I am begging you to reply to me today.";
      const hs = await waitFor(async () => { const h = await highlights(gmail, "compose-2"); return h.length && h[0].text === typed ? h : null; }, { what: "the whole sentence highlighted in the second compose box" });
      assert.deepEqual(hs.map((h) => h.text), ["Please, I am begging you to reply to me today."]);
      assert.equal(hs[0].name, "pitchlint-desperate");
      assert.ok((await highlights(gmail, "compose-1")).length >= 2, "the first compose box keeps its highlights");
      figures.reply = (await metrics(gmail)).draws.slice(drawsBefore).at(-1);
      await gmail.screenshot({ path: join(SHOTS, "extension-gmail-two-composers.png") });
    });

    await check("Service down: the chip goes quiet, typing goes on, and it recovers when the service is back", async () => {
      await service.stop();
      await gmail.click(editor1);
      await gmail.keyboard.press("Control+End");
      await gmail.keyboard.type(" Thanks.", { delay: 12 });
      const chip = gmail.locator("#compose-1 pitchlint-chip");
      await waitFor(async () => (await chipState(chip)).state === "offline", { what: "the quiet offline state" });
      assert.match((await chipState(chip)).text, /offline/);
      await gmail.screenshot({ path: join(SHOTS, "extension-offline.png") });
      await service.start();
      await waitFor(async () => (await chipState(chip)).state === "flagged", { timeout: 45000, interval: 250, what: "recovery after the restart (back-off retries)" });
      assert.ok((await highlights(gmail, "compose-1")).some((h) => h.text === "Sorry to chase again."));
    });

    // ---------------- Outlook on the web ----------------
    const outlook = await context.newPage();
    watch(outlook);
    await outlook.goto("https://outlook.office.com/mail/inbox/id/AAQk");
    await check("Outlook: the reading chip, and an inline reply highlighted without its signature and history", async () => {
      const readChip = outlook.locator("[aria-label='Reading Pane'] > pitchlint-chip");
      await waitFor(async () => (await chipState(readChip)).state === "flagged", { what: "the Outlook reading chip" });
      assert.match((await chipState(readChip)).text, /threatening/);
      const composeChip = outlook.locator("[data-pitchlint-compose] pitchlint-chip");
      await composeChip.waitFor({ state: "attached" });
      assert.equal(await composeChip.evaluate((h) => h.previousElementSibling.getAttribute("aria-label")), "Send");
      await outlook.locator("[contenteditable='true'] > div.elementToProof").first().click();
      const drawsBefore = (await metrics(outlook)).draws.length;
      await typeLikeAPerson(outlook, ["Thanks Alex.", "We are the market leader and our award-winning team has twenty years of experience."]);
      const hs = await waitFor(async () => { const h = await highlights(outlook, "Message body"); return h.some((x) => /market leader/.test(x.text)) ? h : null; }, { what: "the Outlook highlight" }).catch(async (e) => {
        log("highlights:", JSON.stringify(await highlights(outlook)), "chip:", JSON.stringify(await chipState(composeChip)));
        log("editor:", await outlook.locator("[contenteditable='true']").evaluate((el) => el.innerHTML.slice(0, 400)));
        throw e;
      });
      assert.ok(hs.some((h) => h.text === "We are the market leader and our award-winning team has twenty years of experience." && h.name === "pitchlint-me-talk"));
      const inHistory = await outlook.evaluate(() => {
        const bad = [];
        const sig = document.getElementById("Signature");
        const stop = document.getElementById("appendonsend");
        for (const [, h] of CSS.highlights) for (const r of h) {
          if (sig.contains(r.startContainer) || (stop.compareDocumentPosition(r.startContainer) & Node.DOCUMENT_POSITION_FOLLOWING)) bad.push(r.toString());
        }
        return bad;
      });
      assert.deepEqual(inHistory, [], "nothing in the signature or the quoted history is highlighted");
      figures.outlook = (await metrics(outlook)).draws.slice(drawsBefore).at(-1);
      await outlook.screenshot({ path: join(SHOTS, "extension-outlook-compose.png") });
    });

    await check("Outlook: a new message (compose found as it appears)", async () => {
      await outlook.click("#new-mail");
      const chip = outlook.locator("#new-mail-compose pitchlint-chip");
      await chip.waitFor({ state: "attached" });
      assert.equal(await chip.evaluate((h) => h.previousElementSibling.getAttribute("aria-label")), "Send");
      await outlook.locator("#new-mail-compose [contenteditable='true'] > div").first().click();
      await typeLikeAPerson(outlook, ["Hi Sam,", "I apologize for being a pain, but please, I really need you to reply today."]);
      const hs = await waitFor(async () => { const h = await highlights(outlook, "new-mail-compose"); return h.length ? h : null; }, { what: "a highlight in the new message" });
      assert.ok(hs.some((h) => h.name === "pitchlint-desperate" && /I apologize for being a pain/.test(h.text)), JSON.stringify(hs));
      await waitFor(async () => (await chipState(chip)).state === "flagged", { what: "the new message's chip" });
      assert.match((await chipState(chip)).text, /desperate/);
      figures.outlookNew = (await metrics(outlook)).draws.at(-1);
      await outlook.screenshot({ path: join(SHOTS, "extension-outlook-new.png") });
    });

    // ---------------- Options ----------------
    const options = await context.newPage();
    watch(options);
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    const testWith = async (url, key) => {
      await options.fill("#serviceUrl", url);
      await options.fill("#apiKey", key);
      await options.click("#test");
      await waitFor(async () => (await options.getAttribute("#status", "data-kind")) !== "working", { timeout: 15000, what: "the test result" });
      return { kind: await options.getAttribute("#status", "data-kind"), message: await options.textContent("#status") };
    };
    await check("Options: Test connection says exactly what is wrong", async () => {
      let r = await testWith(service.url, "");
      assert.equal(r.kind, "ok", r.message);
      assert.match(r.message, /Connected: pitchlint/);
      await options.screenshot({ path: join(SHOTS, "extension-options-ok.png") });
      r = await testWith(service.url, "pl_not_a_real_key");
      assert.equal(r.kind, "auth", r.message);
      assert.match(r.message, /API key was refused/);
      await options.screenshot({ path: join(SHOTS, "extension-options-bad-key.png") });
      r = await testWith(other.url, "");
      assert.equal(r.kind, "not_pitchlint", r.message);
      const closed = await freePort();
      r = await testWith(`http://127.0.0.1:${closed}/`, "");
      assert.equal(r.kind, "unreachable", r.message);
      r = await testWith("ftp://example.com", "");
      assert.equal(r.kind, "bad_url", r.message);
    });

    await check("No console errors on the pages", async () => {
      assert.deepEqual(consoleErrors, []);
    });

    // ---------------- figures ----------------
    const m = await metrics(gmail);
    const mo = await metrics(outlook);
    const keystrokes = [...m.keystrokeMs, ...mo.keystrokeMs];
    const draws = [figures.compose, figures.reply, figures.outlook, figures.outlookNew].filter(Boolean);
    console.log("");
    console.log(`Pitchlint extension e2e figures — ${cpus()[0].model} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${CHROMIUM} headless=new, local pitchlint serve (1 worker)`);
    console.log(`  last keystroke -> highlights drawn: ${draws.map((d) => `${Math.round(d.sinceInputMs)} ms`).join(", ")} (includes the 600 ms debounce)`);
    console.log(`  after the debounce (request + analysis + mapping + drawing): ${draws.map((d) => `${Math.round(d.sinceDebounceMs)} ms`).join(", ")}; median ${Math.round(median(draws.map((d) => d.sinceDebounceMs)))} ms (target <= 300 ms)`);
    const mean = keystrokes.reduce((a, b) => a + b, 0) / keystrokes.length;
    console.log(`  content script work per keystroke: median ${median(keystrokes).toFixed(3)} ms, mean ${mean.toFixed(3)} ms, p95 ${pct(keystrokes, 0.95).toFixed(3)} ms, max ${Math.max(...keystrokes).toFixed(3)} ms over ${keystrokes.length} keystrokes (target <= 1 ms; the page clock ticks in 0.1 ms steps)`);
    console.log(`  screenshots: ${SHOTS}`);
  } finally {
    if (context) await context.close().catch(() => {});
    await service.stop().catch(() => {});
    await other.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(service.instance, { recursive: true, force: true });
  }
}

main().then(() => {
  log(`${results.filter((r) => r.ok).length}/${results.length} checks passed`);
}, (e) => {
  if (!results.some((r) => !r.ok)) console.error(e.stack || e);
  log(`${results.filter((r) => r.ok).length}/${results.length} checks passed; failed`);
  process.exitCode = 1;
});
