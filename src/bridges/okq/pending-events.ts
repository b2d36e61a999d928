import { sameBytes } from "./commands/command.js";
import type { ResolvedOkqOptions } from "./context.js";
import { ARG_OVERHEAD_BYTES, argumentBytes, type RespEvent } from "./resp-events.js";

/**
 * A decoded event waiting to run; a command carries its name upper-cased once, and every event
 * the read-ahead bytes it counts for (see {@link eventBytes}).
 */
export type PendingEvent = (
  | { type: "command"; args: Buffer[]; name: string }
  | Exclude<RespEvent, { type: "command" }>
) & { bytes: number };

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

/**
 * The events one connection has read ahead of the one executing, in order, with the bytes they
 * count for on the connection (`maxPendingBytes`) and across the bridge (`input`, bounded by
 * `maxPendingBytesTotal`).
 */
export class PendingInput {
  private readonly events: PendingEvent[] = [];
  private bytes = 0;
  /** The last command name read and its upper-cased form: a pipeline repeats a few names. */
  private lastRawName: Buffer | undefined;
  private lastName = "";

  constructor(
    private readonly options: ResolvedOkqOptions,
    private readonly input: { bytes: number },
  ) {}

  /** Events waiting. */
  get length(): number {
    return this.events.length;
  }

  /** The next event, not taken. */
  peek(): PendingEvent | undefined {
    return this.events[0];
  }

  /** Adds a decoded event. */
  push(e: RespEvent): void {
    const bytes = eventBytes(e);
    this.events.push(
      e.type === "command" ? { type: "command", args: e.args, name: this.nameOf(e.args[0]), bytes } : { ...e, bytes },
    );
    this.count(bytes);
  }

  /** {@link upperName}, remembering the last one (a copy of its bytes: the command's pins its arguments). */
  private nameOf(raw: Buffer | undefined): string {
    if (raw !== undefined && this.lastRawName !== undefined && sameBytes(raw, this.lastRawName)) return this.lastName;
    const name = upperName(raw);
    if (raw !== undefined && raw.length <= MAX_COMMAND_NAME_BYTES) {
      this.lastRawName = Buffer.from(raw);
      this.lastName = name;
    }
    return name;
  }

  /** Takes the next event (there must be one). */
  take(): PendingEvent {
    const e = this.events.shift() as PendingEvent;
    this.count(-e.bytes);
    return e;
  }

  /** Drops every event (the connection is closing). */
  drop(): void {
    this.events.length = 0;
    this.count(-this.bytes);
  }

  /**
   * True when the events reach 1/`divisor` of their count or byte limit, or (with any waiting)
   * the bridge's read-ahead reaches 1/`divisor` of `maxPendingBytesTotal`.
   */
  over(divisor: number): boolean {
    const o = this.options;
    return (
      this.events.length >= o.maxPendingCommands / divisor ||
      this.bytes >= o.maxPendingBytes / divisor ||
      (this.events.length > 0 && this.input.bytes >= o.maxPendingBytesTotal / divisor)
    );
  }

  private count(n: number): void {
    this.bytes += n;
    this.input.bytes += n;
  }
}
