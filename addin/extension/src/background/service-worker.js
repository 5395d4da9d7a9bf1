// The service worker: the only part of the extension that talks to the network. It holds
// the settings (service URL, API key) and never hands the key to a content script.
import { DEFAULT_SERVICE_URL, analyze, sendFeedback, testConnection, normalizeServiceUrl } from "../lib/client.js";

const IGNORED_LIMIT = 5000;

async function settings() {
  const s = await chrome.storage.local.get({ serviceUrl: DEFAULT_SERVICE_URL, apiKey: "", debug: false });
  let baseUrl = DEFAULT_SERVICE_URL;
  try { baseUrl = normalizeServiceUrl(s.serviceUrl); } catch { /* fall back to the default */ }
  return { baseUrl, apiKey: s.apiKey || "", debug: !!s.debug };
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
      return { debug: s.debug, ignored: Object.keys(await ignoredKeys()) };
    }
    case "analyze": {
      const s = await settings();
      const r = message.request || {};
      if (typeof r.text !== "string") return { ok: false, error: { kind: "bad_request", message: "no text" } };
      return analyze({ baseUrl: s.baseUrl, apiKey: s.apiKey, text: r.text, subject: r.subject, mode: r.mode === "read" ? "read" : "compose", historyKey: r.historyKey });
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
