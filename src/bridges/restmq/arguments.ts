/**
 * Request arguments as RestMQ's web framework (cyclone, a Tornado port on Python 2) read them:
 * the query string and a form body (`application/x-www-form-urlencoded` or
 * `multipart/form-data`) merged, body values after query values, the last value of a name wins
 * (docs/restmq.md). Parsing follows Python 2's `urlparse.parse_qs`:
 * pairs are split on `&` and on `;`, `+` is a space, bad `%` escapes stay as they are, a name
 * without `=` has an empty value. Each value then has the control characters
 * \x00-\x08 and \x0e-\x1f replaced by spaces and surrounding whitespace stripped.
 */

/** A request argument that is not valid UTF-8, or one argument too many (answered 400). */
export class BadArgumentError extends Error {
  override name = "BadArgumentError";
}

/** Every argument of a request, by name, in arrival order. */
export type Arguments = Map<string, string[]>;

/**
 * Most arguments one request may carry, query and form together (docs/restmq.md): RestMQ's
 * requests use a handful, and a form of hundreds of thousands of tiny fields would otherwise
 * keep the event loop busy for seconds. One more is 400; the count is checked before a field
 * is decoded, so an oversized form costs no more than a scan of its bytes.
 */
export const MAX_ARGUMENTS = 1000;

function countArguments(args: Arguments): number {
  let n = 0;
  for (const values of args.values()) n += values.length;
  return n;
}

function tooMany(): BadArgumentError {
  return new BadArgumentError(`more than ${MAX_ARGUMENTS} arguments`);
}

function addArgument(into: Arguments, name: string, value: string): void {
  const list = into.get(name);
  if (list) list.push(value);
  else into.set(name, [value]);
}

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

/**
 * Adds the pairs of a query string or url-encoded body (as latin-1 text) to `into`; more than
 * {@link MAX_ARGUMENTS} in all is a {@link BadArgumentError}, raised before the extra pair is decoded.
 */
export function parseQueryString(qs: string, into: Arguments): void {
  let count = countArguments(into);
  let start = 0;
  while (start <= qs.length) {
    let end = start;
    while (end < qs.length && qs.charCodeAt(end) !== 0x26 && qs.charCodeAt(end) !== 0x3b) end++; // & or ;
    if (end > start) {
      if (++count > MAX_ARGUMENTS) throw tooMany();
      const pair = qs.slice(start, end);
      const eq = pair.indexOf("=");
      const name = unquote(eq < 0 ? pair : pair.slice(0, eq), true);
      addArgument(into, name, eq < 0 ? "" : unquote(pair.slice(eq + 1), true));
    }
    start = end + 1;
  }
}

/** The `boundary` parameter of a multipart content type, if it has one. */
function multipartBoundary(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,200})"|([^\s;]{1,200}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Parts of a multipart body, at most `limit + 1` counted (the delimiter lines, less the closing one). */
function countParts(body: Buffer, boundary: string, limit: number): number {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  let parts = -1; // the closing delimiter is no part
  for (
    let at = body.indexOf(delimiter);
    at >= 0 && parts <= limit;
    at = body.indexOf(delimiter, at + delimiter.length)
  ) {
    parts++;
  }
  return parts;
}

/**
 * Adds the fields of a form body to `into`: url-encoded, or multipart (file parts are not
 * arguments, as in cyclone). Other content types add nothing (RestMQ never read JSON bodies).
 * More than {@link MAX_ARGUMENTS} in all (a multipart body's parts are counted before it is
 * parsed) is a {@link BadArgumentError}.
 */
export async function parseFormBody(contentType: string, body: Buffer, into: Arguments): Promise<void> {
  if (body.length === 0) return;
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    parseQueryString(body.toString("latin1"), into);
    return;
  }
  if (!contentType.startsWith("multipart/form-data")) return;
  const boundary = multipartBoundary(contentType);
  if (boundary === undefined) return; // cyclone could not parse it either: no fields
  const room = MAX_ARGUMENTS - countArguments(into);
  if (countParts(body, boundary, room) > room) throw tooMany();
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  } catch {
    return; // cyclone logged "Invalid multipart/form-data" and went on without the fields
  }
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") addArgument(into, name, value);
  }
}

/**
 * True for the characters Python 2's `unicode.strip()` removes (after the control characters
 * became spaces): `\t\n\v\f\r`, `\x1c-\x20`, `\x85`, `\xa0` and Unicode's other spaces.
 */
function isPyStripSpace(c: number): boolean {
  if (c <= 0x20) return c >= 0x1c || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    c === 0x180e ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/**
 * Python 2's `unicode.strip()`: one scan in from each end, so the work is linear in the length
 * (a regular expression for trailing space backtracks quadratically over a long run of spaces
 * that is not at the end). Reads `text` only through `charCodeAt` and one `slice`.
 */
export function pyStrip(text: Pick<string, "length" | "charCodeAt" | "slice">): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPyStripSpace(text.charCodeAt(start))) start++;
  while (end > start && isPyStripSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: cyclone replaced exactly these characters
const CONTROL = /[\u0000-\u0008\u000e-\u001f]/g;

/** cyclone's `get_argument(name, default)`: the last value, cleaned and stripped; `undefined` if absent. */
export function argument(args: Arguments, name: string): string | undefined {
  const values = args.get(name);
  if (!values || values.length === 0) return undefined;
  return pyStrip((values[values.length - 1] as string).replace(CONTROL, " "));
}
