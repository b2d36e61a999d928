/**
 * Request arguments as RestMQ's web framework (cyclone, a Tornado port on Python 2) read them:
 * the query string and a form body (`application/x-www-form-urlencoded` or
 * `multipart/form-data`) merged, body values after query values, the last value of a name wins
 * (protocols.md §3.2, kept in docs/restmq.md). Parsing follows Python 2's `urlparse.parse_qs`:
 * pairs are split on `&` and on `;`, `+` is a space, bad `%` escapes stay as they are, a name
 * without `=` has an empty value. Each value then has the control characters
 * \x00-\x08 and \x0e-\x1f replaced by spaces and surrounding whitespace stripped.
 */

/** A request argument that is not valid UTF-8 (answered 400). */
export class BadArgumentError extends Error {
  override name = "BadArgumentError";
}

/** Every argument of a request, by name, in arrival order. */
export type Arguments = Map<string, string[]>;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Python 2's `urllib.unquote` over the bytes of a latin-1 string, then strict UTF-8. */
export function unquote(latin1: string, plusIsSpace = false): string {
  const bytes = Buffer.from(latin1, "latin1");
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c === 0x25 && i + 2 < bytes.length) {
      const hi = hexValue(bytes[i + 1] as number);
      const lo = hexValue(bytes[i + 2] as number);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = plusIsSpace && c === 0x2b ? 0x20 : c;
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    throw new BadArgumentError("an argument is not valid UTF-8");
  }
}

/** Adds the pairs of a query string or url-encoded body (as latin-1 text) to `into`. */
export function parseQueryString(qs: string, into: Arguments): void {
  for (const part of qs.split("&")) {
    for (const pair of part.split(";")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const name = unquote(eq < 0 ? pair : pair.slice(0, eq), true);
      const value = eq < 0 ? "" : unquote(pair.slice(eq + 1), true);
      const list = into.get(name);
      if (list) list.push(value);
      else into.set(name, [value]);
    }
  }
}

/**
 * Adds the fields of a form body to `into`: url-encoded, or multipart (file parts are not
 * arguments, as in cyclone). Other content types add nothing (RestMQ never read JSON bodies).
 */
export async function parseFormBody(contentType: string, body: Buffer, into: Arguments): Promise<void> {
  if (body.length === 0) return;
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    parseQueryString(body.toString("latin1"), into);
    return;
  }
  if (!contentType.startsWith("multipart/form-data")) return;
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  } catch {
    return; // cyclone logged "Invalid multipart/form-data" and went on without the fields
  }
  for (const [name, value] of form.entries()) {
    if (typeof value !== "string") continue;
    const list = into.get(name);
    if (list) list.push(value);
    else into.set(name, [value]);
  }
}

/** Characters Python 2's `unicode.strip()` removes (after the control characters became spaces). */
const PY_SPACE =
  "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u180e\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "g");
// biome-ignore lint/suspicious/noControlCharactersInRegex: cyclone replaced exactly these characters
const CONTROL = /[\u0000-\u0008\u000e-\u001f]/g;

/** cyclone's `get_argument(name, default)`: the last value, cleaned and stripped; `undefined` if absent. */
export function argument(args: Arguments, name: string): string | undefined {
  const values = args.get(name);
  if (!values || values.length === 0) return undefined;
  return (values[values.length - 1] as string).replace(CONTROL, " ").replace(STRIP, "");
}
