/**
 * RESP reply values and their encoding. RESP2 is what okQ spoke; RESP3 (after `HELLO 3`) differs
 * only in the null (`_`) and in maps (`%`), which RESP2 sends as flat arrays.
 */

/** A reply value, encoded per protocol version by {@link encodeReply}. */
export type Reply =
  | { readonly t: "simple"; readonly s: string }
  | { readonly t: "error"; readonly s: string }
  | { readonly t: "int"; readonly n: number }
  | { readonly t: "bulk"; readonly v: Buffer | string }
  | { readonly t: "event"; readonly id: string; readonly data: Uint8Array }
  | { readonly t: "null" }
  | { readonly t: "array"; readonly items: readonly Reply[] }
  | { readonly t: "map"; readonly entries: readonly (readonly [Reply, Reply])[] };

/** RESP protocol version of a connection. */
export type RespVersion = 2 | 3;

/** `+s` (CR and LF are not allowed in a simple string and become spaces). */
export const simple = (s: string): Reply => ({ t: "simple", s });
/** `-s` (CR and LF become spaces, so an error is always one line). */
export const error = (s: string): Reply => ({ t: "error", s });
/** `$len` data */
export const bulk = (v: Buffer | string): Reply => ({ t: "bulk", v });
/** `$-1` (RESP2) or `_` (RESP3). */
export const NULL: Reply = { t: "null" };
/** `*n` items */
export const array = (items: readonly Reply[]): Reply => ({ t: "array", items });
/** `%n` (RESP3) or a flat `*2n` array (RESP2). */
export const map = (entries: readonly (readonly [Reply, Reply])[]): Reply => ({ t: "map", entries });

export const OK = simple("OK");
export const PONG = simple("PONG");

const oneLine = (s: string) => (s.includes("\r") || s.includes("\n") ? s.replace(/[\r\n]/g, " ") : s);

/** `:0` and `:1`, made once (every QACK answers one of them). */
const INT_0: Reply = { t: "int", n: 0 };
const INT_1: Reply = { t: "int", n: 1 };

/** `:n` (shared objects for 0 and 1). */
export const int = (n: number): Reply => (n === 0 ? INT_0 : n === 1 ? INT_1 : { t: "int", n });

/**
 * An okQ event, `[id, contents]`: the same bytes as `array([bulk(id), bulk(data)])`, in one
 * object. `data` is not copied until the reply is encoded.
 */
export const eventReply = (id: string, data: Uint8Array): Reply => ({ t: "event", id, data });

/** Bytes of the decimal form of a non-negative integer (a length). */
function digits(n: number): number {
  let d = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) d++;
  return d;
}

/** Longest string {@link asciiLength} looks at (names and ids); longer ones ask Buffer. */
const MAX_SCANNED_CHARS = 64;

/** `s.length` when `s` is short and all ASCII (its UTF-8 is its char codes), else -1. */
function asciiLength(s: string): number {
  const n = s.length;
  if (n > MAX_SCANNED_CHARS) return -1;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return -1;
  return n;
}

/** UTF-8 bytes of a string. */
function byteLengthOf(s: string): number {
  const n = asciiLength(s);
  return n >= 0 ? n : Buffer.byteLength(s);
}

/** Writes the decimal form of a non-negative integer at `at`; returns the offset after it. */
function writeDigits(out: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  let v = n;
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return end;
}

/** Bytes of a bulk string's encoding (`$len\r\n` data `\r\n`) for data of `len` bytes. */
const bulkSize = (len: number) => 1 + digits(len) + 2 + len + 2;

/** Bytes of `reply`'s encoding. */
function sizeOf(reply: Reply, version: RespVersion): number {
  switch (reply.t) {
    case "simple":
    case "error":
      return 1 + Buffer.byteLength(oneLine(reply.s)) + 2;
    case "int":
      return Number.isSafeInteger(reply.n) && reply.n >= 0
        ? 1 + digits(reply.n) + 2
        : 1 + Buffer.byteLength(String(reply.n)) + 2;
    case "bulk":
      return bulkSize(typeof reply.v === "string" ? byteLengthOf(reply.v) : reply.v.length);
    case "event":
      return 4 + bulkSize(byteLengthOf(reply.id)) + bulkSize(reply.data.length);
    case "null":
      return version === 3 ? 3 : 5;
    case "array": {
      let n = 1 + digits(reply.items.length) + 2;
      for (const item of reply.items) n += sizeOf(item, version);
      return n;
    }
    case "map": {
      let n = 1 + digits(version === 3 ? reply.entries.length : reply.entries.length * 2) + 2;
      for (const [k, v] of reply.entries) n += sizeOf(k, version) + sizeOf(v, version);
      return n;
    }
  }
}

/** Writes a bulk string at `at`; returns the offset after it. */
function writeBulk(out: Buffer, at: number, v: Buffer | Uint8Array | string): number {
  const ascii = typeof v === "string" ? asciiLength(v) : -1;
  const len = typeof v !== "string" ? v.length : ascii >= 0 ? ascii : Buffer.byteLength(v);
  out[at] = 0x24; // $
  let i = writeDigits(out, at + 1, len);
  out[i] = 13;
  out[i + 1] = 10;
  i += 2;
  if (typeof v !== "string") out.set(v, i);
  else if (ascii >= 0) for (let k = 0; k < len; k++) out[i + k] = v.charCodeAt(k);
  else out.write(v, i);
  i += len;
  out[i] = 13;
  out[i + 1] = 10;
  return i + 2;
}

/** Writes a short ASCII string at `at` (byte by byte: no string encoder call); returns the offset after it. */
function writeAscii(out: Buffer, at: number, s: string): number {
  for (let k = 0; k < s.length; k++) out[at + k] = s.charCodeAt(k);
  return at + s.length;
}

/** Writes `:n\r\n` at `at` (a non-negative safe integer byte by byte); returns the offset after it. */
function writeInt(out: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return at + out.write(`:${n}\r\n`, at, "latin1");
  out[at] = 0x3a; // :
  const i = writeDigits(out, at + 1, n);
  out[i] = 13;
  out[i + 1] = 10;
  return i + 2;
}

/** Writes the encoding of `reply` at `at` (sized by {@link sizeOf}); returns the offset after it. */
function writeInto(reply: Reply, version: RespVersion, out: Buffer, at: number): number {
  switch (reply.t) {
    case "simple":
      return at + out.write(`+${oneLine(reply.s)}\r\n`, at);
    case "error":
      return at + out.write(`-${oneLine(reply.s)}\r\n`, at);
    case "int":
      return writeInt(out, at, reply.n);
    case "bulk":
      return writeBulk(out, at, reply.v);
    case "event":
      out[at] = 0x2a; // *2\r\n
      out[at + 1] = 0x32;
      out[at + 2] = 13;
      out[at + 3] = 10;
      return writeBulk(out, writeBulk(out, at + 4, reply.id), reply.data);
    case "null":
      if (version === 3) return writeAscii(out, at, "_\r\n");
      return writeAscii(out, at, "$-1\r\n");
    case "array": {
      let i = at + out.write(`*${reply.items.length}\r\n`, at, "latin1");
      for (const item of reply.items) i = writeInto(item, version, out, i);
      return i;
    }
    case "map": {
      const header = version === 3 ? `%${reply.entries.length}\r\n` : `*${reply.entries.length * 2}\r\n`;
      let i = at + out.write(header, at, "latin1");
      for (const [k, v] of reply.entries) i = writeInto(v, version, out, writeInto(k, version, out, i));
      return i;
    }
  }
}

/** Encodes one reply as bytes. */
export function encodeReply(reply: Reply, version: RespVersion = 2): Buffer {
  return encodeReplies([reply], version);
}

/**
 * Encodes replies one after the other into a single buffer (the bytes of their
 * {@link encodeReply}s concatenated): one size pass, one allocation, one copy of each bulk.
 */
export function encodeReplies(replies: readonly Reply[], version: RespVersion = 2): Buffer {
  const out = Buffer.allocUnsafe(repliesSize(replies, version));
  writeReplies(replies, version, out, 0);
  return out;
}

/** Bytes of the encoding of `replies` (what {@link encodeReplies} returns). */
export function repliesSize(replies: readonly Reply[], version: RespVersion): number {
  let size = 0;
  for (const r of replies) size += sizeOf(r, version);
  return size;
}

/**
 * Writes the encoding of `replies` into `out` at `at`, which has {@link repliesSize} bytes of room
 * there; returns the offset after it.
 */
export function writeReplies(replies: readonly Reply[], version: RespVersion, out: Buffer, at: number): number {
  let i = at;
  for (const r of replies) i = writeInto(r, version, out, i);
  return i;
}

/** Encodes a request (array of bulk strings), as a client sends it; used by tests and benchmarks. */
export function encodeCommand(args: readonly (Buffer | string)[]): Buffer {
  return encodeReply(array(args.map(bulk)));
}
