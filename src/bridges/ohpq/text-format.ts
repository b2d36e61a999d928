/**
 * The text of the "Oh, Please Queue" protocol (README "Oh, Please Queue" bridge): tokens, PUB's message (quoted
 * or rest of line) and the payload of outgoing `MESSAGE` lines. Byte-exact and transport-free.
 */

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Escapes of a quoted message, both ways (the byte after the backslash and what it stands for). */
const UNESCAPE = new Map<number, number>([
  [QUOTE, QUOTE],
  [BACKSLASH, BACKSLASH],
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
]);
const ESCAPE = new Map<number, number>([...UNESCAPE].map(([code, byte]) => [byte, code]));

/** A line cut into its first token and the rest. */
export interface Split {
  /** The first token (no spaces). */
  token: Buffer;
  /** What follows the token and the run of spaces after it (may be empty). */
  rest: Buffer;
}

/** Splits off the first space-separated token; undefined when the input holds only spaces. */
export function splitToken(input: Buffer): Split | undefined {
  let start = 0;
  while (start < input.length && input[start] === SPACE) start++;
  if (start === input.length) return undefined;
  let end = input.indexOf(SPACE, start);
  if (end < 0) end = input.length;
  let rest = end;
  while (rest < input.length && input[rest] === SPACE) rest++;
  return { token: input.subarray(start, end), rest: input.subarray(rest) };
}

/** Every space-separated token of `input` (runs of spaces separate; leading and trailing ones are ignored). */
export function tokens(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let rest: Buffer = input;
  for (;;) {
    const s = splitToken(rest);
    if (!s) return out;
    out.push(s.token);
    rest = s.rest;
  }
}

/**
 * PUB's message: a double-quoted string (quotes stripped; `\"`, `\\`, `\n`, `\r`, `\t` unescaped,
 * any other backslash kept as it is) when the text is exactly one quoted string, optionally
 * followed by spaces; otherwise the text itself, raw (so `PUB q hello world` publishes
 * `hello world`, and an unterminated quote is part of the message).
 */
export function parseMessage(text: Buffer): Buffer {
  if (text[0] !== QUOTE) return text;
  const out: number[] = [];
  for (let i = 1; i < text.length; i++) {
    const b = text[i] as number;
    if (b === QUOTE) {
      for (let j = i + 1; j < text.length; j++) if (text[j] !== SPACE) return text;
      return Buffer.from(out);
    }
    if (b === BACKSLASH && i + 1 < text.length) {
      const next = text[i + 1] as number;
      const byte = UNESCAPE.get(next);
      if (byte !== undefined) {
        out.push(byte);
        i++;
        continue;
      }
    }
    out.push(b);
  }
  return text; // no closing quote
}

/** True for the bytes the protocol calls control characters (C0 and DEL). */
function isControl(b: number): boolean {
  return b < 0x20 || b === 0x7f;
}

/**
 * A payload as it goes out after `MESSAGE <queue> `: raw when it has no control characters and
 * does not start with `"`; otherwise double-quoted with `"`, `\`, LF, CR and TAB escaped, so a
 * line is always one message (and PUB reads it back as the same bytes).
 */
export function encodePayload(data: Uint8Array): Buffer {
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (raw[0] !== QUOTE && !raw.some(isControl)) return raw;
  const out: number[] = [QUOTE];
  for (const b of raw) {
    const code = ESCAPE.get(b);
    if (code === undefined) out.push(b);
    else out.push(BACKSLASH, code);
  }
  out.push(QUOTE);
  return Buffer.from(out);
}

/** The line `MESSAGE <queue> <payload>\n`. */
export function messageLine(queue: string, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`MESSAGE ${queue} `), encodePayload(data), Buffer.from("\n")]);
}

/** The bytes as a UTF-8 string, or undefined when they are not valid UTF-8. */
export function utf8(bytes: Buffer): string | undefined {
  const s = bytes.toString("utf8");
  return Buffer.byteLength(s) === bytes.length && Buffer.from(s).equals(bytes) ? s : undefined;
}
