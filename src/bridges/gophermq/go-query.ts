/**
 * Go's `net/url` query parsing and `mime.ParseMediaType`, as GopherMQ's Echo binder meets them
 * (docs/gophermq.md "Request bodies"). Only what decides whether Go accepts the input is kept.
 */

const isHex = (c: number | undefined) =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

/**
 * Go's `url.QueryUnescape` as bytes (latin1 in, latin1 out): `+` is a space, `%XX` a byte; a `%`
 * not followed by two hex digits is an error (undefined). Any byte value is accepted, valid UTF-8
 * or not, as Go accepts it.
 */
export function queryUnescape(s: string): string | undefined {
  if (!s.includes("%")) return s.includes("+") ? s.replace(/\+/g, " ") : s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return undefined;
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += c === 0x2b ? " " : s[i];
  }
  return out;
}

/** What Go's `url.ParseQuery` makes of a query: the pairs it kept, and whether it reported an error. */
export interface GoQuery {
  /** Key and value of each pair that decoded, in order (latin1 strings of the raw bytes). */
  pairs: [string, string][];
  /** False when Go's ParseQuery returns an error (a `;` in a pair, or a bad `%` escape). */
  ok: boolean;
}

/**
 * Go's `url.ParseQuery` (Go 1.17 and later): pairs separated by `&`; a pair with `;` is an error
 * and skipped; a pair whose key or value has a bad escape is an error and skipped; the others are
 * kept. `query` is the raw text as latin1 (one char per byte).
 */
export function parseGoQuery(query: string): GoQuery {
  const pairs: [string, string][] = [];
  let ok = true;
  for (const part of query.split("&")) {
    if (part.includes(";")) {
      ok = false;
      continue;
    }
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = queryUnescape(eq < 0 ? part : part.slice(0, eq));
    const value = key === undefined ? undefined : queryUnescape(eq < 0 ? "" : part.slice(eq + 1));
    if (key === undefined || value === undefined) {
      ok = false;
      continue;
    }
    pairs.push([key, value]);
  }
  return { pairs, ok };
}

/** RFC 2045 `tspecials`, which end a token. */
const TSPECIALS = '()<>@,;:\\"/[]?=';
const isTokenChar = (c: string) => {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !TSPECIALS.includes(c);
};
/** Go's `unicode.IsSpace` as it meets header bytes (a lone byte above 0x7f is no space in Go's UTF-8). */
const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
function trimLeftSpace(s: string): string {
  let i = 0;
  while (isSpace(s[i])) i++;
  return s.slice(i);
}
function trimSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1])) end--;
  return trimLeftSpace(s.slice(0, end));
}

/** The longest token at the start of `s`, and the rest. */
function consumeToken(s: string): [string, string] {
  let i = 0;
  while (i < s.length && isTokenChar(s[i] as string)) i++;
  return [s.slice(0, i), s.slice(i)];
}

/** A token or a quoted string (backslash escapes only before tspecials, as Go reads MSIE's paths). */
function consumeValue(s: string): [string, string] {
  if (s === "") return ["", ""];
  if (s[0] !== '"') return consumeToken(s);
  let value = "";
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') return [value, s.slice(i + 1)];
    if (c === "\\" && i + 1 < s.length && TSPECIALS.includes(s[i + 1] as string)) {
      value += s[i + 1];
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") return ["", s];
    value += c;
  }
  return ["", s]; // no closing quote
}

/** One `; key=value` parameter at the start of `s`: [key, value, rest], or key "" when there is none. */
function consumeParam(s: string): [string, string, string] {
  let rest = trimLeftSpace(s);
  if (!rest.startsWith(";")) return ["", "", s];
  rest = trimLeftSpace(rest.slice(1));
  let key: string;
  [key, rest] = consumeToken(rest);
  key = key.toLowerCase();
  if (key === "") return ["", "", s];
  rest = trimLeftSpace(rest);
  if (!rest.startsWith("=")) return ["", "", s];
  rest = trimLeftSpace(rest.slice(1));
  const [value, after] = consumeValue(rest);
  if (value === "" && after === rest) return ["", "", s];
  return [key, value, after];
}

/** A media type and its parameters, as Go's `mime.ParseMediaType` returns them. */
export interface MediaType {
  /** Lower-cased `type/subtype`. */
  type: string;
  /** Parameters by lower-cased name. RFC 2231 (`name*`) parameters are kept under their raw names. */
  params: Map<string, string>;
}

/**
 * Go's `mime.ParseMediaType`, or undefined where it returns an error: no type, a bad
 * `type/subtype`, a malformed parameter, or the same parameter twice with different values. A
 * trailing `;` is fine. RFC 2231 continuations are not decoded (docs/gophermq.md).
 */
export function parseMediaType(value: string): MediaType | undefined {
  const semi = value.indexOf(";");
  const base = semi < 0 ? value : value.slice(0, semi);
  const type = trimSpace(base.toLowerCase());
  const [major, afterMajor] = consumeToken(type);
  if (major === "") return undefined;
  if (afterMajor !== "") {
    if (!afterMajor.startsWith("/")) return undefined;
    const [minor, afterMinor] = consumeToken(afterMajor.slice(1));
    if (minor === "" || afterMinor !== "") return undefined;
  }
  const params = new Map<string, string>();
  let rest = value.slice(base.length);
  while (rest.length > 0) {
    rest = trimLeftSpace(rest);
    if (rest === "") break;
    const [key, v, after] = consumeParam(rest);
    if (key === "") {
      if (trimSpace(after) === ";") break; // a trailing semicolon
      return undefined;
    }
    const seen = params.get(key);
    if (seen !== undefined && seen !== v) return undefined;
    params.set(key, v);
    rest = after;
  }
  return { type, params };
}
