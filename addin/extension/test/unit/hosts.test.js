import { test } from "node:test";
import assert from "node:assert/strict";
import { page } from "./helpers.js";
import { GMAIL, OUTLOOK, hostFor, findEditors, findSendButton, findSubject, findReadBodies, readSubjectFor } from "../../src/lib/hosts.js";
import { readDraft } from "../../src/lib/analysis.js";

test("hosts are recognised by name only", () => {
  assert.equal(hostFor("mail.google.com"), GMAIL);
  assert.equal(hostFor("outlook.office.com"), OUTLOOK);
  assert.equal(hostFor("outlook.live.com"), OUTLOOK);
  assert.equal(hostFor("outlook.office365.com"), OUTLOOK);
  assert.equal(hostFor("mail.google.com.evil.example"), null);
});

test("Gmail: several compose boxes, each with its own Send button and subject", () => {
  const w = page("gmail.html");
  const doc = w.document;
  assert.equal(findEditors(doc, GMAIL).length, 0);
  w.openCompose();
  w.openCompose('<div dir="ltr">Reply text.</div><div class="gmail_quote"><blockquote class="gmail_quote">Old.</blockquote></div>');
  const editors = findEditors(doc, GMAIL);
  assert.equal(editors.length, 2);
  const sends = editors.map((e) => findSendButton(e, GMAIL));
  assert.ok(sends[0] && sends[1] && sends[0] !== sends[1]);
  assert.equal(sends[0].textContent, "Send");
  assert.equal(findSubject(editors[0], GMAIL), "Following up");
  assert.equal(readDraft(editors[1]).text, "Reply text.");
});

test("Gmail: the opened message's body, without its quote", () => {
  const doc = page("gmail.html").document;
  const bodies = findReadBodies(doc, GMAIL);
  assert.equal(bodies.length, 1);
  assert.equal(readSubjectFor(bodies[0], GMAIL), "Quick question about your Q1 plans");
  const text = readDraft(bodies[0]).text;
  assert.match(text, /^Hi Dana,\n\nI apologize/);
  assert.doesNotMatch(text, /2013 pricing/);
});

test("Outlook: inline reply editor, its Send button, and the message being read", () => {
  const doc = page("outlook.html").document;
  const editors = findEditors(doc, OUTLOOK);
  assert.equal(editors.length, 1);
  assert.equal(findSendButton(editors[0], OUTLOOK).getAttribute("aria-label"), "Send");
  assert.equal(readDraft(editors[0]).text, "", "signature and the quoted history are not the draft");
  const bodies = findReadBodies(doc, OUTLOOK);
  assert.equal(bodies.length, 1);
  assert.equal(readSubjectFor(bodies[0], OUTLOOK), "Partnership opportunity");
});
