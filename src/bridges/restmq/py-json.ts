/**
 * RestMQ answered from Python 2 (cyclone on Twisted), so its JSON is what `json.dumps` wrote:
 * `", "` and `": "` separators, every character outside printable ASCII escaped as `\uXXXX`
 * (lowercase hex, UTF-16 surrogate pairs), and cyclone's `json_encode` then turns every `</`
 * into `<\/`. Floats print as Python's `repr`. This module writes exactly that, so bridge
 * answers match RestMQ byte for byte (docs/restmq.md "Wire details").
 *
 * Key order is the caller's: objects are written in insertion order, and every call site builds
 * its objects in the order RestMQ's Python 2 dicts iterated (noted beside each one).
 */

/** A numeric literal written as is (a value RestMQ's Redis client turned into a number). */
export class PyNumber {
  constructor(readonly literal: string) {}
}

/** A value `pyJson` can write. Plain objects keep their insertion order; a Map does too. */
export type PyValue =
  | null
  | boolean
  | number
  | string
  | PyNumber
  | readonly PyValue[]
  | ReadonlyMap<string, PyValue>
  | { readonly [key: string]: PyValue };

const HEX = "0123456789abcdef";

/** `json.dumps(s)` of one string (ensure_ascii), quotes included. */
export function pyJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      default:
        out += `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
    }
  }
  return `${out}${s.slice(start)}"`;
}

function dumps(value: PyValue): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pyJsonString(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloatRepr(value);
  if (value instanceof PyNumber) return value.literal;
  if (Array.isArray(value)) return `[${(value as readonly PyValue[]).map(dumps).join(", ")}]`;
  const entries: Iterable<[string, PyValue]> =
    value instanceof Map ? (value as ReadonlyMap<string, PyValue>).entries() : Object.entries(value);
  const parts: string[] = [];
  for (const [k, v] of entries) parts.push(`${pyJsonString(k)}: ${dumps(v)}`);
  return `{${parts.join(", ")}}`;
}

/** cyclone's `escape.json_encode(value)`: Python 2 `json.dumps` with `</` escaped as `<\/`. */
export function pyJson(value: PyValue): string {
  return dumps(value).replaceAll("</", "<\\/");
}

/**
 * Python 2.7's `repr(float)` as `json.dumps` writes it: the shortest round-tripping digits, in
 * fixed notation with at least one decimal for exponents -4..15 (`100000.0`, `0.0001`), else
 * scientific with a signed two-digit exponent (`1e+16`, `1e-05`); `NaN`, `Infinity`.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0.0`;
  const [mantissa = "", exponent = "0"] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(exponent);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const fraction = digits.slice(exp + 1);
    return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${head}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
}

/** Python 2's `repr()` of a byte string (a `str`), given as text to encode in UTF-8. */
export function pyReprStr(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  const q = quote.charCodeAt(0);
  let out = quote;
  for (const c of bytes) {
    if (c === q || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += String.fromCharCode(c);
  }
  return out + quote;
}

/** Python 2's `repr()` of a dict of str/int values (nested dicts allowed), in the given order. */
export function pyRepr(value: PyValue): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return pyReprStr(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloatRepr(value);
  if (value instanceof PyNumber) return value.literal;
  if (Array.isArray(value)) return `[${(value as readonly PyValue[]).map(pyRepr).join(", ")}]`;
  const entries: Iterable<[string, PyValue]> =
    value instanceof Map ? (value as ReadonlyMap<string, PyValue>).entries() : Object.entries(value);
  const parts: string[] = [];
  for (const [k, v] of entries) parts.push(`${pyReprStr(k)}: ${pyRepr(v)}`);
  return `{${parts.join(", ")}}`;
}
