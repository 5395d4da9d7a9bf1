// The service counts offsets in Unicode code points (Python string indices); the DOM counts
// UTF-16 code units. These helpers convert between the two without allocating per character.

/** A table t where t[cp] is the UTF-16 index of code point number cp; t[count] = text.length. */
export function codePointIndexTable(text) {
  const table = new Uint32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    table[cp++] = i;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++; // a surrogate pair is one code point
    }
  }
  table[cp] = text.length;
  return table.subarray(0, cp + 1);
}

/** Converts a code-point offset into `text` to a UTF-16 offset (clamped to the text). */
export function codePointToUtf16(text, cpOffset, table = codePointIndexTable(text)) {
  if (cpOffset <= 0) return 0;
  if (cpOffset >= table.length - 1) return text.length;
  return table[cpOffset];
}

/** Converts a UTF-16 offset to a code-point offset (counts the code points before it). */
export function utf16ToCodePoint(text, utf16Offset) {
  let cp = 0;
  for (let i = 0; i < utf16Offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < utf16Offset) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    cp++;
  }
  return cp;
}

/** The length of `text` in code points, as the service counts it. */
export function codePointLength(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
