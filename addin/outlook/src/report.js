/* Words for an analysis result (the analyze contract): the email's verdict, a one-line
 * summary ("3 sentences read as desperate"), and the Smart Alerts warning text. */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintReport = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const NAMES = {
    me_talk: "me-talk", customer_centric: "customer-centric", other: "other",
    desperate: "desperate", threatening: "threatening", neutral: "neutral",
  };
  const ORDER = ["threatening", "desperate", "me_talk"];
  const SMART_ALERT_LIMIT = 500; // Outlook's limit on errorMessage

  function name(label) { return NAMES[label] || String(label); }

  /** Why a sentence is flagged: its tone when not neutral, and me-talk. */
  function sentenceLabels(s) {
    const out = [];
    if (s.tone && (s.tone.label === "threatening" || s.tone.label === "desperate")) out.push(s.tone.label);
    if (s.focus && s.focus.label === "me_talk") out.push("me_talk");
    return out;
  }

  function flaggedSentences(result) {
    return (result && result.sentences || []).filter((s) => s.flagged);
  }

  function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

  function counts(result) {
    const c = { threatening: 0, desperate: 0, me_talk: 0 };
    for (const s of flaggedSentences(result)) for (const l of sentenceLabels(s)) c[l] += 1;
    return c;
  }

  /** "3 sentences read as desperate; 1 as me-talk." or the all-clear. */
  function summary(result) {
    const flagged = flaggedSentences(result);
    if (!flagged.length) return "Nothing flagged: no me-talk, desperate or threatening sentences.";
    const c = counts(result);
    const parts = ORDER.filter((k) => c[k]);
    if (!parts.length) return `${plural(flagged.length, "sentence")} flagged.`;
    const [first, ...rest] = parts;
    let text = `${plural(c[first], "sentence")} read${c[first] === 1 ? "s" : ""} as ${name(first)}`;
    for (const k of rest) text += `; ${c[k]} as ${name(k)}`;
    return text + ".";
  }

  /** "me-talk · desperate": the email's focus, then each tone found. */
  function verdict(result) {
    const flags = (result.tone && result.tone.flags) || [];
    return [name(result.focus.label)].concat(flags.length ? flags.map(name) : ["neutral tone"]).join(" · ");
  }

  function clip(text, n) {
    const t = String(text).replace(/\s+/g, " ").trim();
    return t.length <= n ? t : t.slice(0, n - 1).trimEnd() + "…";
  }

  /** The Smart Alerts message when something is flagged, else null. At most 500 characters. */
  function sendWarning(result) {
    const flagged = flaggedSentences(result);
    if (!flagged.length) return null;
    const head = summary(result);
    const tail = " Review them in Pitchlint, or send anyway.";
    let quotes = "";
    // Quote the worst first: threatening, then desperate, then me-talk.
    const rank = (s) => { const l = sentenceLabels(s); const i = ORDER.indexOf(l[0]); return i < 0 ? ORDER.length : i; };
    const worst = flagged.map((s, i) => [rank(s), i, s]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
    for (const s of worst.slice(0, 2)) {
      const q = ` “${clip(s.text, 120)}”`;
      if ((head + quotes + q + tail).length > SMART_ALERT_LIMIT) break;
      quotes += q;
    }
    return clip(head + quotes + tail, SMART_ALERT_LIMIT);
  }

  return { NAMES, name, sentenceLabels, flaggedSentences, summary, verdict, sendWarning, SMART_ALERT_LIMIT };
});
