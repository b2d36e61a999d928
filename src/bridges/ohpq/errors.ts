import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../util/index.js";
import { reasonOfAny } from "../bridge.js";

/**
 * The reply lines of the README's "Oh, Please Queue" bridge section (exact texts, each ending in `\n`), plus the lines this
 * bridge adds for what the original protocol leaves open (marked "ours").
 */
export const REPLY = {
  authenticated: "OK authenticated\n",
  ok: "OK\n",
  subscribed: "OK subscribed\n",
  bye: "OK bye\n",
  pong: "PONG\n",
  empty: "EMPTY\n",
  authFailed: "ERROR authentication failed\n",
  notAuthenticated: "ERROR not authenticated\n",
  permissionDenied: "ERROR permission denied\n",
  noPending: "ERROR no pending message\n",
  unknownCommand: "ERROR unknown command\n",
  invalidArguments: "ERROR invalid arguments\n",
  lineTooLong: "ERROR line too long\n",
  /** Ours: a queue name the broker cannot store (not UTF-8, control characters, over 255 bytes). */
  invalidQueueName: "ERROR invalid queue name\n",
  /** Ours: a message over the broker's size limit (`--max-message-bytes`). */
  messageTooLarge: "ERROR message too large\n",
  /** Ours: the queue is at a limit whose policy rejects new messages. */
  queueFull: "ERROR queue full\n",
  /** Ours: GET or SUB of a queue whose messages the broker pushes (an OPQ topic, a push subscription). */
  pushQueue: "ERROR queue is push-delivered\n",
  /** Ours: a `GET` that would hold more pending messages than the per-connection limit. */
  tooManyPending: "ERROR too many pending messages\n",
  /** Ours: a `SUB` over the per-connection limit. */
  tooManySubscriptions: "ERROR too many subscriptions\n",
  /** Ours: the answer to every command once shutdown has begun; the connection then closes. */
  shuttingDown: "ERROR server shutting down\n",
  /** Ours: a connection over the bridge's limit, closed at once. */
  tooManyConnections: "ERROR too many connections\n",
  /** Ours: a connection silent for `idleTimeoutMs`, closed. */
  idleTimeout: "ERROR idle timeout\n",
  /** Ours: any other failure behind the bridge (logged; internals never reach the client). */
  internal: "ERROR internal error\n",
} as const;

/** A reply line of {@link REPLY}. */
export type ReplyLine = (typeof REPLY)[keyof typeof REPLY];

/**
 * How each broker reason renders as an ohpq error line. Reasons not listed are failures of the
 * broker, not of the client's input: logged, answered {@link REPLY.internal}.
 */
const BY_REASON: Readonly<Record<string, ReplyLine>> = {
  UNAUTHENTICATED: REPLY.notAuthenticated,
  PERMISSION_DENIED: REPLY.permissionDenied,
  INVALID_NAME: REPLY.invalidQueueName,
  PAYLOAD_TOO_LARGE: REPLY.messageTooLarge,
  BATCH_TOO_LARGE: REPLY.messageTooLarge,
  BACKLOG_FULL: REPLY.queueFull,
  PUSH_SUBSCRIPTION: REPLY.pushQueue,
  SHUTTING_DOWN: REPLY.shuttingDown,
};

/** Renders a failed broker call of `command` as an error line (see {@link BY_REASON}). */
export function errorLine(e: unknown, logger: Logger, command: string): ReplyLine {
  const reason = reasonOfAny(e);
  const line = reason === undefined ? undefined : BY_REASON[reason];
  if (line !== undefined) return line;
  // A call cut short by shutdown carries no reason, only its code (see server/shutdown-interceptor.ts).
  if (reason === undefined && e instanceof ConnectError && e.code === Code.Unavailable) return REPLY.shuttingDown;
  logger.error("ohpq: command failed", { command, reason, error: e });
  return REPLY.internal;
}

/** Reasons that mean "no such queue": GET answers EMPTY, SUB creates the queue. */
const ABSENT = new Set(["TOPIC_NOT_FOUND", "SUBSCRIPTION_NOT_FOUND"]);

/** True when `e` says the queue (its topic or its subscription) does not exist. */
export function isAbsent(e: unknown): boolean {
  const r = reasonOfAny(e);
  return r !== undefined && ABSENT.has(r);
}
