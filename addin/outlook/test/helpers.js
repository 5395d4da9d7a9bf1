// Shared test helpers: an Outlook mock (office-addin-mock) and contract-shaped answers.
"use strict";
const { OfficeMockObject } = require("office-addin-mock");

function outlookMock({ body = "", subject = "Following up", compose = true, token = "sso-token",
                       tokenError = null, settings = {}, bodyError = null, itemId = null,
                       sessionData = true } = {}) {
  const stored = { ...settings };
  const session = {};
  const state = { body };
  const data = {
    host: "outlook",
    context: {
      mailbox: {
        item: {
          body: {
            getAsync(coercion, options, callback) {
              if (bodyError) callback({ status: "failed", error: { message: bodyError } });
              else callback({ status: "succeeded", value: coercion === "text" ? state.body : `<p>${state.body}</p>` });
            },
          },
          subject: compose
            ? { getAsync(callback) { callback({ status: "succeeded", value: subject }); } }
            : subject,
          ...(itemId ? { itemId } : {}),
          // Office.SessionData: a missing key is an error, as in Outlook
          ...(sessionData ? { sessionData: {
            getAsync(name, callback) {
              if (name in session) callback({ status: "succeeded", value: session[name] });
              else callback({ status: "failed", error: { code: 9057, message: "not found" } });
            },
            setAsync(name, value, callback) { session[name] = value; callback({ status: "succeeded" }); },
          } } : {}),
        },
      },
      roamingSettings: {
        get(k) { return stored[k]; },
        set(k, v) { stored[k] = v; },
        remove(k) { delete stored[k]; },
        saveAsync(cb) { if (cb) cb({ status: "succeeded" }); },
      },
    },
    auth: {
      async getAccessToken(options) {
        data.lastTokenOptions = options;
        if (tokenError) { const e = new Error(tokenError.message); e.code = tokenError.code; throw e; }
        return token;
      },
    },
    CoercionType: { Text: "text", Html: "html" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: { SendModeOverride: { PromptUser: "promptUser" } },
  };
  const mock = new OfficeMockObject(data);
  mock.stored = stored;
  mock.session = session;
  mock.state = state;
  mock.data = data;
  return mock;
}

function sentence(text, { tone = "neutral", focus = "other", flagged, message = null } = {}) {
  const isFlagged = flagged !== undefined ? flagged : tone !== "neutral" || focus === "me_talk";
  return { start: 0, end: text.length, text, flagged: isFlagged,
    message: isFlagged ? message || `This reads as ${tone !== "neutral" ? tone : "me-talk"}.` : null,
    focus: { label: focus, scores: {} }, tone: { label: tone, scores: {} } };
}

function result(sentences, { focus = "me_talk", flags } = {}) {
  const tones = flags || [...new Set(sentences.filter((s) => s.flagged && s.tone.label !== "neutral").map((s) => s.tone.label))];
  return { model: { name: "pitchlint-minilm", version: "test" },
    focus: { label: focus, scores: {} },
    tone: { label: tones.includes("threatening") ? "threatening" : tones[0] || "neutral", flags: tones, scores: {} },
    sentences };
}

/** A fetch that answers like the service, recording each call. */
function fakeFetch(answer) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init, body: JSON.parse(init.body) });
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer(url, init);
    const { status = 200, json, text } = answer;
    return { ok: status >= 200 && status < 300, status,
      async json() { if (json === undefined) return JSON.parse(text); return json; } };
  };
  fn.calls = calls;
  return fn;
}

module.exports = { outlookMock, sentence, result, fakeFetch };
