import { ARG_OVERHEAD_BYTES, argumentBytes, type RespEvent } from "./resp-events.js";

/** A decoded event waiting to run; a command carries its name upper-cased once. */
export type PendingEvent = { type: "command"; args: Buffer[]; name: string } | Exclude<RespEvent, { type: "command" }>;

/** Longer than any command's name: such a name is looked up as "" (unknown) without a copy. */
const MAX_COMMAND_NAME_BYTES = 32;

/**
 * A command's name as the command table spells it: empty for a command without one, or with a
 * name longer than any command's (its error quotes the raw name).
 */
export function upperName(raw: Buffer | undefined): string {
  return raw === undefined || raw.length > MAX_COMMAND_NAME_BYTES ? "" : raw.toString("latin1").toUpperCase();
}

/** Read-ahead bytes an event counts for (see `maxPendingBytes`). */
export function eventBytes(e: RespEvent): number {
  return e.type === "command" ? argumentBytes(e.args, ARG_OVERHEAD_BYTES) : 0;
}
