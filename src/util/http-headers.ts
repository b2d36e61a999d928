/**
 * Request headers that are never forwarded from one HTTP request to another: framing (the
 * sender sets them for the body it sends), hop-by-hop headers (RFC 9110 §7.6.1) and `Expect`
 * (Node's HTTP client cannot honour a forwarded `100-continue`). Lower case.
 */
export const UNFORWARDED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "expect",
]);

/** RFC 9110 token characters (a valid header name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and each letter after a `-` upper
 * case, the rest lower case (`x-my-header` → `X-My-Header`). A name with a character that is not
 * a token character is returned as it is.
 */
export function canonicalHeaderKey(name: string): string {
  if (!TOKEN.test(name)) return name;
  let upper = true;
  let out = "";
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
}
