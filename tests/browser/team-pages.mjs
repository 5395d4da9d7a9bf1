// Browser check of the team lead's pages: Debian's chromium (playwright-core, headless, with
// JavaScript OFF: the pages must work without it) against a real `pitchlint serve` with the
// shipped model, on a free loopback port and a fresh instance folder.
//
//   node team-pages.mjs            (bash test.sh installs what it needs first)
//
// Set-up goes through the real CLI: an organisation and a team with history OFF, an admin with
// a password, two members with API keys. Then, in the browser, the admin signs in and turns
// history ON through the settings form; the members send sales emails through /v1/analyze;
// and the samples list, its filters, a sample page, the trends chart and the CSV export are
// checked against what the API answered. Each check is printed; any failure exits non-zero.
//
// Environment: CHROMIUM (default /usr/bin/chromium), PITCHLINT_BIN (default: the repo's
// .venv/bin/pitchlint, else `pitchlint` on PATH), PITCHLINT_MODEL_DIR (default
// models/pitchlint-minilm), SCREENSHOTS (default docs/screenshots at the repo root).
import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MODEL_DIR = process.env.PITCHLINT_MODEL_DIR || join(REPO, "models/pitchlint-minilm");
const SHOTS = process.env.SCREENSHOTS || join(REPO, "docs/screenshots");
const PITCHLINT = process.env.PITCHLINT_BIN || (existsSync(join(REPO, ".venv/bin/pitchlint")) ? join(REPO, ".venv/bin/pitchlint") : "pitchlint");
// The Python beside the CLI (for backdating history in the test's own SQLite database).
const PYTHON = PITCHLINT.includes("/") && existsSync(join(dirname(PITCHLINT), "python")) ? join(dirname(PITCHLINT), "python") : "python3";

// Backdate each member's analyses (and their samples) so the trends have several weeks: the
// member's n-th newest analysis moves n weeks back. Only the test's own instance database.
const BACKDATE = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
moved = 0
for (user_id,) in db.execute("select distinct user_id from analyses").fetchall():
    ids = [r[0] for r in db.execute("select id from analyses where user_id = ? order by id desc", (user_id,))]
    for weeks, analysis_id in enumerate(ids):
        if weeks == 0:
            continue
        shift = f"-{7 * weeks} days"
        db.execute("update analyses set created_at = datetime(created_at, ?) where id = ?", (shift, analysis_id))
        db.execute("update samples set created_at = datetime(created_at, ?) where analysis_id = ?", (shift, analysis_id))
        moved += 1
db.commit()
print(moved)
`;

const ADMIN = { email: "maria.admin@acme.example", password: "correct horse battery staple" };
const MEMBERS = [
  { email: "ana.lopez@acme.example", name: "Ana Lopez" },
  { email: "ben.okafor@acme.example", name: "Ben Okafor" },
];

// Sales emails as reps write them: me-talk, begging, a threat, and one that is fine.
const EMAILS = {
  "ana.lopez@acme.example": [
    `Hi Jordan,

I'm Ana from Brightline. We are the leading provider of cloud inventory software and our platform has won three industry awards. Our team has over 20 years of experience and we work with more than 500 companies worldwide. Attached is some basic information about our company.

Best,
Ana`,
    `Hi Priya,

I'm so sorry to bother you again, I know you must be incredibly busy. This is my fifth email and I really need to hit my number this month. Please, just give me ten minutes on a call, I'm begging you. Anything at all would help me.

Ana`,
    `Hi Sam,

Your discount expires on Friday. If I don't hear back by then, you will be moved to an account manager who is much more persistent than I am, and the 2023 pricing will be gone for good. Don't say I didn't warn you.

Ana`,
    `Hi Lena,

I noticed your warehouse team is hiring two more planners this quarter. Teams your size usually lose a day a week reconciling stock counts by hand; would it help to see how Nordvik cut that to an hour? Happy to send a two-minute video if that is easier.

Ana`,
  ],
  "ben.okafor@acme.example": [
    `Hello Chris,

My name is Ben and I work at Brightline. We have built the most advanced forecasting engine on the market and our founders came from Oracle and SAP. We are growing fast and we have just opened our new office in Berlin. I would love to tell you all about our product and our company.

Regards,
Ben (ben.okafor@acme.example, +1 415 555 0134)`,
    `Hi Dana,

Sorry to chase you again, this is my fourth email and I really need an answer. Please, just give me ten minutes on a call, I'm begging you. Please please reply, even a no would help me. I'll be honest, my manager is asking me about this deal every day.

Ben`,
    `Hi Marco,

This is your final notice: if you don't sign by the end of the month, we will cancel your reserved seats and your team will lose access. The price will go up by 40% after that and I won't be able to help you.

Ben`,
  ],
};

const log = (...a) => console.log("[team-pages]", ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => res(port)); });
    srv.on("error", rej);
  });
}

async function waitFor(fn, { timeout = 20000, interval = 100, what = "condition" } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(interval);
  }
}

// ---- the CLI and the service ---------------------------------------------------------------
function cli(instance, args, input) {
  // `setsid`: no controlling terminal, so the CLI's hidden password prompt reads stdin.
  const useSetsid = input !== undefined && existsSync("/usr/bin/setsid");
  const [cmd, argv] = useSetsid ? ["/usr/bin/setsid", [PITCHLINT, ...args]] : [PITCHLINT, args];
  const r = spawnSync(cmd, argv, {
    input: input ?? "", encoding: "utf8", timeout: 120000,
    env: { ...process.env, PITCHLINT_INSTANCE_PATH: instance, PITCHLINT_MODEL_DIR: MODEL_DIR },
  });
  if (r.status !== 0) throw new Error(`pitchlint ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

class Service {
  constructor(port, instance) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.instance = instance;
    this.proc = null;
    this.output = "";
  }
  async start() {
    this.proc = spawn(PITCHLINT, ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--workers", "1", "--threads", "4"], {
      detached: true, // its own process group, so stop() ends gunicorn's workers too
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PITCHLINT_MODEL_DIR: MODEL_DIR, PITCHLINT_INSTANCE_PATH: this.instance, PITCHLINT_RATE_LIMIT_PER_MINUTE: "0" },
    });
    const keep = (d) => { this.output = (this.output + d).slice(-4000); };
    this.proc.stdout.on("data", keep);
    this.proc.stderr.on("data", keep);
    const proc = this.proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`pitchlint serve exited (${proc.exitCode}):\n${this.output}`);
      const r = await fetch(`${this.url}/v1/model`).catch(() => null);
      return r && r.ok;
    }, { timeout: 180000, interval: 250, what: `pitchlint serve on port ${this.port}` });
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const proc = this.proc;
    try { process.kill(-proc.pid, "SIGTERM"); } catch { /* already gone */ }
    await waitFor(() => proc.exitCode !== null || proc.signalCode !== null, { timeout: 20000, what: "the service to stop" }).catch(() => {
      try { process.kill(-proc.pid, "SIGKILL"); } catch { /* gone */ }
    });
  }
}

// A CSV parser for the export (quoted fields may hold commas, quotes and newlines).
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(field); field = ""; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// ---- checks --------------------------------------------------------------------------------
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true });
    log(`ok   ${name}${detail ? ` — ${detail}` : ""} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

async function rowsOnPage(page) {
  return page.$$eval("table.samples tbody tr", (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.sample), member: tr.dataset.member, labels: tr.dataset.labels.split(" ").filter(Boolean),
    text: tr.querySelector(".sentence a").textContent.trim(), href: tr.querySelector(".sentence a").getAttribute("href"),
  })));
}

async function total(page) {
  return Number(await page.getAttribute(".count", "data-total"));
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
  if (!existsSync(join(MODEL_DIR, "config.json"))) throw new Error(`no model at ${MODEL_DIR} (config.json missing): set PITCHLINT_MODEL_DIR`);
  mkdirSync(SHOTS, { recursive: true });
  const instance = mkdtempSync(join(tmpdir(), "pitchlint-team-pages-"));
  const downloads = mkdtempSync(join(tmpdir(), "pitchlint-team-downloads-"));
  const service = new Service(await freePort(), instance);
  let browser;
  const keys = {};
  try {
    await check("set-up through the CLI: team with history off, an admin with a password, two members with keys", async () => {
      cli(instance, ["admin", "create-team", "--org", "Acme", "--name", "Sales", "--no-history"]);
      cli(instance, ["admin", "add-user", "--email", ADMIN.email, "--team", "Acme/Sales", "--role", "admin", "--name", "Maria Admin", "--password"],
        `${ADMIN.password}\n${ADMIN.password}\n`);
      for (const m of MEMBERS) {
        cli(instance, ["admin", "add-user", "--email", m.email, "--team", "Acme/Sales", "--role", "member", "--name", m.name]);
        keys[m.email] = cli(instance, ["keys", "create", "--user", m.email]).split("\n").pop().trim();
        assert.ok(keys[m.email].length > 20, `no key printed for ${m.email}`);
      }
      return `instance ${instance}`;
    });

    log(`starting pitchlint serve on ${service.url} (model ${MODEL_DIR})`);
    await service.start();
    const base = service.url;

    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false, acceptDownloads: true, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const serverErrors = [];
    page.on("response", (r) => { if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.url()}`); });

    await check("signed out, /team leads to the sign-in page", async () => {
      await page.goto(`${base}/team`);
      assert.match(new URL(page.url()).pathname, /^\/signin$/);
      assert.equal(new URL(page.url()).searchParams.get("next"), "/team");
      await page.screenshot({ path: join(SHOTS, "team-signin.png") });
    });

    await check("a wrong password is refused with a message", async () => {
      await page.fill("input[name=email]", ADMIN.email);
      await page.fill("input[name=password]", "not the password at all");
      await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]:has-text('Sign in')")]);
      const alert = await page.textContent(".alert-error");
      assert.match(alert, /don't match an account/);
    });

    await check("the admin signs in and lands on the team's samples (history off: empty)", async () => {
      await page.fill("input[name=email]", ADMIN.email);
      await page.fill("input[name=password]", ADMIN.password);
      await Promise.all([page.waitForURL(/\/teams\/\d+\/samples$/), page.click("button[type=submit]:has-text('Sign in')")]);
      assert.match(await page.textContent(".who"), /maria\.admin@acme\.example/);
      assert.match(await page.textContent(".empty"), /History is off/);
    });

    let teamPath;
    await check("settings: history turned ON and retention set through the form", async () => {
      teamPath = new URL(page.url()).pathname.replace(/\/samples$/, "");
      await Promise.all([page.waitForURL(/\/settings$/), page.click("nav.nav a:has-text('Settings')")]);
      assert.equal(await page.isChecked("input[name=history][value=off]"), true);
      await page.check("input[name=history][value=on]");
      await page.fill("input[name=retention_days]", "90");
      await Promise.all([page.waitForLoadState("load"), page.click("button:has-text('Save settings')")]);
      assert.match(await page.textContent(".alert-info"), /History is on; samples are kept for 90 days/);
      assert.equal(await page.isChecked("input[name=history][value=on]"), true);
      await page.screenshot({ path: join(SHOTS, "team-settings.png") });
    });

    // The members write their emails (the API, as the add-ins do).
    const kept = []; // {member, sample_id, labels, text}
    await check("the members' analyses are kept in the team's history", async () => {
      for (const m of MEMBERS) {
        for (const text of EMAILS[m.email]) {
          const r = await fetch(`${base}/v1/analyze`, {
            method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${keys[m.email]}` },
            body: JSON.stringify({ text, mode: "compose" }),
          });
          const raw = await r.text();
          assert.equal(r.status, 200, `analyze answered ${r.status}: ${raw}`);
          const body = JSON.parse(raw);
          assert.equal(body.history?.kept, true, `history not kept: ${JSON.stringify(body.history)}`);
          for (const s of body.sentences) {
            if (s.sample_id == null) continue;
            const labels = [...(s.focus.label === "me_talk" ? ["me_talk"] : []), ...(s.tone.label !== "neutral" ? [s.tone.label] : [])];
            kept.push({ member: m.email, id: s.sample_id, labels, text: s.text });
          }
        }
      }
      const per = MEMBERS.map((m) => `${m.email.split("@")[0]} ${kept.filter((k) => k.member === m.email).length}`);
      for (const m of MEMBERS) assert.ok(kept.some((k) => k.member === m.email), `nothing kept for ${m.email}`);
      for (const l of ["me_talk", "desperate", "threatening"]) assert.ok(kept.some((k) => k.labels.includes(l)), `no ${l} sentence was flagged`);
      return `${kept.length} samples kept (${per.join(", ")})`;
    });

    await check("the samples list shows both members' samples, newest first", async () => {
      await Promise.all([page.waitForURL(/\/samples$/), page.click("nav.nav a:has-text('Samples')")]);
      assert.equal(await total(page), kept.length);
      const rows = await rowsOnPage(page);
      assert.equal(rows.length, kept.length);
      for (const m of MEMBERS) assert.ok(rows.some((r) => r.member === m.email), `no row for ${m.email}`);
      const ids = rows.map((r) => r.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "rows are not newest first");
      assert.match(await page.textContent(".count"), new RegExp(`Showing 1–${kept.length} of ${kept.length}`));
      await page.screenshot({ path: join(SHOTS, "team-samples.png"), fullPage: true });
      return `${rows.length} rows`;
    });

    await check("filtering by label alone narrows the list", async () => {
      const threats = kept.filter((k) => k.labels.includes("threatening"));
      await page.selectOption("select[name=label]", "threatening");
      await Promise.all([page.waitForURL(/label=threatening/), page.click("button:has-text('Apply')")]);
      const rows = await rowsOnPage(page);
      assert.deepEqual(rows.map((r) => r.id).sort(), threats.map((k) => k.id).sort());
      assert.ok(rows.length < kept.length);
      for (const r of rows) assert.ok(r.labels.includes("threatening"));
      return `${rows.length} of ${kept.length}`;
    });

    const ana = MEMBERS[0].email;
    const expected = kept.filter((k) => k.member === ana && k.labels.includes("me_talk"));
    let filteredUrl;
    await check("filtering by member and label narrows the list", async () => {
      assert.ok(expected.length > 0 && expected.length < kept.length, `expected rows: ${expected.length}`);
      await page.selectOption("select[name=member]", { label: MEMBERS[0].name });
      await page.selectOption("select[name=label]", "me_talk");
      await Promise.all([page.waitForURL(/label=me_talk/), page.click("button:has-text('Apply')")]);
      filteredUrl = page.url();
      const rows = await rowsOnPage(page);
      assert.equal(await total(page), expected.length);
      assert.deepEqual(rows.map((r) => r.id).sort(), expected.map((k) => k.id).sort());
      for (const r of rows) { assert.equal(r.member, ana); assert.ok(r.labels.includes("me_talk")); }
      return `${rows.length} of ${kept.length}`;
    });

    await check("a filtered CSV export carries the filters", async () => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[data-export=csv]")]);
      const file = join(downloads, "filtered.csv");
      await download.saveAs(file);
      const rows = parseCsv(readFileSync(file, "utf8")).filter((r) => r.length > 1);
      assert.equal(rows[0][0], "sample_id");
      assert.deepEqual(rows.slice(1).map((r) => Number(r[0])).sort(), expected.map((k) => k.id).sort());
      return `${rows.length - 1} rows, ${download.suggestedFilename()}`;
    });

    await check("a sample page shows the sentence highlighted in its masked context", async () => {
      const [first] = await rowsOnPage(page);
      await Promise.all([page.waitForURL(/\/samples\/\d+/), page.click(`tr[data-sample="${first.id}"] .sentence a`)]);
      const mark = page.locator("mark.hl-target");
      assert.equal(await mark.count(), 1);
      const cls = await mark.getAttribute("class");
      assert.match(cls, /hl-me_talk/);
      const k = kept.find((x) => x.id === first.id);
      const shown = (await mark.textContent()).trim();
      assert.ok(shown.startsWith(first.text.replace(/…$/, "")), `highlight shows ${JSON.stringify(shown)}, the list ${JSON.stringify(first.text)}`);
      // masked (names, addresses, numbers, links), but otherwise the member's own sentence
      const words = shown.split(/\s+/);
      const same = words.filter((w) => k.text.includes(w)).length;
      assert.ok(same >= words.length * 0.6, `the highlight ${JSON.stringify(shown)} is not the sentence ${JSON.stringify(k.text)}`);
      assert.ok((await page.locator(".ctx").count()) >= 2, "no context sentence around it");
      const bg = await mark.evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.notEqual(bg, "rgba(0, 0, 0, 0)");
      await page.screenshot({ path: join(SHOTS, "team-sample.png"), fullPage: true });
      return `sample ${first.id}: ${cls}`;
    });

    await check("feedback through the form: the sentence is marked wrong with its right labels", async () => {
      await page.selectOption("select[name=focus]", "customer_centric");
      await Promise.all([page.waitForLoadState("load"), page.click("button:has-text('Mark as wrong')")]);
      assert.match(await page.textContent(".alert-info"), /feedback is saved/);
      assert.match(await page.textContent("#feedback"), /should be\s+customer-centric/);
      await Promise.all([page.waitForURL(/\/samples(\?|$)/), page.click("a:has-text('Back to samples')")]);
      assert.equal(page.url(), filteredUrl, "back link lost the filters");
      assert.equal(await total(page), expected.length - 1, "a corrected sentence should leave the me-talk filter");
    });

    await check("earlier weeks: each member's older analyses backdated a week apart", async () => {
      const r = spawnSync(PYTHON, ["-c", BACKDATE, join(instance, "pitchlint.db")], { encoding: "utf8", timeout: 30000 });
      if (r.status !== 0) throw new Error(`backdating failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
      const moved = Number(r.stdout.trim());
      const sent = Object.values(EMAILS).reduce((n, list) => n + list.length, 0);
      assert.equal(moved, sent - MEMBERS.length);
      return `${moved} analyses moved back 1 to ${Math.max(...Object.values(EMAILS).map((l) => l.length)) - 1} weeks`;
    });

    await check("the trends page draws a chart (inline SVG) with data", async () => {
      await Promise.all([page.waitForURL(/\/trends$/), page.click("nav.nav a:has-text('Trends')")]);
      const chart = page.locator("svg.chart").first();
      assert.equal(await chart.getAttribute("data-has-data"), "yes");
      const paths = await chart.locator("path.line").evaluateAll((ps) => ps.map((p) => p.dataset.label));
      assert.deepEqual(paths, ["me_talk", "desperate", "threatening"]);
      const dots = await chart.locator("circle").count();
      const weeks = Math.max(...Object.values(EMAILS).map((l) => l.length));
      assert.ok(dots >= 3 * weeks, `only ${dots} data points for ${weeks} weeks`);
      const members = await page.$$eval(".member-card", (cards) => cards.map((c) => c.dataset.member));
      assert.deepEqual(members.sort(), MEMBERS.map((m) => m.email).sort());
      const cells = await page.$$eval("details.data-table table tbody tr:last-child td", (tds) => tds.map((td) => td.textContent.trim()));
      assert.ok(cells.some((c) => /%$/.test(c)), `no percentages in the data table: ${cells}`);
      // Both members begged with the same sentence: it leads the common phrasings, counted twice.
      const phrasings = await page.$$eval("ol.phrasings li", (lis) => lis.map((li) => li.textContent.replace(/\s+/g, " ").trim()));
      assert.ok(phrasings.length > 0 && /ten minutes on a call/.test(phrasings[0]) && /×2/.test(phrasings[0]), `common phrasings: ${JSON.stringify(phrasings)}`);
      await page.screenshot({ path: join(SHOTS, "team-trends.png"), fullPage: true });
      return `${dots} points; ${members.length} member charts`;
    });

    await check("the unfiltered CSV export has one row per kept sample", async () => {
      await page.goto(`${base}${teamPath}/samples`);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[data-export=csv]")]);
      const file = join(downloads, "all.csv");
      await download.saveAs(file);
      const rows = parseCsv(readFileSync(file, "utf8")).filter((r) => r.length > 1);
      assert.equal(rows.length - 1, kept.length);
      const emails = new Set(rows.slice(1).map((r) => r[2]));
      assert.deepEqual([...emails].sort(), MEMBERS.map((m) => m.email).sort());
      return `${rows.length - 1} rows`;
    });

    await check("signing out ends the session", async () => {
      await Promise.all([page.waitForURL(/\/signin/), page.click("button:has-text('Sign out')")]);
      assert.match(await page.textContent(".alert-info"), /signed out/);
      await page.goto(`${base}${teamPath}/samples`);
      assert.match(new URL(page.url()).pathname, /^\/signin$/);
    });

    await check("no page answered with a server error", async () => {
      assert.deepEqual(serverErrors, []);
    });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await service.stop();
    rmSync(instance, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
}

const t0 = Date.now();
main().then(() => {
  log(`all ${results.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${SHOTS}`);
}, (e) => {
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  log(`FAILED${failed.length ? `: ${failed.join("; ")}` : `: ${e.stack || e}`}`);
  process.exit(1);
});
