import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function dom(html) {
  const { window } = new JSDOM(`<!doctype html><body>${html}</body>`);
  return window.document;
}

export function page(name) {
  const html = readFileSync(fileURLToPath(new URL(`../e2e/pages/${name}`, import.meta.url)), "utf8");
  const { window } = new JSDOM(html, { runScripts: "dangerously" });
  return window;
}

/** Builds a fake analyze response for `text` flagging the given sentences (code point offsets). */
export function response(text, flagged) {
  const sentences = [];
  for (const [sentence, tone, focus = "me_talk"] of flagged) {
    const at = text.indexOf(sentence);
    if (at < 0) throw new Error(`not in text: ${sentence}`);
    const start = [...text.slice(0, at)].length;
    sentences.push({
      start, end: start + [...sentence].length, text: sentence, flagged: true,
      focus: { label: focus }, tone: { label: tone }, message: `because ${tone}`,
    });
  }
  return { focus: { label: "me_talk" }, tone: { label: "desperate", flags: ["desperate"] }, sentences };
}
