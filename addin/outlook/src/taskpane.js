/* The task pane: in compose mode it analyses the draft (the sender's own text only), shows the
 * email's focus and tone and the flagged sentences with their messages, and re-analyses on
 * demand and on a timer while open; in read mode it classifies the opened incoming pitch.
 * All text is inserted with textContent. Every failure leaves a readable message. */
(function (root, factory) {
  const deps = typeof module === "object" && module.exports
    ? { ownText: require("./owntext.js"), report: require("./report.js"), client: require("./client.js"),
      office: require("./office.js") }
    : { ownText: root.PitchlintOwnText, report: root.PitchlintReport, client: root.PitchlintClient,
      office: root.PitchlintOffice };
  const api = factory(deps);
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintPane = api;
  if (typeof Office !== "undefined" && Office.onReady && typeof document !== "undefined") {
    Office.onReady((info) => {
      if (info.host !== Office.HostType.Outlook) return;
      const pane = api.createPane({ doc: document, office: Office });
      pane.start();
      // A pinned read pane stays open while the user moves to another message.
      const mailbox = Office.context && Office.context.mailbox;
      if (mailbox && mailbox.addHandlerAsync && Office.EventType && Office.EventType.ItemChanged) {
        mailbox.addHandlerAsync(Office.EventType.ItemChanged, () => pane.refresh({ force: true }));
      }
    });
  }
})(typeof self !== "undefined" ? self : this, function ({ ownText, report, client, office: glue }) {

  const REFRESH_MS = 15000;
  const PANE_TIMEOUT_MS = 10000;

  function createPane(deps) {
    const doc = deps.doc;
    const office = deps.office;
    const mode = deps.mode || (doc.body && doc.body.dataset && doc.body.dataset.mode) || "compose";
    const getBody = deps.getBody || (() => glue.bodyText(office));
    const getSubject = deps.getSubject || (() => glue.subject(office));
    const getCredential = deps.getCredential || ((opts) => client.getCredential(office, opts));
    const getHistoryKey = deps.getHistoryKey || (() => glue.historyKey(office));
    const analyze = deps.analyze || client.analyze;
    const sendFeedback = deps.sendFeedback || client.sendFeedback;
    const serviceUrl = deps.serviceUrl
      || (typeof PITCHLINT_SERVICE_URL !== "undefined" ? PITCHLINT_SERVICE_URL : "")
      || (typeof location !== "undefined" ? location.origin : "");
    const setRepeat = deps.setInterval || setInterval;
    const clearRepeat = deps.clearInterval || clearInterval;
    const intervalMs = deps.intervalMs || REFRESH_MS;
    const clock = deps.clock || (() => new Date());
    const $ = (id) => doc.getElementById(id);

    let lastText = null;
    let busy = false;
    let repeat = null;
    let promptedSignIn = false;

    function el(tag, cls, text) {
      const e = doc.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }

    function setStatus(text, kind) {
      const s = $("status");
      s.textContent = text;
      s.className = kind || "";
      s.hidden = !text;
    }

    function render(result) {
      $("overview").hidden = false;
      $("verdict").textContent = report.verdict(result);
      $("verdict").className = "verdict " + (report.flaggedSentences(result).length ? "bad" : "good");
      $("focus").textContent = report.name(result.focus.label);
      const flags = (result.tone.flags || []).map(report.name);
      $("tone").textContent = flags.length ? flags.join(", ") : "neutral";
      $("summary").textContent = report.summary(result);
      const list = $("sentences");
      list.textContent = "";
      for (const s of report.flaggedSentences(result)) {
        const li = el("li", "sentence");
        const labels = report.sentenceLabels(s);
        const tags = el("div", "labels");
        for (const l of labels.length ? labels : ["me_talk"]) tags.appendChild(el("span", `tag ${l}`, report.name(l)));
        li.appendChild(tags);
        li.appendChild(el("q", "text", s.text));
        if (s.message) li.appendChild(el("p", "message", s.message));
        const wrong = el("button", "wrong", "Not right?");
        wrong.type = "button";
        wrong.title = "Tell Pitchlint this sentence is not " + report.name(labels[0] || "me_talk");
        wrong.addEventListener("click", () => reportWrong(s, labels[0] || "me_talk", wrong));
        li.appendChild(wrong);
        list.appendChild(li);
      }
      const t = clock();
      $("updated").textContent = `Checked ${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}`;
    }

    /** The only thing the pane ever stores: feedback the user chose to give. */
    async function reportWrong(sentence, label, button) {
      button.disabled = true;
      try {
        const credential = await getCredential({ allowPrompt: false });
        await sendFeedback({ serviceUrl, token: credential.token, sentence: sentence.text, label, kind: "wrong" });
        button.textContent = "Thanks";
        setStatus(`Thanks: noted that this sentence is not ${report.name(label)}.`, "info");
        return "sent";
      } catch (e) {
        button.disabled = false;
        setStatus(`Feedback not sent: ${e && e.message}`, "error");
        return "error";
      }
    }

    function emptyMessage() {
      return mode === "read" ? "This email has no text of the sender's own to classify."
        : "Nothing to check yet: write a few sentences and Pitchlint will read them.";
    }

    async function refresh({ force = false } = {}) {
      if (busy) return "busy";
      busy = true;
      try {
        let body;
        try {
          body = await getBody();
        } catch (e) {
          setStatus(`Outlook could not give Pitchlint the email's text (${e.message}). Try again.`, "error");
          return "error";
        }
        const text = ownText.ownText(body);
        if (!text) {
          lastText = text;
          $("overview").hidden = true;
          $("sentences").textContent = "";
          setStatus(emptyMessage(), "info");
          return "empty";
        }
        if (text === lastText && !force) return "unchanged";
        setStatus(mode === "read" ? "Classifying this email…" : "Checking your draft…", "busy");
        const subject = await getSubject().catch(() => "");
        const credential = await getCredential({ allowPrompt: !promptedSignIn });
        promptedSignIn = true;
        const historyKey = await getHistoryKey().catch(() => null);
        const result = await analyze({ serviceUrl, text, subject, mode, historyKey, token: credential.token,
          timeoutMs: PANE_TIMEOUT_MS });
        lastText = text;
        render(result);
        setStatus("", "");
        return "shown";
      } catch (e) {
        const message = e && e.kind ? e.message : `Something went wrong: ${e && e.message}`;
        const stale = $("overview").hidden ? "" : " (showing the last check)";
        setStatus(message + stale, "error");
        return "error";
      } finally {
        busy = false;
      }
    }

    function saveApiKey() {
      const key = $("apikey").value.trim();
      const settings = office && office.context && office.context.roamingSettings;
      if (!settings) return setStatus("Settings cannot be saved in this Outlook.", "error");
      if (key) settings.set(client.API_KEY_SETTING, key);
      else settings.remove(client.API_KEY_SETTING);
      settings.saveAsync(() => setStatus(key ? "API key saved." : "API key removed.", "info"));
      refresh({ force: true });
    }

    function start() {
      $("refresh").addEventListener("click", () => refresh({ force: true }));
      if ($("savekey")) $("savekey").addEventListener("click", saveApiKey);
      const first = refresh({ force: true });
      if (mode === "compose") repeat = setRepeat(() => refresh(), intervalMs);
      return first;
    }

    function stop() {
      if (repeat !== null) clearRepeat(repeat);
      repeat = null;
    }

    return { refresh, render, start, stop, setStatus, reportWrong, mode };
  }

  return { createPane, REFRESH_MS, PANE_TIMEOUT_MS };
});
