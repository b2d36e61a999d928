import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../gen/switchyard/v1/errors_pb.js";

/**
 * Exit codes of the `switchyard` client commands: each says which kind of thing failed, so a
 * script can tell "the topic is missing" from "the broker is down" without parsing text.
 * README "The switchyard CLI" lists them.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The server failed the call for another reason (INTERNAL, UNKNOWN, …), or an unexpected error. */
  FAILED: 1,
  /** The command line is wrong (unknown command or flag, bad value); nothing was sent. */
  USAGE: 2,
  /** The server could not be reached or is unavailable (connection refused, UNAVAILABLE, timeout). */
  UNAVAILABLE: 3,
  /** Something named does not exist (NOT_FOUND). */
  NOT_FOUND: 4,
  /** The server refused the values (INVALID_ARGUMENT, OUT_OF_RANGE). */
  INVALID: 5,
  /** Conflict or wrong state (ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED: already acked, …). */
  CONFLICT: 6,
  /** A limit was reached (RESOURCE_EXHAUSTED: topic full, too large, …). */
  LIMIT: 7,
  /** Not logged in or not allowed (UNAUTHENTICATED, PERMISSION_DENIED). */
  DENIED: 8,
  /** Interrupted (SIGINT/SIGTERM) during a call; streaming commands stop cleanly with 0 instead. */
  INTERRUPTED: 130,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A bad command line found before any call: printed as is, exit {@link EXIT.USAGE}. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Which exit code a Connect error code maps to. */
export function exitCodeFor(code: Code): ExitCode {
  switch (code) {
    case Code.NotFound:
      return EXIT.NOT_FOUND;
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return EXIT.INVALID;
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
    case Code.Aborted:
      return EXIT.CONFLICT;
    case Code.ResourceExhausted:
      return EXIT.LIMIT;
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return EXIT.DENIED;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return EXIT.UNAVAILABLE;
    default:
      return EXIT.FAILED;
  }
}

/** A failure as the CLI reports it: what to print and how to exit. */
export interface CliFailure {
  exitCode: ExitCode;
  /** Connect code name (`not_found`), absent for usage errors and local failures. */
  code?: string;
  /** The stable reason of the server's ErrorDetail (`TOPIC_NOT_FOUND`), when it sent one. */
  reason?: string;
  message: string;
  /** The ErrorDetail's metadata (e.g. the failed ack ids), when it has any. */
  metadata?: Record<string, string>;
}

/** Names of Connect codes as the Connect protocol writes them (`not_found`). */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Classifies anything a command threw. */
export function describeFailure(e: unknown): CliFailure {
  if (e instanceof UsageError) return { exitCode: EXIT.USAGE, message: e.message };
  if (e instanceof ConnectError) {
    const detail = e.findDetails(ErrorDetailSchema)[0];
    const metadata = detail && Object.keys(detail.metadata).length > 0 ? { ...detail.metadata } : undefined;
    return {
      exitCode: exitCodeFor(e.code),
      code: codeName(e.code),
      ...(detail?.reason ? { reason: detail.reason } : {}),
      message: e.rawMessage,
      ...(metadata ? { metadata } : {}),
    };
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR")
      return { exitCode: EXIT.USAGE, message: e.message };
    return { exitCode: EXIT.FAILED, message: e.message };
  }
  return { exitCode: EXIT.FAILED, message: String(e) };
}

/**
 * The text of a failure for stderr: `switchyard: <message> [REASON] (code)`, plus a metadata line;
 * with `json`, one JSON object `{"error": {...}}`.
 */
export function renderFailure(f: CliFailure, json: boolean): string {
  if (json) {
    const { exitCode, ...error } = f;
    return `${JSON.stringify({ error: { ...error, exitCode } })}\n`;
  }
  const tag = f.reason ? ` [${f.reason}]` : f.code ? ` (${f.code})` : "";
  let text = `switchyard: ${f.message}${tag}\n`;
  if (f.metadata) {
    for (const [k, v] of Object.entries(f.metadata)) if (v !== "") text += `  ${k}: ${v}\n`;
  }
  return text;
}
