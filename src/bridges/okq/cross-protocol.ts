/**
 * Cross-protocol attacks on the okQ port (README "Limits and failure behaviour"): an inline line
 * whose first word is `POST` or `GET`, or a `Host:` header line, is an HTTP request sent to this
 * port (a browser form or a webhook whose body holds commands). The RESP decoder (resp-decoder.ts)
 * fails such a line with code `CROSS_PROTOCOL` before any later line is decoded, as Redis does
 * since 3.2.7; the session also drops a connection whose RESP command is named `POST` or `Host:`.
 */
import { isKeyword } from "./commands/index.js";
import type { RespEvent } from "./resp-events.js";

/** First words of an inline line that make it an HTTP request or header (compared case-insensitively). */
const HTTP_WORDS = new Set(["POST", "GET", "HOST:"]);

/** True when the line's first word is an HTTP method or a `Host:` header name (see the module comment). */
export function isHttpLine(line: Buffer): boolean {
  let i = 0;
  while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
  let end = i;
  while (end < line.length && end - i <= 5 && line[end] !== 0x20 && line[end] !== 0x09) end++;
  return HTTP_WORDS.has(line.toString("latin1", i, end).toUpperCase());
}

/**
 * True for the decoder's cross-protocol event, and for a RESP command named `POST` or `Host:`
 * (Redis refuses both names in any form).
 */
export function isHttpRequest(e: RespEvent): boolean {
  if (e.type === "fatal") return e.code === "CROSS_PROTOCOL";
  if (e.type !== "command") return false;
  const name = e.args[0];
  return isKeyword(name, "POST") || isKeyword(name, "HOST:");
}
