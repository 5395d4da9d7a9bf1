/* The sender's own words from a plain-text email body: quoted replies, forwarded headers and
 * the signature are left out before anything is sent for analysis. Plain module: no Office,
 * no DOM, so it runs in the task pane, in the Smart Alerts runtime and under Node's tests. */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintOwnText = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const ON_WROTE = /^on\b.{4,300}\bwrote:\s*$/i;
  const ORIGINAL = /^-{2,}\s*original message\s*-{2,}\s*$/i;
  const FORWARDED = /^(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:)\s*$/i;
  const OUTLOOK_RULE = /^_{10,}\s*$/; // Outlook's line above a reply's "From:/Sent:" block
  const FROM = /^\*?from:\*?\s/i;
  const SENT_OR_DATE = /^\*?(sent|date):\*?\s/i;
  const SIG_DELIMITER = /^--\s*$/;
  const SENT_FROM = /^(sent from my|sent from (outlook|mail)|get outlook for)\b/i;
  // A sign-off alone on its line ("Best,", "Kind regards") - never "Thanks for the call."
  const SIGN_OFF = new RegExp(
    "^(best|best regards|kind regards|kindest regards|regards|warm regards|warmly|best wishes|" +
      "all the best|thanks|thank you|many thanks|thanks again|cheers|sincerely|yours sincerely|" +
      "yours truly|respectfully|talk soon|speak soon|take care)\\s*[,.!]?\\s*$", "i");
  const MAX_SIGNATURE_LINES = 6;

  function historyStart(lines) {
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i].trim();
      if (ON_WROTE.test(t) || ORIGINAL.test(t) || FORWARDED.test(t)) return i;
      if (OUTLOOK_RULE.test(t) && lines.slice(i + 1, i + 3).some((l) => FROM.test(l.trim()))) return i;
      if (FROM.test(t) && lines.slice(i + 1, i + 5).some((l) => SENT_OR_DATE.test(l.trim()))) return i;
    }
    return lines.length;
  }

  function signatureStart(lines) {
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i].trim();
      if (SIG_DELIMITER.test(t)) return i;
      if (SIGN_OFF.test(t)) {
        const rest = lines.slice(i + 1).filter((l) => l.trim());
        if (rest.length <= MAX_SIGNATURE_LINES && rest.every((l) => l.trim().length <= 80)) return i;
      }
    }
    return lines.length;
  }

  /** The sender's own text of `body` (a plain-text email body). */
  function ownText(body) {
    if (!body) return "";
    let lines = String(body).replace(/\r\n?/g, "\n").split("\n");
    lines = lines.slice(0, historyStart(lines));
    lines = lines.filter((l) => !/^\s*>/.test(l) && !SENT_FROM.test(l.trim()));
    lines = lines.slice(0, signatureStart(lines));
    return lines.join("\n").replace(/[ \t]+$/gm, "").replace(/\n{3,}/g, "\n\n").trim();
  }

  return { ownText };
});
