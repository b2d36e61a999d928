import { PyNumber, type PyValue, pyFloatRepr } from "./py-json.js";

/**
 * What the number scanner reads a text through: a string, or (in tests) a wrapper that counts
 * the work. The scanner looks at each character at most twice and copies each at most once.
 */
export type CharSource = Pick<string, "length" | "charCodeAt" | "slice">;

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const PLUS = 0x2b;
const MINUS = 0x2d;

const isDigit = (c: number) => c >= ZERO && c <= NINE;
/** Whitespace Python 2's `int()` and `float()` skip after a number (`str.isspace`). */
const isPySpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Where a digit run starts and ends (end exclusive). */
interface Run {
  start: number;
  end: number;
}

function digitsFrom(text: CharSource, start: number): Run {
  let end = start;
  while (end < text.length && isDigit(text.charCodeAt(end))) end++;
  return { start, end };
}

/**
 * Python 2's `int(text)` (no `.` in the text) or `float(text)` (a `.` in it) as the JSON literal
 * `json.dumps` wrote for the result, or undefined when Python refused the text. The text must
 * start with a digit, a sign or a dot (cyclone.redis looked at nothing else); whitespace may
 * follow the number. One forward pass with no backtracking and no big-number arithmetic (leading
 * zeros are cut off as text), so a hostile value of any length costs time linear in its length.
 */
export function pyNumberLiteral(text: CharSource): string | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  let i = 0;
  const first = text.charCodeAt(0);
  if (first === PLUS || first === MINUS) i++;
  else if (!isDigit(first) && first !== DOT) return undefined;
  const whole = digitsFrom(text, i);
  i = whole.end;
  let fraction: Run | undefined;
  if (i < n && text.charCodeAt(i) === DOT) {
    fraction = digitsFrom(text, i + 1);
    i = fraction.end;
  }
  const numberEnd = exponentEnd(text, i);
  const hasExponent = numberEnd !== i;
  i = numberEnd;
  while (i < n && isPySpace(text.charCodeAt(i))) i++;
  if (i !== n) return undefined; // something after the number (a second dot, letters, …)
  const hasWhole = whole.end > whole.start;
  if (fraction === undefined) {
    // int(): digits only ("1e5" has no dot, so cyclone.redis tried int() and kept the string).
    if (!hasWhole || hasExponent) return undefined;
    let start = whole.start;
    while (start < whole.end - 1 && text.charCodeAt(start) === ZERO) start++;
    const digits = text.slice(start, whole.end);
    return first === MINUS && digits !== "0" ? `-${digits}` : digits;
  }
  if (!hasWhole && fraction.end === fraction.start) return undefined; // "." or "-.e1"
  return pyFloatRepr(Number(text.slice(0, numberEnd)));
}

/** The end of an exponent (`e`, an optional sign, at least one digit) starting at `i`; `i` when there is none. */
function exponentEnd(text: CharSource, i: number): number {
  if (i >= text.length || (text.charCodeAt(i) | 0x20) !== 0x65) return i;
  let j = i + 1;
  if (j < text.length && (text.charCodeAt(j) === PLUS || text.charCodeAt(j) === MINUS)) j++;
  const digits = digitsFrom(text, j);
  return digits.end > digits.start ? digits.end : i;
}

/**
 * What RestMQ's Redis client (cyclone.redis) made of a stored value: a value whose first
 * character is a digit, `+`, `-` or `.` and that Python's `int()` (no `.` in it) or `float()`
 * accepts came back as a number (`"007"` → `7`, `"3.14"` → `3.14`, `"1e5"` stays a string);
 * anything else stays the string. docs/restmq.md "Numeric-looking values" explains the option.
 */
export function redisValue(text: string): PyValue {
  const literal = pyNumberLiteral(text);
  return literal === undefined ? text : new PyNumber(literal);
}
