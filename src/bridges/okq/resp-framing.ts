/**
 * Framing helpers of the RESP decoder (resp-decoder.ts): line kinds and their length limits,
 * RESP lengths, and the fast path for whole commands.
 *
 * The fast path: commands that lie whole in one chunk, as
 * arrays of bulk strings (what every client library sends), read in one pass over the bytes with
 * no line or bulk buffers and one copy for all the arguments of a pipeline's commands. Anything else — a command split
 * across chunks, an element that is not a bulk string, a length out of bounds or spelled oddly,
 * a missing CRLF — is left to the decoder's state machine, which reads it from the same place
 * and reports exactly what it reports for it today. So the fast path only ever returns what the
 * state machine would have returned for the same bytes.
 */
import type { RespDecoderLimits, RespEvent, RespFatalCode } from "./resp-events.js";

const CR = 13;
const LF = 10;
const STAR = 0x2a;
const DOLLAR = 0x24;
/** Longest header line (`*123\r\n`, `:-9223372036854775808\r\n`) before it counts as hostile. */
const MAX_HEADER_BYTES = 64;

/** What a line is. `skip`: a top-level simple string, error or integer: ignored, so its bytes are counted, not kept. */
export type LineKind = "inline" | "array" | "bulk" | "simple" | "skip";

/** The longest line of a kind (without its LF). */
export function lineMaxBytes(kind: LineKind, limits: RespDecoderLimits): number {
  if (kind === "inline") return limits.maxInlineBytes;
  return kind === "skip" ? Math.max(limits.maxInlineBytes, MAX_HEADER_BYTES) : MAX_HEADER_BYTES;
}

/** The fatal code of a header line that is too long. */
export function headerCode(kind: LineKind): RespFatalCode {
  return kind === "bulk" ? "BULK_LENGTH" : kind === "array" ? "ARRAY_LENGTH" : "BAD_LINE";
}

/** Parses a RESP length (`-1`, `0`, `123`); undefined when it is not a plain integer ≥ -1. */
export function parseLength(line: Buffer): number | undefined {
  if (line.length === 0 || line.length > 18) return undefined;
  if (line.length === 2 && line[0] === 0x2d && line[1] === 0x31) return -1;
  let v = 0;
  for (const c of line) {
    if (c < 0x30 || c > 0x39) return undefined;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Longest length the fast path reads (9 digits); longer ones go to the state machine. */
const MAX_LENGTH_DIGITS = 9;

/**
 * Offsets of each argument's data within the chunk, for the commands of one
 * {@link readWholeCommands} call one after the other (scratch, reused: the decoder is synchronous).
 */
const starts: number[] = [];
const ends: number[] = [];
/** Argument counts of those commands. */
const counts: number[] = [];
/** Where {@link readLength} leaves the offset after the length's CRLF. */
let afterLength = 0;

/**
 * Reads `<digits>\r\n` at `i` (after the type byte): the value, with {@link afterLength} set past
 * the CRLF; -1 when it is not 1 to 9 digits followed by CRLF inside the chunk.
 */
function readLength(chunk: Buffer, i: number): number {
  const n = chunk.length;
  let v = 0;
  let at = i;
  while (at < n) {
    const c = chunk[at] as number;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    at++;
  }
  const digits = at - i;
  if (digits === 0 || digits > MAX_LENGTH_DIGITS || at + 1 >= n) return -1;
  if (chunk[at] !== CR || chunk[at + 1] !== LF) return -1;
  afterLength = at + 2;
  return v;
}

/**
 * The command starting at `i` (a `*`), when it is a non-empty array of bulk strings lying whole
 * in `chunk` within every limit: its arguments' offsets go to {@link starts} and {@link ends} from
 * index `base`, and the offset after it is returned; -1 otherwise (the state machine then reads it).
 */
function scanWholeCommand(chunk: Buffer, i: number, limits: RespDecoderLimits, base: number): number {
  if (chunk[i] !== STAR || limits.maxDepth < 1) return -1;
  const count = readLength(chunk, i + 1);
  if (count <= 0 || count > limits.maxArrayLength) return -1;
  let at = afterLength;
  let commandBytes = 0;
  const n = chunk.length;
  for (let k = 0; k < count; k++) {
    if (at >= n || chunk[at] !== DOLLAR) return -1;
    const len = readLength(chunk, at + 1);
    if (len < 0 || len > limits.maxBulkBytes) return -1;
    commandBytes += len + limits.argOverheadBytes;
    if (commandBytes > limits.maxCommandBytes) return -1;
    const start = afterLength;
    const end = start + len;
    if (end + 2 > n || chunk[end] !== CR || chunk[end + 1] !== LF) return -1;
    starts[base + k] = start;
    ends[base + k] = end;
    at = end + 2;
  }
  counts.push(count);
  return at;
}

/**
 * Reads the commands that lie whole in `chunk` one after the other from `i` on (see
 * {@link scanWholeCommand}) and adds each to `out` as a command event; returns the offset after
 * the last (`i`: none). Their arguments are views into one copy of their bytes, so no command pins
 * the socket's chunk; a command may pin the copy it shares with its neighbours (one slice of input
 * at most: the session decodes a chunk 16 KiB at a time, and runs the commands in order).
 */
export function readWholeCommands(chunk: Buffer, i: number, limits: RespDecoderLimits, out: RespEvent[]): number {
  counts.length = 0;
  let at = i;
  let args = 0;
  for (;;) {
    const next = scanWholeCommand(chunk, at, limits, args);
    if (next < 0) break;
    args += counts[counts.length - 1] as number;
    at = next;
  }
  if (at === i) return i;
  const copy = Buffer.allocUnsafe(at - i);
  chunk.copy(copy, 0, i, at);
  let a = 0;
  let previous: Buffer[] | undefined;
  let previousAt = 0;
  for (const count of counts) {
    const command: Buffer[] = new Array(count);
    const same = previous !== undefined && previous.length === count;
    for (let k = 0; k < count; k++, a++) {
      const start = starts[a] as number;
      const end = ends[a] as number;
      const p = previousAt + k;
      command[k] =
        same && sameSpan(chunk, start, end, starts[p] as number, ends[p] as number)
          ? ((previous as Buffer[])[k] as Buffer)
          : copy.subarray(start - i, end - i);
    }
    out.push({ type: "command", args: command });
    previous = command;
    previousAt = a - count;
  }
  return at;
}

/** Longest argument {@link sameSpan} compares (names, queues, options and their values). */
const MAX_SHARED_ARG_BYTES = 64;

/**
 * True when bytes [start, end) and [pStart, pEnd) of `chunk` are short and equal: the argument is
 * the previous command's, whose Buffer it then shares (a pipeline repeats its command names,
 * queues and options), instead of a view of its own. Arguments are never written to.
 */
function sameSpan(chunk: Buffer, start: number, end: number, pStart: number, pEnd: number): boolean {
  const n = end - start;
  if (n !== pEnd - pStart || n > MAX_SHARED_ARG_BYTES) return false;
  for (let k = 0; k < n; k++) if (chunk[start + k] !== chunk[pStart + k]) return false;
  return true;
}
