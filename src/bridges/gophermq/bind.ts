import { multipartFormParses } from "./go-multipart.js";
import { goQueryParses, parseMediaType } from "./go-query.js";
import { asBuffer, decodeUtf8LikeGo } from "./go-utf8.js";

/**
 * Reading a GopherMQ request body the way GopherMQ's Echo `Bind` does (docs/gophermq.md "Request
 * bodies"): a body of length 0 binds nothing; `application/json…` is decoded as Go decodes JSON
 * into a struct of string fields; form bodies bind nothing but must parse as Go's
 * `Request.ParseForm` / `ParseMultipartForm` parse them; any other content type, or any decoding
 * error, is a bind error (answered 400 `request's body is invalid`).
 */

/** The request's framing and type, as the binder needs them. */
export interface BodyHead {
  /** `Content-Type`, or "" when absent. */
  contentType: string;
  /** Go's `Request.ContentLength`: the header's value, 0 for a body-less HTTP/1.1 request, -1 when unknown (chunked). */
  contentLength: number;
  /** The request target's raw query (after the first `?`, "" for none); Go's ParseForm parses it too. */
  rawQuery: string;
}

/** Field values by name; a field the body does not set is "". */
export type BoundFields<F extends string> = Record<F, string>;

/** Go's `unicode.IsSpace` subset the JSON scanner skips. */
const isWs = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";

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

/** Go's `maxNestingDepth`: its scanner fails past this many open objects and arrays. */
export const MAX_JSON_DEPTH = 10_000;

/**
 * End of the JSON value starting at `i` by its structure only (JSON.parse checks the rest), or
 * -1. `maxDepth` is how many objects and arrays may be open inside it (Go counts every level,
 * the enclosing object included, against {@link MAX_JSON_DEPTH}, even in a field it ignores).
 */
function scanValue(t: string, i: number, maxDepth: number): number {
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
      } else if (c === "{" || c === "[") {
        if (++depth > maxDepth) return -1;
      } else if (c === "}" || c === "]") {
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
    const valueEnd = scanValue(text, j, MAX_JSON_DEPTH - 1);
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

/** Go's `maxFormSize`: a larger url-encoded body is an error ("http: POST too large"). */
const MAX_FORM_BYTES = 10 * 1024 * 1024;

/**
 * Go's `Request.ParseForm` for a POST succeeds: the Content-Type parses as a media type; when it
 * is `application/x-www-form-urlencoded`, the body (at most 10 MiB) parses as a query; and the
 * URL's query parses (no `;` separators, valid `%XX` escapes).
 */
function parseFormSucceeds(head: BodyHead, body: Uint8Array): boolean {
  const media = parseMediaType(head.contentType || "application/octet-stream");
  if (!media) return false;
  if (media.type === "application/x-www-form-urlencoded") {
    if (body.length > MAX_FORM_BYTES) return false;
    if (!goQueryParses(asBuffer(body).toString("latin1"))) return false;
  }
  return goQueryParses(head.rawQuery);
}

/**
 * Go's `Request.ParseMultipartForm` succeeds: ParseForm does (the query), the type is exactly
 * `multipart/form-data` with a `boundary`, and the body reads as a multipart form.
 */
function parseMultipartFormSucceeds(head: BodyHead, body: Uint8Array): boolean {
  if (!parseFormSucceeds(head, body)) return false;
  const media = parseMediaType(head.contentType);
  const boundary = media?.type === "multipart/form-data" ? media.params.get("boundary") : undefined;
  return boundary !== undefined && multipartFormParses(asBuffer(body), boundary);
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
  // The request structs have no `form` tags: a form binds nothing, but must parse as Echo's
  // FormParams parses it.
  if (type.startsWith("application/x-www-form-urlencoded")) return parseFormSucceeds(head, body) ? empty : undefined;
  if (type.startsWith("multipart/form-data")) return parseMultipartFormSucceeds(head, body) ? empty : undefined;
  // Echo would decode XML into the untagged fields; this bridge does not (docs/gophermq.md).
  return undefined;
}
