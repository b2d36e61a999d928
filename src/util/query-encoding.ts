/**
 * The `application/x-www-form-urlencoded` encoding of Go's `net/url` (`QueryEscape`,
 * `Values.Encode`, `ParseQuery`), which the OPQ dialect shows its clients byte for byte (README
 * "OPQ bridge"). It works on bytes, not text: a value need not be valid UTF-8.
 *
 * Strings here are "byte strings": one char per byte (latin1), so any byte sequence survives and
 * plain string comparison is byte order.
 */

/** Bytes `QueryEscape` leaves alone: ASCII letters, digits and `-_.~`. */
function unreserved(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x2d ||
    b === 0x5f ||
    b === 0x2e ||
    b === 0x7e
  );
}

const HEX = "0123456789ABCDEF";

/** Go's `url.QueryEscape` of a byte string: spaces become `+`, other reserved bytes `%XX` (upper case). */
export function queryEscape(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes.charCodeAt(i) & 0xff;
    if (unreserved(b)) out += bytes[i];
    else if (b === 0x20) out += "+";
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * Go's `url.Values.Encode`: `key=value` pairs joined by `&`, keys in byte order, each key's values
 * in their order. Keys and values are byte strings.
 */
export function encodeQuery(values: ReadonlyMap<string, readonly string[]>): string {
  const keys = [...values.keys()].sort();
  const parts: string[] = [];
  for (const key of keys) {
    const k = queryEscape(key);
    for (const v of values.get(key) ?? []) parts.push(`${k}=${queryEscape(v)}`);
  }
  return parts.join("&");
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Go's `url.QueryUnescape` of a byte string: `+` is a space; undefined for a bad `%` escape. */
export function queryUnescape(text: string): string | undefined {
  if (!text.includes("%") && !text.includes("+")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) out += " ";
    else if (c === 0x25) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      out += String.fromCharCode((hi << 4) | lo);
      i += 2;
    } else out += text[i];
  }
  return out;
}

/**
 * Go's `url.ParseQuery` into `into` (appending to keys already there): pairs split on `&`, key
 * and value on the first `=`; an empty pair, or one with a bad escape, is skipped.
 */
export function parseQueryInto(into: Map<string, string[]>, query: string): void {
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq < 0 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    const list = into.get(key);
    if (list) list.push(value);
    else into.set(key, [value]);
  }
}
