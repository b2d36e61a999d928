import { isUtf8 } from "node:buffer";
import type { BrokerClients } from "../../bridge.js";
import type { OkqContext } from "../context.js";
import type { Reply, RespVersion } from "../resp-encoder.js";

/** The per-connection state a command sees and may change. */
export interface CommandSession {
  readonly ctx: OkqContext;
  /** RESP version of replies (3 after `HELLO 3`). */
  version: RespVersion;
  /** Aborted when the connection closes or the server shuts down. */
  readonly signal: AbortSignal;
  /** Connection id (CLIENT ID). */
  readonly id: number;
  /** CLIENT SETNAME. */
  clientName: string | undefined;
  /** True when auth is off or the client authenticated. */
  authenticated: boolean;
  /** The clients of this connection's broker calls: its user's after AUTH. */
  clients: BrokerClients;
  /** The client's address (the failed-login throttle). */
  readonly peer: string;
  /** Queues named by the last QREGISTER. */
  registered: readonly string[];
  /** QUIT sets it: the connection closes once this reply is written. */
  closeAfterReply: boolean;
}

/** One command of the dialect. */
export interface CommandSpec {
  /** Arguments required after the name (okQ: `ERR missing args` below it). */
  readonly minArgs: number;
  /** May run before authentication (AUTH, HELLO, QUIT, PING-style housekeeping). */
  readonly beforeAuth?: boolean;
  /**
   * Answers after one bounded broker call (no long-poll, no login throttle): replies before it
   * may be held back to leave in one socket write with its own (session.ts).
   */
  readonly quick?: boolean;
  run(session: CommandSession, args: readonly Buffer[]): Reply | Promise<Reply>;
}

/**
 * Longest argument {@link utf8} reads char by char when it is ASCII: such a string is built flat
 * (V8 makes a string of 13 or more chars joined this way a rope), with no call into C++ (two
 * native calls, isUtf8 and the decoding, cost about 115 ns for a short id; this about 45).
 */
const MAX_SCANNED_ASCII_BYTES = 12;

/** The bytes as a UTF-8 string, or undefined when they are not valid UTF-8 (names and ids must be). */
export function utf8(bytes: Buffer): string | undefined {
  const n = bytes.length;
  if (n <= MAX_SCANNED_ASCII_BYTES) {
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = bytes[i] as number;
      if (c >= 0x80) return utf8Native(bytes);
      s += String.fromCharCode(c);
    }
    return s; // ASCII is UTF-8 that decodes to its own char codes
  }
  return utf8Native(bytes);
}

function utf8Native(bytes: Buffer): string | undefined {
  // Well-formed UTF-8 (no overlongs, no surrogates) is exactly what decodes and re-encodes to itself.
  return isUtf8(bytes) ? bytes.toString("utf8") : undefined;
}

/** True when `a` and `b` hold the same bytes (a loop for short ones, as names and ids are). */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a === b) return true; // the decoder shares equal arguments of a pipeline's commands
  const n = a.length;
  if (n !== b.length) return false;
  if (n > 64) return a.equals(b);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last name {@link utf8Name} read, and its bytes. */
let lastName: { bytes: Buffer; name: string | undefined } = { bytes: Buffer.alloc(0), name: "" };

/**
 * {@link utf8} for a name that repeats from command to command (a queue): the last one read is
 * remembered, so a pipeline naming one queue reads it once. Only for short names (≤ 256 bytes).
 */
export function utf8Name(bytes: Buffer): string | undefined {
  if (bytes.length <= 256 && sameBytes(bytes, lastName.bytes)) return lastName.name;
  const name = utf8(bytes);
  if (bytes.length <= 256) lastName = { bytes: Buffer.from(bytes), name };
  return name;
}

/** Case-insensitive keyword match (okQ: `isEqualUpper`). */
export function isKeyword(arg: Buffer | undefined, keyword: string): boolean {
  if (arg === undefined || arg.length !== keyword.length) return false;
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i] as number;
    // ASCII a-z to A-Z; latin1's other lower-case letters never match an ASCII keyword either way.
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== keyword.charCodeAt(i)) return false;
  }
  return true;
}
