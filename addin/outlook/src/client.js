/* Calling the Pitchlint service: sign-in (Office SSO, or an API key), a hard timeout, and a
 * distinct readable message for each way a call can fail. */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintClient = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const API_KEY_SETTING = "pitchlintApiKey";

  class PitchlintError extends Error {
    constructor(kind, message, details) {
      super(message);
      this.name = "PitchlintError";
      this.kind = kind; // timeout | network | auth | too_large | rate_limited | server | bad_answer
      Object.assign(this, details || {});
    }
  }

  function seconds(ms) { return `${Math.round(ms / 100) / 10} s`; }

  /** The credential to send: an Office SSO token, else the API key saved in settings, else none
   * (a service on this computer may run without keys). Never throws. */
  async function getCredential(office, { allowPrompt = false } = {}) {
    try {
      if (office && office.auth && office.auth.getAccessToken) {
        const token = await office.auth.getAccessToken({
          allowSignInPrompt: allowPrompt, allowConsentPrompt: allowPrompt, forMSGraphAccess: false,
        });
        if (token) return { kind: "sso", token };
      }
    } catch (e) {
      // 13xxx codes: SSO not available here (not signed in, not consented, not supported).
    }
    try {
      const settings = office && office.context && office.context.roamingSettings;
      const key = settings && settings.get(API_KEY_SETTING);
      if (key) return { kind: "key", token: key };
    } catch (e) { /* settings unavailable */ }
    return { kind: "none", token: null };
  }

  async function readError(resp) {
    try {
      const body = await resp.json();
      if (body && body.error && body.error.message) return body.error;
    } catch (e) { /* not JSON */ }
    return { code: `http_${resp.status}`, message: `the service answered ${resp.status}` };
  }

  /** POST a JSON body to the service's add-in API with a hard timeout; resolves to the JSON
   * answer or rejects with a PitchlintError whose message can be shown as it is. */
  async function post(path, payload, { serviceUrl, token, timeoutMs, fetchImpl,
                                       setTimer = setTimeout, clearTimer = clearTimeout }) {
    const doFetch = fetchImpl || (typeof fetch === "function" ? fetch : null);
    if (!doFetch) throw new PitchlintError("network", "this Outlook cannot make web requests");
    const url = `${String(serviceUrl).replace(/\/+$/, "")}/addin/outlook/api/${path}`;
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimer(() => {
        if (controller) controller.abort();
        reject(new PitchlintError("timeout", `Pitchlint did not answer within ${seconds(timeoutMs)}; try again`));
      }, timeoutMs);
    });
    const call = (async () => {
      let resp;
      try {
        resp = await doFetch(url, { method: "POST", headers, body: JSON.stringify(payload),
          signal: controller ? controller.signal : undefined });
      } catch (e) {
        throw new PitchlintError("network", `Pitchlint could not be reached at ${serviceUrl}; check your connection`);
      }
      if (resp.ok) {
        try {
          return await resp.json();
        } catch (e) {
          throw new PitchlintError("bad_answer", "Pitchlint sent an answer that could not be read");
        }
      }
      const err = await readError(resp);
      const kind = resp.status === 401 || resp.status === 403 ? "auth"
        : resp.status === 413 ? "too_large" : resp.status === 429 ? "rate_limited"
          : resp.status >= 500 ? "server" : "bad_request";
      const prefix = { auth: "Sign-in problem: ", too_large: "Too long to check: ",
        rate_limited: "Too many checks: ", server: "Pitchlint is having trouble: ", bad_request: "" }[kind];
      throw new PitchlintError(kind, prefix + err.message, { status: resp.status, code: err.code });
    })();
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimer(timer);
    }
  }

  /** The analyze contract for `text` (POST /addin/outlook/api/analyze). */
  function analyze({ text, subject, mode = "compose", historyKey = null, timeoutMs = 3000, ...options }) {
    const payload = subject ? { text, subject, mode } : { text, mode };
    if (typeof historyKey === "string" && historyKey.length >= 1 && historyKey.length <= 1000) payload.history_key = historyKey;
    return post("analyze", payload, { timeoutMs, ...options });
  }

  /** "This highlight is not right": stored by the service against the sentence. */
  function sendFeedback({ sentence, label, kind = "wrong", timeoutMs = 5000, ...options }) {
    return post("feedback", { sentence, label, kind }, { timeoutMs, ...options });
  }

  return { analyze, sendFeedback, getCredential, PitchlintError, API_KEY_SETTING };
});
