"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { ownText } = require("../src/owntext.js");

test("keeps the sender's words and leaves out an Outlook reply header block", () => {
  const body = "Hi Sam,\r\n\r\nSorry to chase again. Any news?\r\n\r\n________________________________\r\n" +
    "From: Sam Buyer <sam@buyer.example>\r\nSent: Monday, 3 November 2026 10:02\r\nTo: Tom\r\n" +
    "Subject: RE: pricing\r\n\r\nWe have no budget.";
  assert.equal(ownText(body), "Hi Sam,\n\nSorry to chase again. Any news?");
});

test("leaves out Gmail-style quotes, '>' lines and forwarded messages", () => {
  assert.equal(ownText("Yes.\n\nOn Mon, 3 Nov 2026 at 10:02, Sam <s@b.example> wrote:\n> no budget"), "Yes.");
  assert.equal(ownText("> Can you do 10%?\nYes we can.\n> Shipping?\nFree."), "Yes we can.\nFree.");
  assert.equal(ownText("See below.\n---------- Forwarded message ---------\nFrom: x"), "See below.");
  assert.equal(ownText("Ok.\n-----Original Message-----\nFrom: x\nSent: y"), "Ok.");
});

test("leaves out the signature, but not a sentence that starts like a sign-off", () => {
  assert.equal(ownText("Could we talk Tuesday?\n\nBest regards,\nTom Rep\nAcme | +1 415 555 0100"),
    "Could we talk Tuesday?");
  assert.equal(ownText("Thanks for the call. Could we meet Tuesday?\n\nThanks,\nTom"),
    "Thanks for the call. Could we meet Tuesday?");
  assert.equal(ownText("Here it is.\n-- \nTom\nSent from my iPhone"), "Here it is.");
  assert.equal(ownText("Short one.\n\nSent from my iPhone"), "Short one.");
});

test("a long tail after 'Thanks,' is not a signature", () => {
  const body = "Thanks,\n" + Array.from({ length: 8 }, (_, i) => `Point ${i} of my proposal.`).join("\n");
  assert.equal(ownText(body), body);
});

test("empty and missing bodies give empty text", () => {
  assert.equal(ownText(""), "");
  assert.equal(ownText(null), "");
  assert.equal(ownText("\n\n> all quoted\n"), "");
});
