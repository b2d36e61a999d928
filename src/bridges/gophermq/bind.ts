import { isUtf8 } from "node:buffer";
import { utf8SequenceLength } from "./go-json.js";

/**
 * Reading a GopherMQ request body the way GopherMQ's Echo `Bind` does (docs/gophermq.md "Request
 * bodies"): a body of length 0 binds nothing; `application/json…` is decoded as Go decodes JSON
 * into a struct of string fields; form bodies bind nothing; any other content type, or any
 * decoding error, is a bind error (answered 400 `request's body is invalid`).
 */

/** The request's framing and type, as the binder needs them. */
export interface BodyHead {
  /** `Content-Type`, or "" when absent. */
  contentType: string;
  /** Go's `Request.ContentLength`: the header's value, 0 for a body-less HTTP/1.1 request, -1 when unknown (chunked). */
  contentLength: number;
}

/** Field values by name; a field the body does not set is "". */
export type BoundFields<F extends string> = Record<F, string>;

/** Go's `unicode.IsSpace` subset the JSON scanner skips. */
const isWs = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";

/**
 * Decodes bytes as Go turns JSON text into strings: valid UTF-8 as it is, every byte of an
 * invalid sequence as U+FFFD (one per byte, unlike WHATWG decoding).
 */
export function decodeUtf8LikeGo(body: Uint8Array): string {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (isUtf8(buf)) return buf.toString("utf8");
  let out = "";
  let run = 0;
  for (let i = 0; i < buf.length; ) {
    const width = utf8SequenceLength(buf, i);
    if (width > 0) {
      i += width;
      continue;
    }
    out += `${buf.toString("utf8", run, i)}\ufffd`;
    i++;
    run = i;
  }
  return out + buf.toString("utf8", run);
}

/** End of the JSON string starting at `i` (a `"`), or -1 if it does not end or holds a control character. */
function scanString(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c) j++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/** End of the JSON value starting at `i` by its structure only (JSON.parse checks the rest), or -1. */
function scanValue(t: string, i: number): number {
  const first = t[i];
  if (first === '"') return scanString(t, i);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const c = t[j];
      if (c === '"') {
        const end = scanString(t, j);
        if (end < 0) return -1;
        j = end - 1;
      } else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < t.length && !isWs(t[j]) && t[j] !== "," && t[j] !== "}" && t[j] !== "]") j++;
  return j > i ? j : -1;
}

/** Lone UTF-16 surrogates (from `\ud800`-style escapes) become U+FFFD, as Go decodes them. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Go's case folding of JSON keys onto field names: ASCII case, plus `ſ` (U+017F) as `s` and `K` (U+212A) as `k`. */
function foldKey(key: string): string {
  return key
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k")
    .toLowerCase();
}

/**
 * Binds the first JSON value of `text` into string fields as Go's decoder does: `null` binds
 * nothing; an object binds its members whose keys match a field name case-insensitively (the last
 * one wins; a member holding `null` is skipped, one holding anything but a string is an error),
 * other members are ignored; anything else (arrays, numbers, …), a syntax error, or no value at
 * all is an error. Text after the first value is never read.
 */
export function bindJsonText<F extends string>(text: string, fields: readonly F[]): BoundFields<F> | undefined {
  const out = Object.fromEntries(fields.map((f) => [f, ""])) as BoundFields<F>;
  let i = 0;
  while (isWs(text[i])) i++;
  if (text.startsWith("null", i)) return out;
  if (text[i] !== "{") return undefined;
  const byFolded = new Map(fields.map((f) => [foldKey(f), f] as const));
  let typeError = false;
  i++;
  while (isWs(text[i])) i++;
  if (text[i] === "}") return out;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = scanString(text, i);
    if (keyEnd < 0) return undefined;
    let j = keyEnd;
    while (isWs(text[j])) j++;
    if (text[j] !== ":") return undefined;
    j++;
    while (isWs(text[j])) j++;
    const valueEnd = scanValue(text, j);
    if (valueEnd < 0) return undefined;
    let key: unknown;
    let value: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
      value = JSON.parse(text.slice(j, valueEnd));
    } catch {
      return undefined;
    }
    const field = byFolded.get(foldKey(String(key)));
    if (field !== undefined && value !== null) {
      // Go keeps decoding after a type mismatch but reports it: the bind fails either way.
      if (typeof value === "string") out[field] = wellFormed(value);
      else typeError = true;
    }
    i = valueEnd;
    while (isWs(text[i])) i++;
    if (text[i] === "}") return typeError ? undefined : out;
    if (text[i] !== ",") return undefined;
    i++;
    while (isWs(text[i])) i++;
  }
}

/** Go's `url.ParseQuery` accepts the form body (no `;` separators, valid `%XX` escapes). */
function formParses(body: string): boolean {
  for (const part of body.split("&")) {
    if (part === "") continue;
    if (part.includes(";")) return false;
    if (/%(?![0-9a-fA-F]{2})/.test(part)) return false;
  }
  return true;
}

/**
 * Binds a request body to string `fields` as GopherMQ's handlers do, or returns undefined for a
 * bind error.
 */
export function bindBody<F extends string>(
  head: BodyHead,
  body: Uint8Array,
  fields: readonly F[],
): BoundFields<F> | undefined {
  const empty = Object.fromEntries(fields.map((f) => [f, ""])) as BoundFields<F>;
  if (head.contentLength === 0) return empty;
  const type = head.contentType;
  if (type.startsWith("application/json")) return bindJsonText(decodeUtf8LikeGo(body), fields);
  if (type.startsWith("application/x-www-form-urlencoded")) {
    // The request structs have no `form` tags: a form binds nothing, but must parse.
    return formParses(Buffer.from(body).toString("latin1")) ? empty : undefined;
  }
  if (type.startsWith("multipart/form-data")) return /;\s*boundary=/i.test(type) ? empty : undefined;
  // Echo would decode XML into the untagged fields; this bridge does not (docs/gophermq.md).
  return undefined;
}
