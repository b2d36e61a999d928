/**
 * Go's `net/url` query parsing and `mime.ParseMediaType`, as GopherMQ's Echo binder meets them
 * (docs/gophermq.md "Request bodies"). Only what decides whether Go accepts the input is kept.
 */
import { queryUnescape } from "../../util/index.js";

/** A `%` not followed by two hex digits: Go's `QueryUnescape` fails on it. */
const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/;

/**
 * Whether Go's `url.ParseQuery` (Go 1.17 and later) returns no error for `query` (raw, one
 * latin1 char per byte): no pair holds a `;`, and every `%` starts a valid escape. Linear; nothing
 * is decoded.
 */
export function goQueryParses(query: string): boolean {
  for (const pair of query.split("&")) {
    if (pair.includes(";") || BAD_ESCAPE.test(pair)) return false;
  }
  return true;
}

/**
 * Whether `URL.Query()` in Go (ParseQuery, keeping the pairs that decode) has `key`: a pair
 * without `;`, whose key unescapes to `key` and whose value unescapes.
 */
export function goQueryHasKey(query: string, key: string): boolean {
  for (const pair of query.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    // An escaped key is at most three times as long as the key.
    if (rawKey.length > 3 * key.length || queryUnescape(rawKey) !== key) continue;
    if (eq < 0 || !BAD_ESCAPE.test(pair.slice(eq + 1))) return true;
  }
  return false;
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
