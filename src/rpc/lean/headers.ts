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
