import type * as http2 from "node:http2";

/** Node's header object as web `Headers`, without pseudo-headers (as connect-node converts it). */
export function toWebHeaders(headers: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const key in headers) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[key];
    if (value === undefined) continue;
    if (typeof value === "string") out.append(key, value);
    else for (const v of value) out.append(key, v);
  }
  return out;
}

/**
 * What `Headers.get(name)` answers for Node's header object once {@link toWebHeaders} made it:
 * null for an absent header (and for pseudo-headers, which it leaves out), each value without
 * leading and trailing HTTP whitespace (as `Headers` stores it), repeats joined with ", ".
 * `name` is a header name (where `Headers.get` throws for an invalid one, this answers null for a pseudo-header).
 */
export function webHeaderValue(headers: http2.IncomingHttpHeaders, name: string): string | null {
  const key = name.toLowerCase();
  if (key.charCodeAt(0) === 58 /* ":" */) return null;
  const value = headers[key];
  if (value === undefined) return null;
  if (typeof value === "string") return trimHttpWhitespace(value);
  return value.length === 0 ? null : value.map(trimHttpWhitespace).join(", ");
}

/** Tab, line feed, carriage return and space: what `Headers` strips from both ends of a value. */
const isHttpWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function trimHttpWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** `Headers` as Node's outgoing header object; repeated names become arrays (as connect-node does). */
export function toNodeHeaders(headers: Headers, into: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders {
  headers.forEach((value, key) => {
    const existing = into[key];
    if (existing === undefined) into[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else into[key] = [String(existing), value];
  });
  return into;
}

/** Replaces what `to` holds with what `from` holds (connect's `copyHeaders`). */
export function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => {
    to.set(key, value);
  });
}

/** A header as connect reads it through `Headers.get`: absent is null, repeats are comma-joined. */
export function stringHeader(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/** What connect's `parseTimeout` returns for a call without a timeout header (shared, frozen). */
export const NO_TIMEOUT: Readonly<{ timeoutMs?: number; error?: undefined }> = Object.freeze({});
