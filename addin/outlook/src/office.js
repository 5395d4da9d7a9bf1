/* The thin Office glue: reading the current item's body and subject as promises. Works in
 * compose (subject.getAsync) and read (subject is a string) mode, and in the event runtime. */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintOffice = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  function failed(office, result) {
    return result.status === (office.AsyncResultStatus ? office.AsyncResultStatus.Failed : "failed");
  }

  function bodyText(office) {
    const item = office.context.mailbox.item;
    return new Promise((resolve, reject) => {
      item.body.getAsync(office.CoercionType.Text, {}, (result) => {
        if (failed(office, result)) reject(new Error((result.error && result.error.message) || "could not read the body"));
        else resolve(result.value || "");
      });
    });
  }

  function subject(office) {
    const item = office.context.mailbox.item;
    if (typeof item.subject === "string") return Promise.resolve(item.subject);
    if (!item.subject || !item.subject.getAsync) return Promise.resolve("");
    return new Promise((resolve) => {
      item.subject.getAsync((result) => resolve(failed(office, result) ? "" : result.value || ""));
    });
  }

  // The email's id for the team's history, so that checking it again (the pane as you type, then
  // Send) replaces its analysis rather than adding one: a message being read has an itemId; a
  // draft gets a random id kept in its compose session (item.sessionData, Mailbox 1.11).
  // Resolves null where neither is available (then each check is its own analysis).
  const HISTORY_KEY = "pitchlintHistoryKey";

  function newKey() {
    const c = typeof crypto !== "undefined" ? crypto : null;
    if (c && typeof c.randomUUID === "function") return `outlook-draft:${c.randomUUID()}`;
    return `outlook-draft:${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
  }

  function historyKey(office) {
    const item = office && office.context && office.context.mailbox && office.context.mailbox.item;
    if (!item) return Promise.resolve(null);
    if (typeof item.itemId === "string" && item.itemId) return Promise.resolve(`outlook-item:${item.itemId}`);
    const data = item.sessionData;
    if (!data || typeof data.getAsync !== "function" || typeof data.setAsync !== "function") return Promise.resolve(null);
    return new Promise((resolve) => {
      try {
        data.getAsync(HISTORY_KEY, (got) => {
          if (!failed(office, got) && typeof got.value === "string" && got.value) return resolve(got.value);
          const key = newKey();
          data.setAsync(HISTORY_KEY, key, (set) => resolve(failed(office, set) ? null : key));
        });
      } catch (e) {
        resolve(null);
      }
    });
  }

  return { bodyText, subject, historyKey };
});
