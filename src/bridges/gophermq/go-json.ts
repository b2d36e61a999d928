/**
 * JSON as GopherMQ writes it (docs/gophermq.md "Bytes on the wire"): Go's `encoding/json` encoder
 * with HTML escaping on, which is what Echo's `c.JSON` uses. Object keys sorted (Go map order),
 * compact unless `pretty` (two-space indent, Go's `SetIndent("", "  ")`), and one trailing newline.
 */
import { asBuffer, utf8SequenceLength } from "./go-utf8.js";

/** JSON already written (by {@link goJsonStrings}), put in as it is. */
export class EncodedJson {
  constructor(readonly bytes: Buffer) {}
}

/** A value the GopherMQ bridge renders: text, raw message bytes, lists of them, or objects. */
export type GoJsonValue =
  | string
  | Uint8Array
  | EncodedJson
  | readonly (string | Uint8Array | EncodedJson)[]
  | { [key: string]: GoJsonValue };

const HEX = "0123456789abcdef";

/** Go's escape of each ASCII byte that has one (`\"`, `\n`, `\u003c`, …), as bytes; undefined: written as it is. */
const ASCII_ESCAPES: readonly (Uint8Array | undefined)[] = Array.from({ length: 0x80 }, (_, c) => {
  if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) return undefined;
  const short = shortEscape(c);
  return short !== 0 ? Uint8Array.of(0x5c, short) : escapeOf(c);
});

/** `\uXXXX` for `code`, as bytes. */
function escapeOf(code: number): Buffer {
  const out = Buffer.alloc(6);
  writeU(out, 0, code);
  return out;
}
const U_FFFD = escapeOf(0xfffd);
const U_2028 = escapeOf(0x2028);
const U_2029 = escapeOf(0x2029);

/** Bytes Go writes for each ASCII byte inside a string: 1 as it is, 2 for a short escape, 6 for `\u00XX`. */
const ASCII_OUT = Uint8Array.from({ length: 0x80 }, (_, c) => {
  if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) return 1;
  return shortEscape(c) === 0 ? 6 : 2;
});

/** The escape Go writes for the non-ASCII sequence at `i` (`\ufffd`, `\u2028`, `\u2029`), or 0 for none. */
function nonAsciiEscape(b: Buffer, i: number, width: number): number {
  if (width === 0) return 0xfffd;
  if (width === 3 && b[i] === 0xe2 && b[i + 1] === 0x80) {
    if (b[i + 2] === 0xa8) return 0x2028;
    if (b[i + 2] === 0xa9) return 0x2029;
  }
  return 0;
}

/** Writes `\uXXXX` (lower-case hex) at `at`; returns the new position. */
function writeU(out: Buffer, at: number, code: number): number {
  out[at] = 0x5c;
  out[at + 1] = 0x75;
  out[at + 2] = HEX.charCodeAt((code >> 12) & 0xf);
  out[at + 3] = HEX.charCodeAt((code >> 8) & 0xf);
  out[at + 4] = HEX.charCodeAt((code >> 4) & 0xf);
  out[at + 5] = HEX.charCodeAt(code & 0xf);
  return at + 6;
}

/** The letter of Go's short escape of ASCII byte `c` (`\"`, `\\`, `\n`, `\r`, `\t`), or 0 for none. */
function shortEscape(c: number): number {
  if (c === 0x22 || c === 0x5c) return c;
  if (c === 0x0a) return 0x6e;
  if (c === 0x0d) return 0x72;
  if (c === 0x09) return 0x74;
  return 0;
}

/** Bytes of {@link goJsonStringBytes}'s output for `buf`. */
function goJsonStringLength(buf: Buffer): number {
  let size = 2;
  for (let i = 0; i < buf.length; ) {
    const c = buf[i] as number;
    if (c < 0x80) {
      size += ASCII_OUT[c] as number;
      i++;
      continue;
    }
    const width = utf8SequenceLength(buf, i);
    if (nonAsciiEscape(buf, i, width) !== 0) size += 6;
    else size += width;
    i += width || 1;
  }
  return size;
}

/**
 * The JSON string literal Go writes for these bytes, as UTF-8: `"` and `\` escaped, `\n` `\r`
 * `\t` short, other control characters as `\u00XX`, `<` `>` `&` as `\u003c` `\u003e` `\u0026`,
 * U+2028 and U+2029 as `\u2028` `\u2029`, and each byte that is not valid UTF-8 as `\ufffd`.
 * Linear: one pass sizes the output, a second copies the runs that need no escape and writes the
 * escapes into that one buffer.
 */
export function goJsonStringBytes(bytes: Uint8Array): Buffer {
  const buf = asBuffer(bytes);
  const out = Buffer.allocUnsafe(goJsonStringLength(buf));
  out[0] = 0x22;
  // No closures over `at` and `run` in this loop: it runs once per byte of every message.
  let at = 1;
  let run = 0; // start of the pending run of bytes copied as they are
  let i = 0;
  while (i < buf.length) {
    const c = buf[i] as number;
    let seq: Uint8Array | undefined;
    let width = 1;
    if (c < 0x80) {
      seq = ASCII_ESCAPES[c];
      if (seq === undefined) {
        i++;
        continue;
      }
    } else {
      width = utf8SequenceLength(buf, i);
      const code = nonAsciiEscape(buf, i, width);
      if (code === 0) {
        i += width;
        continue;
      }
      seq = code === 0xfffd ? U_FFFD : code === 0x2028 ? U_2028 : U_2029;
      width ||= 1;
    }
    // The run before the escape: short ones byte by byte (a native copy costs more there).
    if (i - run > 32) at += buf.copy(out, at, run, i);
    else for (let k = run; k < i; k++) out[at++] = buf[k] as number;
    for (let k = 0; k < seq.length; k++) out[at++] = seq[k] as number;
    i += width;
    run = i;
  }
  at += buf.copy(out, at, run, buf.length);
  out[at] = 0x22;
  return out;
}

/** {@link goJsonStringBytes} as a string. */
export function goJsonString(bytes: Uint8Array): string {
  return goJsonStringBytes(bytes).toString("utf8");
}

function encodeText(value: string | Uint8Array | EncodedJson): Buffer {
  if (value instanceof EncodedJson) return value.bytes;
  return goJsonStringBytes(typeof value === "string" ? Buffer.from(value, "utf8") : value);
}

/** Output bytes written between two turns of the event loop by {@link goJsonStrings}. */
const YIELD_EVERY_BYTES = 1024 * 1024;

/**
 * Each of `items` as Go writes a string, encoded ahead for {@link goJsonBody}, giving the event
 * loop a turn after every megabyte written: a fetch answer of many large messages then never
 * holds up other requests for longer than one message takes.
 */
export async function goJsonStrings(items: readonly Uint8Array[]): Promise<EncodedJson[]> {
  const out: EncodedJson[] = [];
  let sinceYield = 0;
  for (const item of items) {
    const bytes = goJsonStringBytes(item);
    out.push(new EncodedJson(bytes));
    sinceYield += bytes.length;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return out;
}

/** Appends Go's encoding of `value` to `parts` (text pieces and encoded strings). */
function encode(value: GoJsonValue, indent: string, pretty: boolean, parts: (string | Buffer)[]): void {
  if (typeof value === "string" || value instanceof Uint8Array || value instanceof EncodedJson) {
    parts.push(encodeText(value));
    return;
  }
  const inner = `${indent}  `;
  const nl = pretty ? "\n" : "";
  const open = (c: string) => parts.push(`${c}${nl}`);
  const close = (c: string) => parts.push(`${nl}${pretty ? indent : ""}${c}`);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      parts.push("[]");
      return;
    }
    open("[");
    value.forEach((v, i) => {
      parts.push(`${i > 0 ? `,${nl}` : ""}${pretty ? inner : ""}`);
      parts.push(encodeText(v));
    });
    close("]");
    return;
  }
  const object = value as { [key: string]: GoJsonValue };
  // Go sorts map keys by their bytes; every key the bridge writes is ASCII.
  const keys = Object.keys(object).sort();
  if (keys.length === 0) {
    parts.push("{}");
    return;
  }
  open("{");
  keys.forEach((k, i) => {
    parts.push(`${i > 0 ? `,${nl}` : ""}${pretty ? inner : ""}`);
    parts.push(encodeText(k));
    parts.push(pretty ? ": " : ":");
    encode(object[k] as GoJsonValue, inner, pretty, parts);
  });
  close("}");
}

/** The body Echo's `c.JSON` sends for `value`: Go's encoding plus `\n`, indented when `pretty`. */
export function goJsonBody(value: GoJsonValue, pretty = false): Buffer {
  const parts: (string | Buffer)[] = [];
  encode(value, "", pretty, parts);
  parts.push("\n");
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));
}
