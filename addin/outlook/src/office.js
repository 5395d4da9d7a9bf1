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

  return { bodyText, subject };
});
