/**
 * An incremental RESP request decoder: a state machine fed with arbitrary chunks, with hard limits
 * on every length it buffers. It turns bytes into events:
 *
 * - `command`: an array of bulk strings (what every Redis client sends), or an inline command
 *   (`PING\r\n`, as Redis accepts from telnet);
 * - `invalid`: a well-framed array with an element that is not a bulk string (okQ answers
 *   `-ERR invalid command`);
 * - `fatal`: the framing is lost (bad length, oversized value, missing CRLF). Nothing after it can
 *   be trusted; the session answers the error and closes the connection.
 *
 * Top-level values that are not arrays (`+PING\r\n`, `:1\r\n`, `$3\r\nfoo\r\n`) are consumed and
 * ignored, as okQ does; a top-level simple line may be as long as an inline command.
 *
 * Commands that lie whole in one chunk take a fast path (resp-framing.ts) that yields exactly
 * what the state machine would. The events and limits are defined in resp-events.ts; HTTP requests sent to this port
 * (cross-protocol attacks) are recognised by cross-protocol.ts and are fatal with code
 * `CROSS_PROTOCOL`.
 */

import { isHttpLine } from "./cross-protocol.js";
import { splitInline } from "./inline.js";
import {
  argumentBytes,
  RESP_FATAL_MESSAGES,
  type RespDecoderLimits,
  type RespEvent,
  type RespFatalCode,
} from "./resp-events.js";
import { headerCode, type LineKind, lineMaxBytes, parseLength, readWholeCommands } from "./resp-framing.js";

export {
  ARG_OVERHEAD_BYTES,
  argumentBytes,
  type RespDecoderLimits,
  type RespEvent,
  type RespFatalCode,
} from "./resp-events.js";

/** Every empty argument (nothing to copy, and no Buffer of its own). */
const EMPTY = Buffer.alloc(0);
const CR = 13;
const LF = 10;

/** An array being filled: how many elements are still to come. */
interface Frame {
  remaining: number;
  /** Top-level frame only: the arguments so far. */
  args: Buffer[] | undefined;
}

/** The decoder. Feed chunks with {@link RespDecoder.push}; it never throws on input. */
export class RespDecoder {
  private readonly limits: RespDecoderLimits;
  /** Bytes of a line not yet terminated by LF. */
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  /** What the current line is; undefined: at a value boundary, reading the type byte next. */
  private lineKind: LineKind | undefined;
  /** Bulk data being read: bytes still expected (data + CRLF), pieces so far. */
  private bulkRemaining = -1;
  private bulkParts: Buffer[] = [];
  private bulkLength = 0;
  private readonly stack: Frame[] = [];
  /** The current command has a non-bulk element: reply `invalid` once it is complete. */
  private invalid = false;
  private commandBytes = 0;
  private dead = false;

  constructor(limits: RespDecoderLimits) {
    this.limits = limits;
  }

  /** True after a fatal event: further input is ignored. */
  get failed(): boolean {
    return this.dead;
  }

  /** Decodes a chunk; returns the events it completed, in order (a fatal event comes last). */
  push(chunk: Buffer): RespEvent[] {
    const out: RespEvent[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.dead) {
      if (this.bulkRemaining >= 0) {
        i = this.readBulk(chunk, i, out);
        continue;
      }
      if (this.lineKind === undefined) {
        const type = chunk[i] as number;
        if (type === 0x2a && this.stack.length === 0) {
          const next = readWholeCommands(chunk, i, this.limits, out);
          if (next > i) {
            i = next;
            continue;
          }
        }
        if (type === 0x2a /* * */) this.lineKind = "array";
        else if (type === 0x24 /* $ */) this.lineKind = "bulk";
        else if (type === 0x2b || type === 0x2d || type === 0x3a /* + - : */)
          this.lineKind = this.stack.length === 0 ? "skip" : "simple";
        else if (this.stack.length > 0) {
          // Inside an array only typed values may appear: anything else breaks the framing.
          this.fail(out, "BAD_LINE");
          break;
        } else {
          this.lineKind = "inline";
          continue; // the type byte belongs to the inline line
        }
        i++;
        continue;
      }
      const lf = chunk.indexOf(LF, i);
      const end = lf === -1 ? n : lf;
      const long = this.lineKind === "inline" || this.lineKind === "skip";
      if (this.lineLength + (end - i) > lineMaxBytes(this.lineKind, this.limits) + 1) {
        this.fail(out, long ? "INLINE_TOO_LARGE" : headerCode(this.lineKind));
        break;
      }
      if (this.lineKind === "skip") {
        // Ignored (okQ: no reply, connection kept): skip to LF without keeping the bytes.
        this.lineLength = lf === -1 ? this.lineLength + (n - i) : 0;
        if (lf !== -1) this.lineKind = undefined;
        i = lf === -1 ? n : lf + 1;
        continue;
      }
      if (lf === -1) {
        this.lineParts.push(chunk.subarray(i, n));
        this.lineLength += n - i;
        i = n;
        break;
      }
      let line: Buffer;
      if (this.lineParts.length === 0) line = chunk.subarray(i, lf);
      else {
        this.lineParts.push(chunk.subarray(i, lf));
        line = Buffer.concat(this.lineParts, this.lineLength + (lf - i));
        this.lineParts = [];
      }
      this.lineLength = 0;
      i = lf + 1;
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      else if (this.lineKind !== "inline") {
        this.fail(out, "EXPECTED_CRLF");
        break;
      }
      this.onLine(line, out);
    }
    return out;
  }

  private onLine(line: Buffer, out: RespEvent[]): void {
    const kind = this.lineKind;
    this.lineKind = undefined;
    if (kind === "inline") {
      this.onInline(line, out);
      return;
    }
    if (kind === "simple") {
      if (this.stack.length > 0) this.invalid = true;
      this.valueDone(undefined, out);
      return;
    }
    const len = parseLength(line);
    if (kind === "array") {
      if (len === undefined || len > this.limits.maxArrayLength) {
        this.fail(out, "ARRAY_LENGTH");
        return;
      }
      if (this.stack.length > 0) this.invalid = true;
      if (len <= 0) {
        // `*0` is an empty command; `*-1` (null array) is no command at all.
        if (this.stack.length === 0 && len === 0) {
          this.emit({ type: "command", args: [] }, out);
          return;
        }
        this.valueDone(undefined, out);
        return;
      }
      if (this.stack.length >= this.limits.maxDepth) {
        this.fail(out, "TOO_DEEP");
        return;
      }
      this.stack.push({ remaining: len, args: this.stack.length === 0 ? [] : undefined });
      return;
    }
    // bulk
    if (len === undefined || len > this.limits.maxBulkBytes) {
      this.fail(out, "BULK_LENGTH");
      return;
    }
    if (len < 0) {
      if (this.stack.length > 0) this.invalid = true;
      this.valueDone(undefined, out);
      return;
    }
    if (this.stack.length > 0) {
      this.commandBytes += len + this.limits.argOverheadBytes;
      if (this.commandBytes > this.limits.maxCommandBytes) {
        this.fail(out, "COMMAND_TOO_LARGE");
        return;
      }
    }
    this.bulkRemaining = len + 2;
    this.bulkLength = len;
  }

  private readBulk(chunk: Buffer, i: number, out: RespEvent[]): number {
    const take = Math.min(this.bulkRemaining, chunk.length - i);
    this.bulkRemaining -= take;
    // The common case, data and CRLF all in this chunk, keeps no piece.
    const whole =
      this.bulkParts.length === 0 && this.bulkRemaining === 0
        ? chunk.subarray(i, i + take)
        : this.takePiece(chunk, i, take);
    if (whole === undefined) return i + take;
    this.bulkRemaining = -1;
    if (whole[this.bulkLength] !== CR || whole[this.bulkLength + 1] !== LF) {
      this.fail(out, "EXPECTED_CRLF");
      return i + take;
    }
    // A top-level bulk string is ignored; inside a command it is an argument (copied, so the
    // command does not pin the socket's chunk).
    const data =
      this.stack.length === 0
        ? undefined
        : this.bulkLength === 0
          ? EMPTY
          : Buffer.from(whole.subarray(0, this.bulkLength));
    this.valueDone(data, out);
    return i + take;
  }

  /** Keeps a piece of a bulk string; returns the whole string once its last piece came. */
  private takePiece(chunk: Buffer, i: number, take: number): Buffer | undefined {
    this.bulkParts.push(chunk.subarray(i, i + take));
    if (this.bulkRemaining > 0) return undefined;
    const whole =
      this.bulkParts.length === 1 ? (this.bulkParts[0] as Buffer) : Buffer.concat(this.bulkParts, this.bulkLength + 2);
    this.bulkParts = [];
    return whole;
  }

  /** A value is complete: add it to the enclosing array and close finished arrays. */
  private valueDone(value: Buffer | undefined, out: RespEvent[]): void {
    let top = this.stack[this.stack.length - 1];
    if (top === undefined) return; // a top-level non-array value: ignored
    if (top.args && value) top.args.push(value);
    top.remaining--;
    while (top && top.remaining === 0) {
      const done = this.stack.pop() as Frame;
      if (this.stack.length === 0) {
        const invalid = this.invalid;
        this.invalid = false;
        this.commandBytes = 0;
        this.emit(invalid ? { type: "invalid" } : { type: "command", args: done.args as Buffer[] }, out);
        return;
      }
      top = this.stack[this.stack.length - 1] as Frame;
      top.remaining--;
    }
  }

  private onInline(line: Buffer, out: RespEvent[]): void {
    if (isHttpLine(line)) {
      this.fail(out, "CROSS_PROTOCOL");
      return;
    }
    const args = splitInline(line);
    if (args === undefined) {
      this.fail(out, "UNBALANCED_QUOTES");
      return;
    }
    if (args.length > this.limits.maxArrayLength) {
      this.fail(out, "ARRAY_LENGTH");
      return;
    }
    if (argumentBytes(args, this.limits.argOverheadBytes) > this.limits.maxCommandBytes) {
      this.fail(out, "COMMAND_TOO_LARGE");
      return;
    }
    if (args.length > 0) this.emit({ type: "command", args }, out);
  }

  private emit(event: RespEvent, out: RespEvent[]): void {
    out.push(event);
  }

  private fail(out: RespEvent[], code: RespFatalCode): void {
    this.dead = true;
    this.lineParts = [];
    this.bulkParts = [];
    this.stack.length = 0;
    this.commandBytes = 0;
    out.push({ type: "fatal", code, message: RESP_FATAL_MESSAGES[code] });
  }
}
