// The service worker: the only part of the extension that talks to the network. It holds
// the settings (service URL, API key, where to analyse) and never hands the key to a content
// script. On-device analysis runs in the offscreen document (src/offscreen/), which the worker
// creates on first use and asks by message; in that mode nothing is sent anywhere.
import { DEFAULT_SERVICE_URL, analyze, sendFeedback, testConnection, normalizeServiceUrl } from "../lib/client.js";
import { ANALYZE_ON_DEVICE, ANALYZE_ON_SERVICE, shouldFallBack, fallbackNote } from "../lib/where.js";

const IGNORED_LIMIT = 5000;

async function settings() {
  const s = await chrome.storage.local.get({ serviceUrl: DEFAULT_SERVICE_URL, apiKey: "", debug: false, analyzeOn: ANALYZE_ON_SERVICE, deviceFallback: false });
  let baseUrl = DEFAULT_SERVICE_URL;
  try { baseUrl = normalizeServiceUrl(s.serviceUrl); } catch { /* fall back to the default */ }
  const device = !!offscreenApi();
  return { baseUrl, apiKey: s.apiKey || "", debug: !!s.debug, onDevice: device && s.analyzeOn === ANALYZE_ON_DEVICE, deviceFallback: device && !!s.deviceFallback };
}

let creatingOffscreen = null;

// chrome.offscreen (Chrome 109+). Firefox has none: its build analyses on the service only.
function offscreenApi() {
  return chrome[["off", "screen"].join("")];
}

async function ensureOffscreen() {
  const offscreen = offscreenApi();
  if (await offscreen.hasDocument()) return;
  if (!creatingOffscreen) {
    creatingOffscreen = offscreen.createDocument({
      url: "offscreen.html",
      reasons: ["WORKERS"],
      justification: "Runs the Pitchlint model on this device (onnxruntime-web), so email text is analysed without being sent anywhere.",
    }).finally(() => { creatingOffscreen = null; });
  }
  await creatingOffscreen;
}

/** A message for the offscreen document (the model on this device). */
async function onDevice(message) {
  if (!offscreenApi()) return { ok: false, error: { kind: "unsupported", message: "This browser cannot run the model on the device; use the service." } };
  await ensureOffscreen();
  const reply = await chrome.runtime.sendMessage({ ...message, target: "offscreen" });
  return reply || { ok: false, error: { kind: "device", message: "The model on this device did not answer; reload the extension." } };
}

async function ignoredKeys() {
  const { ignored = {} } = await chrome.storage.local.get("ignored");
  return ignored;
}

async function handle(message, sender) {
  if (!message || sender.id !== chrome.runtime.id) return { ok: false, error: { kind: "bad_request", message: "unknown sender" } };
  switch (message.type) {
    case "config": {
      const s = await settings();
      return { debug: s.debug, onDevice: s.onDevice, ignored: Object.keys(await ignoredKeys()) };
    }
    case "prepare": {
      // A compose box appeared: start loading the model now, so it is ready by the first pause.
      const s = await settings();
      if (s.onDevice) onDevice({ type: "prepare" }).catch(() => {});
      return { ok: true };
    }
    case "analyze": {
      const s = await settings();
      const r = message.request || {};
      if (typeof r.text !== "string") return { ok: false, error: { kind: "bad_request", message: "no text" } };
      const request = { text: r.text, subject: r.subject, mode: r.mode === "read" ? "read" : "compose" };
      if (s.onDevice) return onDevice({ type: "analyze", request });
      const answer = await analyze({ baseUrl: s.baseUrl, apiKey: s.apiKey, ...request, historyKey: r.historyKey });
      if (!shouldFallBack(answer, s.deviceFallback)) return answer;
      const local = await onDevice({ type: "analyze", request });
      if (!local.ok) return answer; // say what is wrong with the service, as without the fallback
      return { ok: true, data: { ...local.data, fallback: fallbackNote(answer.error) } };
    }
    case "deviceBenchmark": {
      // Only the extension's own pages may ask (the e2e figures), never a content script.
      if (sender.tab && !String(sender.url || "").startsWith(chrome.runtime.getURL(""))) return { ok: false, error: { kind: "bad_request", message: "not allowed" } };
      return onDevice({ type: "benchmark", text: message.text, changed: message.changed, runs: message.runs });
    }
    case "ignore": {
      const ignored = await ignoredKeys();
      ignored[message.key] = { label: message.label, at: Date.now() };
      const keys = Object.keys(ignored);
      if (keys.length > IGNORED_LIMIT) {
        keys.sort((a, b) => ignored[a].at - ignored[b].at);
        for (const k of keys.slice(0, keys.length - IGNORED_LIMIT)) delete ignored[k];
      }
      await chrome.storage.local.set({ ignored });
      const s = await settings();
      // Feedback is best effort, and only for a sentence the team's history kept (sampleId).
      return sendFeedback({ baseUrl: s.baseUrl, apiKey: s.apiKey, sampleId: message.sampleId, kind: "ignored" });
    }
    case "testConnection": {
      // Only the extension's own pages may ask (the options page), never a content script.
      if (sender.tab && !String(sender.url || "").startsWith(chrome.runtime.getURL(""))) return { ok: false, kind: "bad_request", message: "not allowed" };
      const s = await settings();
      return testConnection({ serviceUrl: message.serviceUrl || s.baseUrl, apiKey: message.apiKey ?? s.apiKey });
    }
    default:
      return { ok: false, error: { kind: "bad_request", message: `unknown message ${message.type}` } };
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  handle(message, sender).then(sendResponse, (e) => sendResponse({ ok: false, error: { kind: "unreachable", message: String((e && e.message) || e) } }));
  return true; // answer asynchronously
});

chrome.action.onClicked.addListener(() => chrome.runtime.openOptionsPage());

// No default is written to storage on install: settings() falls back to the default, and a
// write here could race with (and overwrite) a service URL set right after installation.
