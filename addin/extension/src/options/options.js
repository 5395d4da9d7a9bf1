// Options page: service URL and API key (chrome.storage.local), host permission for a custom
// service asked for at run time, and "Test connection" (run by the service worker).
import { DEFAULT_SERVICE_URL, normalizeServiceUrl, originPattern } from "../lib/client.js";

const $ = (id) => document.getElementById(id);

function say(kind, message) {
  const status = $("status");
  status.dataset.kind = kind;
  status.textContent = message;
}

async function load() {
  const s = await chrome.storage.local.get({ serviceUrl: DEFAULT_SERVICE_URL, apiKey: "" });
  $("serviceUrl").value = s.serviceUrl;
  $("apiKey").value = s.apiKey;
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

$("form").addEventListener("submit", (e) => { save(e).catch((err) => say("error", String(err && err.message || err))); });
$("test").addEventListener("click", () => { test().catch((err) => say("error", String(err && err.message || err))); });
load();
