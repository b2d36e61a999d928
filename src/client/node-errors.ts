/**
 * Node errors and HTTP/2 reset codes as ConnectErrors, with the same codes connect-node 2.1.2's
 * HTTP/2 client gives them, so a call fails the same way through either transport.
 */
import { constants } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

const ABORTED = new Set(["ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ECONNRESET"]);
const UNAVAILABLE = new Set(["ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"]);

/** The `code` strings of `reason` and of every error in its `cause` chain. */
function nodeCodes(reason: unknown): string[] {
  const codes: string[] = [];
  const seen: unknown[] = [];
  while (reason instanceof Error && !seen.includes(reason)) {
    seen.push(reason);
    const code = (reason as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    if (!("cause" in reason)) break;
    reason = reason.cause;
  }
  return codes;
}

/** True if `reason` (or its cause chain) is Node's ERR_STREAM_WRITE_AFTER_END. */
export function isWriteAfterEnd(reason: unknown): boolean {
  return nodeCodes(reason).includes("ERR_STREAM_WRITE_AFTER_END");
}

/**
 * Any failure of Node's `http2` as a ConnectError: a write after the server ended the stream,
 * a destroyed stream or a reset connection are Aborted; a refused, unresolvable or timed-out
 * connection is Unavailable; anything else Internal. A ConnectError is returned as it is.
 */
export function connectErrorFromNode(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const codes = nodeCodes(reason);
  let code = Code.Internal;
  if (codes.includes("ERR_STREAM_WRITE_AFTER_END") || codes.some((c) => ABORTED.has(c))) code = Code.Aborted;
  else if (codes.some((c) => UNAVAILABLE.has(c))) code = Code.Unavailable;
  const error = ConnectError.from(reason, code);
  if (error !== reason) error.cause = reason;
  return error;
}

const RESET_CODES: ReadonlyMap<number, [string, Code]> = new Map([
  [constants.NGHTTP2_PROTOCOL_ERROR, ["PROTOCOL_ERROR", Code.Internal]],
  [constants.NGHTTP2_INTERNAL_ERROR, ["INTERNAL_ERROR", Code.Internal]],
  [constants.NGHTTP2_FLOW_CONTROL_ERROR, ["FLOW_CONTROL_ERROR", Code.Internal]],
  [constants.NGHTTP2_SETTINGS_TIMEOUT, ["SETTINGS_TIMEOUT", Code.Internal]],
  [constants.NGHTTP2_FRAME_SIZE_ERROR, ["FRAME_SIZE_ERROR", Code.Internal]],
  [constants.NGHTTP2_COMPRESSION_ERROR, ["COMPRESSION_ERROR", Code.Internal]],
  [constants.NGHTTP2_CONNECT_ERROR, ["CONNECT_ERROR", Code.Internal]],
  [constants.NGHTTP2_REFUSED_STREAM, ["REFUSED_STREAM", Code.Unavailable]],
  [constants.NGHTTP2_CANCEL, ["CANCEL", Code.Canceled]],
  [constants.NGHTTP2_ENHANCE_YOUR_CALM, ["ENHANCE_YOUR_CALM", Code.ResourceExhausted]],
  [constants.NGHTTP2_INADEQUATE_SECURITY, ["INADEQUATE_SECURITY", Code.PermissionDenied]],
  [constants.NGHTTP2_HTTP_1_1_REQUIRED, ["HTTP_1_1_REQUIRED", Code.PermissionDenied]],
]);

/**
 * The error of a stream the peer reset with `rstCode`, or undefined for NO_ERROR and
 * STREAM_CLOSED (which say nothing about the call).
 */
export function connectErrorFromResetCode(rstCode: number | undefined): ConnectError | undefined {
  const known = rstCode === undefined ? undefined : RESET_CODES.get(rstCode);
  if (known === undefined || rstCode === undefined) return undefined;
  return new ConnectError(`http/2 stream closed with error code ${known[0]} (0x${rstCode.toString(16)})`, known[1]);
}
