import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { bundle, firefoxManifest, zip, iconPng, modelFiles, sha256 } from "../../build.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const manifest = JSON.parse(readFileSync(here("../../../../manifest/extension/manifest.json"), "utf8"));

test("the manifest asks for the fewest permissions", () => {
  assert.equal(manifest.manifest_version, 3);
  assert.deepEqual(manifest.permissions, ["storage", "offscreen"]);
  assert.deepEqual(manifest.host_permissions.sort(), [
    "http://127.0.0.1:8350/*", "https://mail.google.com/*", "https://outlook.live.com/*",
    "https://outlook.office.com/*", "https://outlook.office365.com/*",
  ]);
  assert.deepEqual(manifest.optional_host_permissions, ["https://*/*", "http://*/*"]);
  assert.equal(manifest.web_accessible_resources, undefined, "nothing is exposed to pages");
});

test("the Firefox manifest is derived from the same one", () => {
  const ff = firefoxManifest(manifest);
  assert.deepEqual(ff.background, { scripts: ["background.js"] });
  assert.ok(ff.browser_specific_settings.gecko.id);
  assert.equal(ff.minimum_chrome_version, undefined);
  assert.deepEqual(ff.content_scripts, manifest.content_scripts);
  assert.deepEqual(ff.permissions, ["storage"], "no offscreen documents in Firefox: it analyses on the service");
  assert.equal(ff.cross_origin_embedder_policy, undefined);
});

test("the on-device model is checked against manifest/extension/model.json", () => {
  const lock = JSON.parse(readFileSync(here("../../../../manifest/extension/model.json"), "utf8"));
  const files = modelFiles(manifest, lock);
  assert.deepEqual(Object.keys(files).sort(), ["model/context.onnx", "model/encoder.onnx", "model/model.json", "model/tokenizer.json"]);
  assert.equal(sha256(files["model/model.json"]), lock.files["model.json"]);
  const tampered = { ...lock, files: { ...lock.files, "context.onnx": "0".repeat(64) } };
  assert.throws(() => modelFiles(manifest, tampered), /context\.onnx has sha256 .*pitchlint onnx export/s);
  assert.throws(() => modelFiles({ ...manifest, version: "9.9.9" }, lock), /written for extension .* manifest says 9\.9\.9/);
  assert.throws(() => modelFiles(manifest, { ...lock, export: "models/nowhere" }), /no ONNX export at models\/nowhere/);
});

test("bundles are classic scripts that parse, with no import/export left", () => {
  for (const entry of ["src/content/content.js", "src/background/service-worker.js", "src/options/options.js", "src/offscreen/offscreen.js"]) {
    const code = bundle(here(`../../${entry}`));
    assert.doesNotMatch(code, /^\s*(import|export)\s/m, entry);
    assert.doesNotThrow(() => new vm.Script(code, { filename: entry }), entry);
  }
});

test("zip and icons have the right signatures", () => {
  const z = zip([{ name: "a.txt", data: Buffer.from("hello") }]);
  assert.equal(z.readUInt32LE(0), 0x04034b50);
  assert.equal(z.readUInt32LE(z.length - 22), 0x06054b50);
  assert.deepEqual([...iconPng(16).subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
});
