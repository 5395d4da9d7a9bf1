// The Outlook manifest (unified manifest for Microsoft 365), validated offline against the JSON
// schema that Microsoft ships in the npm package @microsoft/app-manifest, plus the links between
// its parts that a schema cannot see.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const Ajv = require("ajv-draft-04");
const addFormats = require("ajv-formats");
const { PANE_COMMAND_ID } = require("../src/onsend.js");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const MANIFEST_DIR = path.join(ROOT, "manifest", "outlook");
const manifest = JSON.parse(fs.readFileSync(path.join(MANIFEST_DIR, "manifest.json"), "utf8"));

function schemaFor(version) {
  const pkg = path.dirname(require.resolve("@microsoft/app-manifest/package.json"));
  const file = path.join(pkg, "build", "json-schemas", "teams", `v${version}`, "MicrosoftTeams.schema.json");
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

test("manifest validates against the shipped schema for its manifestVersion", () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const schema = schemaFor(manifest.manifestVersion);
  delete schema.$schema;
  const validate = ajv.compile(schema);
  const ok = validate(manifest);
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  assert.ok(manifest.$schema.endsWith(`v${manifest.manifestVersion}/MicrosoftTeams.schema.json`));
});

test("a broken manifest is caught by the same validation", () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const schema = schemaFor(manifest.manifestVersion);
  delete schema.$schema;
  const validate = ajv.compile(schema);
  const broken = JSON.parse(JSON.stringify(manifest));
  broken.extensions[0].autoRunEvents[0].events[0].options.sendMode = "maybe";
  delete broken.name;
  assert.equal(validate(broken), false);
});

const ext = manifest.extensions[0];
const actions = new Map();
for (const rt of ext.runtimes) for (const a of rt.actions) actions.set(a.id, { ...a, runtime: rt });

test("Smart Alerts: OnMessageSend soft-blocks and runs the handler that onsend.js associates", () => {
  const events = ext.autoRunEvents.flatMap((e) => e.events);
  const send = events.find((e) => e.type === "messageSending");
  assert.ok(send, "a messageSending event");
  assert.equal(send.options.sendMode, "softBlock");
  const action = actions.get(send.actionId);
  assert.equal(action.type, "executeFunction");
  assert.equal(action.id, "onMessageSendHandler");
  const source = fs.readFileSync(path.join(__dirname, "..", "src", "onsend.js"), "utf8");
  assert.match(source, /Office\.actions\.associate\("onMessageSendHandler"/);
  assert.ok(action.runtime.code.script.endsWith("/addin/outlook/launchevent.js"));
  const needs = ext.autoRunEvents[0].requirements.capabilities.find((c) => c.name === "Mailbox");
  assert.equal(needs.minVersion, "1.12");
});

test("the Review button of the warning opens the compose pane", () => {
  const controls = ext.ribbons.flatMap((r) => r.tabs.flatMap((t) => t.groups.flatMap((g) => g.controls)));
  const button = controls.find((c) => c.id === PANE_COMMAND_ID);
  assert.ok(button, `a control with id ${PANE_COMMAND_ID}`);
  assert.equal(actions.get(button.actionId).view, "compose");
  const read = ext.ribbons.find((r) => r.contexts.includes("mailRead"));
  const readAction = actions.get(read.tabs[0].groups[0].controls[0].actionId);
  assert.ok(readAction.runtime.code.page.endsWith("/readpane.html"));
});

test("every URL is https on a valid domain, and every file it names exists", () => {
  const urls = JSON.stringify(manifest).match(/https:\/\/[^"]+/g)
    .filter((u) => !u.startsWith("https://developer.microsoft.com/json-schemas/"));
  for (const u of urls) {
    const url = new URL(u);
    assert.ok(manifest.validDomains.includes(url.host), `${url.host} in validDomains`);
    if (url.pathname.startsWith("/addin/outlook/") && !url.pathname.endsWith("launchevent.js")) {
      const rel = url.pathname.slice("/addin/outlook/".length);
      assert.ok(fs.existsSync(path.join(__dirname, "..", rel)), `${rel} exists`);
    }
  }
  for (const icon of Object.values(manifest.icons)) {
    assert.ok(fs.existsSync(path.join(MANIFEST_DIR, icon)), `${icon} beside the manifest`);
  }
});

test("single sign-on: the resource is api://<host>/<client id>", () => {
  const { id, resource } = manifest.webApplicationInfo;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(resource, `api://${manifest.validDomains[0]}/${id}`);
});
