// Talking to the Pitchlint service (used by the service worker and the options page; content
// scripts never call the network). Every failure gets its own kind and a message that says
// what was wrong and what to do.

export const DEFAULT_SERVICE_URL = "http://127.0.0.1:8350/";
export const DEFAULT_TIMEOUT_MS = 10000;

/** "http://host:port/path" -> "http://host:port/path/" ; throws with a readable message. */
export function normalizeServiceUrl(input) {
  const raw = String(input || "").trim();
  if (!raw) throw new Error("Enter the service URL, e.g. http://127.0.0.1:8350/");
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL; write it like http://127.0.0.1:8350/`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`the service URL must start with http:// or https:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) throw new Error("put the API key in its own field, not in the URL");
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url.toString();
}

/** The host-permission match pattern for a service URL ("http://host:port/*"). */
export function originPattern(serviceUrl) {
  const url = new URL(serviceUrl);
  return `${url.protocol}//${url.host}/*`;
}

function describeStatus(status, body, where) {
  const code = body && body.error && body.error.code;
  const detail = body && body.error && body.error.message;
  if (status === 401) {
    if (code === "missing_key") return { kind: "auth", message: "The service requires an API key: create one with `pitchlint keys create` and paste it in the options." };
    return { kind: "auth", message: `The API key was refused${detail ? `: ${detail}` : ""}. Check the key in the options.` };
  }
  if (status === 403) return { kind: "auth", message: `The API key is not allowed${detail ? `: ${detail}` : ""}.` };
  if (status === 429) return { kind: "rate_limited", message: "The service is busy (rate limited); retrying shortly." };
  if (status === 503) return { kind: "not_ready", message: `The service is starting (model not ready)${detail ? `: ${detail}` : ""}.` };
  if (status === 413) return { kind: "too_long", message: detail || "The email is too long for the service." };
  if (status >= 500) return { kind: "server", message: `The service failed (HTTP ${status}) at ${where}.` };
  if (status === 404 || status === 405) return { kind: "not_pitchlint", message: `${where} answered HTTP ${status}: this is not a Pitchlint service (check the URL).` };
  return { kind: "bad_request", message: detail || `The service answered HTTP ${status}.` };
}

/**
 * One call to the service. Returns {ok: true, status, data} or
 * {ok: false, error: {kind, status, message, retryAfterMs}}.
 */
export async function callService({ baseUrl, apiKey, path, method = "GET", body, timeoutMs = DEFAULT_TIMEOUT_MS, fetchImpl = globalThis.fetch }) {
  const url = new URL(path, baseUrl).toString();
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetchImpl(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal, credentials: "omit", cache: "no-store", redirect: "error",
    });
  } catch (e) {
    clearTimeout(timer);
    if (controller.signal.aborted) {
      return { ok: false, error: { kind: "timeout", message: `${url} did not answer within ${Math.round(timeoutMs / 1000)} s.` } };
    }
    return { ok: false, error: { kind: "unreachable", message: `Cannot reach ${new URL(baseUrl).host}: is the service running, is the URL right, and does it allow this extension (grant access when saving the options, or set PITCHLINT_CORS_ORIGINS on the service)? (${(e && e.message) || e})` } };
  }
  let text = "";
  try {
    text = await response.text();
  } catch {
    clearTimeout(timer);
    return { ok: false, error: { kind: "timeout", message: `${url} stopped answering.` } };
  }
  clearTimeout(timer);
  let data = null;
  const isJson = /json/i.test(response.headers.get("content-type") || "");
  if (isJson) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const error = { status: response.status, ...describeStatus(response.status, data, url) };
    const retryAfter = Number(response.headers.get("retry-after"));
    if (retryAfter > 0) error.retryAfterMs = retryAfter * 1000;
    return { ok: false, error };
  }
  if (!isJson || data === null) {
    return { ok: false, error: { kind: "not_pitchlint", status: response.status, message: `${url} did not answer JSON: this is not a Pitchlint service (check the URL).` } };
  }
  return { ok: true, status: response.status, data };
}

/** Checks that an analyze answer has the contract's shape. */
export function looksLikeAnalysis(data) {
  return !!data && Array.isArray(data.sentences) && !!data.focus && !!data.tone;
}

export async function analyze({ baseUrl, apiKey, text, subject, mode = "compose", historyKey, fetchImpl, timeoutMs }) {
  const body = { text, mode };
  if (subject) body.subject = subject;
  // One id per email being written: when the team keeps history, each re-analysis as the
  // writer types replaces the last one instead of adding another.
  if (typeof historyKey === "string" && historyKey.length >= 1 && historyKey.length <= 1000) body.history_key = historyKey;
  const answer = await callService({ baseUrl, apiKey, path: "v1/analyze", method: "POST", body, fetchImpl, timeoutMs });
  if (answer.ok && !looksLikeAnalysis(answer.data)) {
    return { ok: false, error: { kind: "not_pitchlint", message: "The answer to /v1/analyze is not a Pitchlint analysis (check the URL)." } };
  }
  return answer;
}

/**
 * "Ignore" on a sentence the team's history kept (its analysis carried `sample_id`): tells
 * /v1/feedback. Without a sample id (the team keeps no history) nothing is sent: the sentence
 * never left this browser but for the analysis. A service without /v1/feedback (404) is fine.
 */
export async function sendFeedback({ baseUrl, apiKey, sampleId, kind = "ignored", fetchImpl, timeoutMs = 5000 }) {
  if (!Number.isInteger(sampleId)) return { ok: true, sent: false, reason: "the team keeps no history" };
  const answer = await callService({ baseUrl, apiKey, path: "v1/feedback", method: "POST", body: { sample_id: sampleId, kind }, fetchImpl, timeoutMs });
  if (!answer.ok && answer.error.status === 404) return { ok: true, sent: false, reason: "the service does not take feedback" };
  return answer.ok ? { ok: true, sent: true } : answer;
}

/**
 * The options page's "Test connection": says exactly what is wrong, or what was found.
 * Returns {ok, kind, message, model?}.
 */
export async function testConnection({ serviceUrl, apiKey, fetchImpl, timeoutMs = 5000 }) {
  let baseUrl;
  try {
    baseUrl = normalizeServiceUrl(serviceUrl);
  } catch (e) {
    return { ok: false, kind: "bad_url", message: e.message };
  }
  const model = await callService({ baseUrl, apiKey, path: "v1/model", fetchImpl, timeoutMs });
  if (!model.ok) return { ok: false, kind: model.error.kind, message: model.error.message };
  const m = model.data;
  if (!m || typeof m.name !== "string" || !m.labels) {
    return { ok: false, kind: "not_pitchlint", message: `${baseUrl}v1/model answered, but not with a Pitchlint model description: this is not a Pitchlint service.` };
  }
  const probe = await analyze({ baseUrl, apiKey, text: "Hello.", mode: "compose", fetchImpl, timeoutMs });
  if (!probe.ok) return { ok: false, kind: probe.error.kind, message: `The model is there but analyze failed: ${probe.error.message}` };
  return { ok: true, kind: "ok", model: { name: m.name, version: m.version }, message: `Connected: ${m.name} ${m.version || ""}`.trim() + (apiKey ? " (key accepted)." : " (no key needed).") };
}
