/**
 * The two pieces of Go's standard library whose output okQ clients can see in error texts:
 * `strconv.Quote` (the `%q` verb) and `strconv.Atoi`'s error messages.
 */

const NAMED: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
  92: "\\\\",
  34: '\\"',
};

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/**
 * Go's `strconv.Quote` of a byte string: double quotes, `\a \b \f \n \r \t \v \\ \"` escapes,
 * printable UTF-8 kept, other runes as `\xHH` (below U+0020 and U+007F), `\uHHHH` or
 * `\UHHHHHHHH`, and bytes that are not valid UTF-8 as `\xHH`.
 */
export function goQuote(bytes: Buffer): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      const named = NAMED[b];
      if (named) out += named;
      else if (b < 0x20 || b === 0x7f) out += `\\x${hex(b, 2)}`;
      else out += String.fromCharCode(b);
      i++;
      continue;
    }
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    const rune = size > 1 ? decodeRune(bytes, i, size) : undefined;
    if (rune === undefined) {
      out += `\\x${hex(b, 2)}`;
      i++;
      continue;
    }
    const ch = String.fromCodePoint(rune);
    if (PRINTABLE.test(ch)) out += ch;
    else if (rune < 0x10000) out += `\\u${hex(rune, 4)}`;
    else out += `\\U${hex(rune, 8)}`;
    i += size;
  }
  return `${out}"`;
}

/** One UTF-8 rune of `size` bytes at `i`, or undefined when the bytes are not valid UTF-8. */
function decodeRune(bytes: Buffer, i: number, size: number): number | undefined {
  if (i + size > bytes.length) return undefined;
  let rune = (bytes[i] as number) & (0xff >> (size + 1));
  for (let k = 1; k < size; k++) {
    const c = bytes[i + k] as number;
    if ((c & 0xc0) !== 0x80) return undefined;
    rune = (rune << 6) | (c & 0x3f);
  }
  const min = size === 2 ? 0x80 : size === 3 ? 0x800 : 0x10000;
  if (rune < min || rune > 0x10ffff || (rune >= 0xd800 && rune <= 0xdfff)) return undefined;
  return rune;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Go's `strconv.Atoi` on a 64-bit platform: an optional sign and decimal digits. Returns the
 * value (a number; values past 2^53 lose precision, which no caller needs) or Go's error text,
 * e.g. `strconv.Atoi: parsing "abc": invalid syntax`.
 */
export function goAtoi(bytes: Buffer): { value: number } | { error: string } {
  // Up to 15 plain digits (the common case, e.g. `EX 60`) are exact as a number: no string, no BigInt.
  if (bytes.length > 0 && bytes.length <= 15) {
    let value = 0;
    let i = 0;
    for (; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
    }
    if (i === bytes.length) return { value };
  }
  const s = bytes.toString("latin1");
  if (!/^[+-]?[0-9]+$/.test(s)) return { error: `strconv.Atoi: parsing ${goQuote(bytes)}: invalid syntax` };
  const big = BigInt(s);
  if (big > INT64_MAX || big < INT64_MIN)
    return { error: `strconv.Atoi: parsing ${goQuote(bytes)}: value out of range` };
  return { value: Number(big) };
}
