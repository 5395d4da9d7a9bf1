// Where things are in Gmail's and Outlook on the web's DOM: compose editors, their Send
// buttons and subjects, and the bodies of opened messages. Only queries; nothing is changed.

export const GMAIL = {
  name: "gmail",
  editors: "div[contenteditable='true'][g_editable='true'], div.editable[contenteditable='true'][role='textbox']",
  composeRoot: "div[role='dialog'], .M9, .iN, .aoP, .nH.Hd, form, table",
  send: "div[role='button'].aoO, div[role='button'][data-tooltip^='Send'], [role='button'][aria-label^='Send']",
  subject: "input[name='subjectbox']",
  readBodies: "div.a3s",
  readSubject: "h2.hP",
};

export const OUTLOOK = {
  name: "outlook",
  editors: "div[contenteditable='true'][aria-label='Message body'], div[contenteditable='true'][role='textbox'][aria-label*='essage body'], div#editorParent_1 [contenteditable='true']",
  composeRoot: "[data-pitchlint-compose], [role='dialog'], [role='main'], form, div[aria-label='Reading Pane']",
  send: "button[aria-label='Send'], button[title='Send'], button[name='Send']",
  subject: "input[aria-label='Add a subject'], input[placeholder='Add a subject']",
  readBodies: "div[aria-label='Message body']:not([contenteditable='true']), div#UniqueMessageBody",
  readSubject: "[role='heading'][aria-level='2'], .allowTextSelection span[title]",
};

export function hostFor(hostname) {
  if (/(^|\.)mail\.google\.com$/.test(hostname)) return GMAIL;
  if (/(^|\.)(outlook\.office\.com|outlook\.office365\.com|outlook\.live\.com)$/.test(hostname)) return OUTLOOK;
  return null;
}

/** Compose editors now in the document (visible or not). */
export function findEditors(doc, host) {
  return [...doc.querySelectorAll(host.editors)];
}

/** Bodies of opened messages (not editors). */
export function findReadBodies(doc, host) {
  return [...doc.querySelectorAll(host.readBodies)].filter((el) => !el.isContentEditable && el.getAttribute("contenteditable") !== "true" && !el.closest("[contenteditable='true']"));
}

/**
 * The Send button of the compose box that holds `editor`: the nearest ancestor, up to a few
 * levels of containers, that holds exactly one Send button.
 */
export function findSendButton(editor, host) {
  let node = editor.parentElement;
  for (let depth = 0; node && depth < 25; depth++, node = node.parentElement) {
    const buttons = node.querySelectorAll(host.send);
    if (buttons.length === 1) return buttons[0];
    if (buttons.length > 1) return null; // the container holds several compose boxes: stop
  }
  return null;
}

export function findSubject(editor, host) {
  let node = editor.parentElement;
  for (let depth = 0; node && depth < 25; depth++, node = node.parentElement) {
    const inputs = node.querySelectorAll(host.subject);
    if (inputs.length === 1) return inputs[0].value || "";
    if (inputs.length > 1) return "";
  }
  return "";
}

export function readSubjectFor(body, host) {
  let node = body.parentElement;
  for (let depth = 0; node && depth < 25; depth++, node = node.parentElement) {
    const h = node.querySelector(host.readSubject);
    if (h) return (h.textContent || "").trim();
  }
  return "";
}
