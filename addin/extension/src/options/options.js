// Options page: where emails are analysed (the service, or this device), service URL and API key
// (chrome.storage.local), host permission for a custom service asked for at run time, "Test
// connection" (run by the service worker), and the version of the model shipped for this device.
import { DEFAULT_SERVICE_URL, normalizeServiceUrl, originPattern } from "../lib/client.js";
import { ANALYZE_ON_DEVICE, ANALYZE_ON_SERVICE } from "../lib/where.js";

const $ = (id) => document.getElementById(id);

function say(kind, message) {
  const status = $("status");
  status.dataset.kind = kind;
  status.textContent = message;
}

const DEVICE_SUPPORTED = !!chrome.offscreen;

async function showDeviceModel() {
  const where = $("deviceModel");
  if (!DEVICE_SUPPORTED) {
    $("where").dataset.device = "unsupported";
    $("onDevice").disabled = true;
    $("deviceFallback").disabled = true;
    where.textContent = "This browser cannot run the model on the device; emails are analysed on the service.";
    return;
  }
  try {
    const m = await fetch(chrome.runtime.getURL("model/model.json")).then((r) => r.json());
    where.textContent = `Model on this device: ${m.name} ${m.version} (shipped with extension ${chrome.runtime.getManifest().version}; a new model comes with a new extension version).`;
    where.dataset.version = m.version;
  } catch {
    where.textContent = "The model for this device is missing from this build.";
  }
}

async function load() {
  const s = await chrome.storage.local.get({ serviceUrl: DEFAULT_SERVICE_URL, apiKey: "", analyzeOn: ANALYZE_ON_SERVICE, deviceFallback: false });
  $("serviceUrl").value = s.serviceUrl;
  $("apiKey").value = s.apiKey;
  const onDevice = DEVICE_SUPPORTED && s.analyzeOn === ANALYZE_ON_DEVICE;
  $(onDevice ? "onDevice" : "onService").checked = true;
  $("deviceFallback").checked = DEVICE_SUPPORTED && !!s.deviceFallback;
  showWhere();
  await showDeviceModel();
}

function showWhere() {
  // The fallback only means something when the service is used.
  $("fallbackRow").hidden = $("onDevice").checked;
}

async function saveWhere() {
  const analyzeOn = $("onDevice").checked ? ANALYZE_ON_DEVICE : ANALYZE_ON_SERVICE;
  await chrome.storage.local.set({ analyzeOn, deviceFallback: $("deviceFallback").checked });
  showWhere();
  say("ok", analyzeOn === ANALYZE_ON_DEVICE
    ? "Saved: emails are analysed on this device; nothing is sent to the service."
    : `Saved: emails are analysed on the service${$("deviceFallback").checked ? ", or on this device while it cannot be reached" : ""}.`);
}

// Must run inside the click handler: permissions.request needs a user gesture.
async function ensurePermission(serviceUrl) {
  const origins = [originPattern(serviceUrl)];
  if (await chrome.permissions.contains({ origins })) return true;
  try {
    return await chrome.permissions.request({ origins });
  } catch {
    return false;
  }
}

async function save(event) {
  event.preventDefault();
  let serviceUrl;
  try {
    serviceUrl = normalizeServiceUrl($("serviceUrl").value);
  } catch (e) {
    say("bad_url", e.message);
    return;
  }
  const granted = await ensurePermission(serviceUrl);
  await chrome.storage.local.set({ serviceUrl, apiKey: $("apiKey").value.trim() });
  $("serviceUrl").value = serviceUrl;
  if (granted) say("ok", "Saved.");
  else say("permission", `Saved, but access to ${new URL(serviceUrl).host} was not granted: the service must then allow this extension with PITCHLINT_CORS_ORIGINS=${location.origin}`);
}

async function test() {
  say("working", "Testing…");
  const reply = await chrome.runtime.sendMessage({ type: "testConnection", serviceUrl: $("serviceUrl").value, apiKey: $("apiKey").value.trim() });
  if (!reply) say("unreachable", "No answer from the extension's background worker; reload the extension.");
  else say(reply.ok ? "ok" : reply.kind || "error", reply.message);
}

for (const id of ["onService", "onDevice", "deviceFallback"]) {
  $(id).addEventListener("change", () => { saveWhere().catch((err) => say("error", String(err && err.message || err))); });
}
$("form").addEventListener("submit", (e) => { save(e).catch((err) => say("error", String(err && err.message || err))); });
$("test").addEventListener("click", () => { test().catch((err) => say("error", String(err && err.message || err))); });
load();
