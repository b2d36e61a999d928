import type { Logger } from "../../util/index.js";
import { clientInputMessage, metadataOf, reasonOf } from "../bridge.js";
import { error, type Reply } from "./resp-encoder.js";

/**
 * How broker errors render in okQ's dialect (docs/architecture.md: errors are rendered at the edge, in each dialect). okQ itself only ever
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

/** Redis' answer to a command before AUTH when a password is required. */
export const NOAUTH = error("NOAUTH Authentication required.");
/** Redis' answer to wrong credentials (6.2 wording, which ioredis and node-redis recognise). */
export const WRONGPASS = error("WRONGPASS invalid username-password pair or user is disabled.");

/**
 * Redis 6's ACL refusals: the user lacks the command (here: the role it needs) or one of its
 * keys (here: the queue's topic is not among the user's topics).
 */
export function noPerm(command: string, scope: string | undefined): Reply {
  return scope === "role"
    ? error(`NOPERM this user has no permissions to run the '${command.toLowerCase()}' command or its subcommand`)
    : error("NOPERM this user has no permissions to access one of the keys used as arguments");
}

/** True when the broker refused the call for its credentials or permissions. */
export function isDenied(e: unknown): boolean {
  const r = reasonOf(e);
  return r === "UNAUTHENTICATED" || r === "PERMISSION_DENIED";
}

/** Renders a broker client error as an okQ error reply. */
export function errorReply(e: unknown, logger: Logger, command: string): Reply {
  const reason = reasonOf(e);
  if (reason === "SHUTTING_DOWN") return SHUTTING_DOWN;
  if (reason === "UNAUTHENTICATED") return NOAUTH;
  if (reason === "PERMISSION_DENIED" && metadataOf(e).required_role !== undefined) {
    return noPerm(command, metadataOf(e).scope);
  }
  const input = clientInputMessage(e);
  if (input !== undefined) return error(`ERR ${input}`);
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
