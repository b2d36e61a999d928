/**
 * What the okQ bridge's RESP decoder (resp-decoder.ts) produces and the limits it enforces: the
 * decoded events, the stable codes and reply texts of framing failures, and how a command's
 * arguments count against its byte limit (README "okQ bridge (RESP)" and "Limits and failure
 * behaviour"). The session (session.ts) and its pending input (pending-events.ts) use the same
 * accounting.
 *
 * Memory: each argument costs a Buffer object on the heap (~100-200 bytes on Node 20, more than
 * a short argument's bytes), so every argument counts {@link RespDecoderLimits.argOverheadBytes}
 * on top of its length against `maxCommandBytes`: a command of 65,536 empty arguments is as
 * large as its heap cost, not 0 bytes.
 */

/** Limits of a RESP decoder (resp-decoder.ts). */
export interface RespDecoderLimits {
  /** Largest bulk string in bytes. */
  maxBulkBytes: number;
  /** Most elements of one array (a command's arguments). */
  maxArrayLength: number;
  /** Largest total of a command's argument bytes. */
  maxCommandBytes: number;
  /** Longest inline command line in bytes (Redis: 64 KiB). */
  maxInlineBytes: number;
  /** Deepest array nesting accepted inside a command before the input counts as hostile. */
  maxDepth: number;
  /**
   * Bytes each argument counts on top of its length against `maxCommandBytes`: what holding it
   * costs beyond its bytes. Use {@link ARG_OVERHEAD_BYTES}.
   */
  argOverheadBytes: number;
}

/**
 * The heap cost of one decoded argument beyond its bytes, rounded up: Node 20 spends ~195 bytes
 * on an empty Buffer (its own zero-length ArrayBuffer) and ~105 on a short one (a pool slice),
 * plus the slot in the arguments array.
 */
export const ARG_OVERHEAD_BYTES = 256;

/** Stable codes of framing failures (the connection is closed after the error reply). */
export type RespFatalCode =
  | "BULK_LENGTH"
  | "ARRAY_LENGTH"
  | "COMMAND_TOO_LARGE"
  | "INLINE_TOO_LARGE"
  | "UNBALANCED_QUOTES"
  | "EXPECTED_CRLF"
  | "TOO_DEEP"
  | "BAD_LINE"
  | "CROSS_PROTOCOL";

/** One decoded event. */
export type RespEvent =
  | { type: "command"; args: Buffer[] }
  | { type: "invalid" }
  | { type: "fatal"; code: RespFatalCode; message: string };

/** The error reply text of each {@link RespFatalCode} (the session answers it before closing). */
export const RESP_FATAL_MESSAGES: Record<RespFatalCode, string> = {
  BULK_LENGTH: "Protocol error: invalid bulk length",
  ARRAY_LENGTH: "Protocol error: invalid multibulk length",
  COMMAND_TOO_LARGE: "Protocol error: command too large",
  INLINE_TOO_LARGE: "Protocol error: too big inline request",
  UNBALANCED_QUOTES: "Protocol error: unbalanced quotes in request",
  EXPECTED_CRLF: "Protocol error: expected '\\r\\n'",
  TOO_DEEP: "Protocol error: nesting too deep",
  BAD_LINE: "Protocol error: invalid line",
  CROSS_PROTOCOL: "Protocol error: an HTTP request (possible cross-protocol attack)",
};

/** What `args` count against the command and pending-input limits: bytes plus a per-argument overhead. */
export function argumentBytes(args: readonly Buffer[], overheadBytes: number): number {
  let n = args.length * overheadBytes;
  for (const a of args) n += a.length;
  return n;
}
