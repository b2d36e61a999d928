import { ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../util/index.js";
import { reasonOf } from "../bridge.js";
import { error, type Reply } from "./resp-encoder.js";

/**
 * How broker errors render in okQ's dialect (architecture.md §2.4 "RESP"). okQ itself only ever
 * said `ERR unexpected server-side error` for a failure behind it; input the broker refuses (a
 * name or id it cannot store, an event over the size limit) gets `-ERR <reason's message>`.
 */
export const SERVER_ERROR = error("ERR unexpected server-side error");
/** Sent to every command once shutdown has begun; the connection then closes. */
export const SHUTTING_DOWN = error("ERR server is shutting down");
/** okQ's answer to too few arguments. */
export const MISSING_ARGS = error("ERR missing args");
/** okQ's answer to an array element that is not a bulk string. */
export const INVALID_COMMAND = error("ERR invalid command");

/**
 * Reasons whose message is about the client's input and is safe to show (PUSH_SUBSCRIPTION: a
 * pop of a queue whose messages the broker pushes, such as an OPQ topic).
 */
const CLIENT_FAULTS = new Set([
  "INVALID_ARGUMENT",
  "INVALID_NAME",
  "PAYLOAD_TOO_LARGE",
  "BATCH_TOO_LARGE",
  "PUSH_SUBSCRIPTION",
]);

/** Renders a broker client error as an okQ error reply. */
export function errorReply(e: unknown, logger: Logger, command: string): Reply {
  const reason = reasonOf(e);
  if (reason === "SHUTTING_DOWN") return SHUTTING_DOWN;
  if (reason && CLIENT_FAULTS.has(reason) && e instanceof ConnectError) return error(`ERR ${e.rawMessage}`);
  logger.error("okq: command failed", { command, reason, error: e });
  return SERVER_ERROR;
}

/** Reasons that mean "no such queue (or event)": read commands answer nil/0 for them. */
const ABSENT = new Set(["TOPIC_NOT_FOUND", "SUBSCRIPTION_NOT_FOUND", "INVALID_NAME"]);

/** True when `e` says the queue does not exist (or cannot, by its name). */
export function isAbsent(e: unknown): boolean {
  const r = reasonOf(e);
  return r !== undefined && ABSENT.has(r);
}
