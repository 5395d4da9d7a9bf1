/* Smart Alerts: the OnMessageSend handler. It analyses the sender's own text of the draft and,
 * when something is flagged, blocks softly with a summary and the choice to review or send
 * anyway. It never stands in the way otherwise: whatever goes wrong (no body, no sign-in, the
 * service down or slow), the mail goes, and the whole handler finishes within DEADLINE_MS -
 * well before Outlook's "taking longer than expected" at about 5 s after Send. */
(function (root, factory) {
  const deps = typeof module === "object" && module.exports
    ? { ownText: require("./owntext.js"), report: require("./report.js"), client: require("./client.js"),
      office: require("./office.js") }
    : { ownText: root.PitchlintOwnText, report: root.PitchlintReport, client: root.PitchlintClient,
      office: root.PitchlintOffice };
  const api = factory(deps);
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PitchlintOnSend = api;
  if (typeof Office !== "undefined" && Office.actions && Office.actions.associate) {
    Office.actions.associate("onMessageSendHandler", api.createSendHandler({ office: Office }));
  }
})(typeof self !== "undefined" ? self : this, function ({ ownText, report, client, office: glue }) {

  const DEADLINE_MS = 3000;
  const PANE_COMMAND_ID = "msgComposeOpenPaneButton";

  /** Builds the handler. Everything it touches comes in `deps`, so tests can drive it. */
  function createSendHandler(deps) {
    const office = deps.office;
    const deadlineMs = deps.deadlineMs || DEADLINE_MS;
    const setTimer = deps.setTimer || setTimeout;
    const clearTimer = deps.clearTimer || clearTimeout;
    const now = deps.now || (() => Date.now());
    const serviceUrl = () => deps.serviceUrl
      || (typeof PITCHLINT_SERVICE_URL !== "undefined" ? PITCHLINT_SERVICE_URL : "");
    const getBody = deps.getBody || (() => glue.bodyText(office));
    const getSubject = deps.getSubject || (() => glue.subject(office));
    const getCredential = deps.getCredential || (() => client.getCredential(office, { allowPrompt: false }));
    const getHistoryKey = deps.getHistoryKey || (() => glue.historyKey(office));
    const analyze = deps.analyze || client.analyze;
    const log = deps.log || (() => {});

    return function onMessageSendHandler(event) {
      const started = now();
      let finished = false;
      let timer = null;
      const finish = (options, why) => {
        if (finished) return;
        finished = true;
        if (timer !== null) clearTimer(timer);
        log(why);
        event.completed(options);
      };
      const letItGo = (why) => finish({ allowEvent: true }, why);
      timer = setTimer(() => letItGo("deadline"), deadlineMs);

      (async () => {
        const text = ownText.ownText(await getBody());
        if (!text) return letItGo("no own text");
        const [subject, credential, historyKey] = await Promise.all([getSubject().catch(() => ""), getCredential(),
          getHistoryKey().catch(() => null)]);
        const remaining = deadlineMs - (now() - started) - 150;
        if (remaining <= 0) return letItGo("no time left");
        const result = await analyze({ serviceUrl: serviceUrl(), text, subject, mode: "compose", historyKey,
          token: credential && credential.token, timeoutMs: remaining });
        const warning = report.sendWarning(result);
        if (!warning) return letItGo("nothing flagged");
        const options = { allowEvent: false, errorMessage: warning, cancelLabel: "Review",
          commandId: PANE_COMMAND_ID };
        const modes = office.MailboxEnums && office.MailboxEnums.SendModeOverride;
        if (modes && modes.PromptUser) options.sendModeOverride = modes.PromptUser;
        return finish(options, "flagged");
      })().catch((e) => letItGo(`error: ${e && e.message}`));
    };
  }

  return { createSendHandler, DEADLINE_MS, PANE_COMMAND_ID };
});
