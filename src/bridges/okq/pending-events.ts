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

/** Taken slots kept at the front of the queue before they are cut off (a long read-ahead). */
const MAX_TAKEN_SLOTS = 256;

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
  /** Events from `head` on are waiting; the slots before it are taken (cleared when all are). */
  private readonly events: (PendingEvent | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  /**
   * The last two command names read and their upper-cased forms: a pipeline repeats a few names
   * (a drain alternates runs of QACK and QRPOP).
   */
  private lastRawName: Buffer | undefined;
  private lastName = "";
  private olderRawName: Buffer | undefined;
  private olderName = "";

  constructor(
    private readonly options: ResolvedOkqOptions,
    private readonly input: { bytes: number },
  ) {}

  /** Events waiting. */
  get length(): number {
    return this.events.length - this.head;
  }

  /** The next event, not taken. */
  peek(): PendingEvent | undefined {
    return this.events[this.head];
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
    if (raw === undefined) return upperName(raw);
    if (this.lastRawName !== undefined && sameBytes(raw, this.lastRawName)) return this.lastName;
    if (this.olderRawName !== undefined && sameBytes(raw, this.olderRawName)) {
      const name = this.olderName;
      this.remember(this.olderRawName, name);
      return name;
    }
    const name = upperName(raw);
    if (raw.length <= MAX_COMMAND_NAME_BYTES) this.remember(Buffer.from(raw), name);
    return name;
  }

  /** Makes `raw` the last name read, the one before it the older. */
  private remember(raw: Buffer, name: string): void {
    this.olderRawName = this.lastRawName;
    this.olderName = this.lastName;
    this.lastRawName = raw;
    this.lastName = name;
  }

  /** Takes the next event (there must be one). */
  take(): PendingEvent {
    // (Not shift(): a pipeline's events would move down one slot per command taken.)
    const e = this.events[this.head] as PendingEvent;
    this.events[this.head] = undefined;
    this.head++;
    if (this.head === this.events.length) {
      this.events.length = 0;
      this.head = 0;
    } else if (this.head >= MAX_TAKEN_SLOTS) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
    this.count(-e.bytes);
    return e;
  }

  /** Drops every event (the connection is closing). */
  drop(): void {
    this.events.length = 0;
    this.head = 0;
    this.count(-this.bytes);
  }

  /**
   * True when the events reach 1/`divisor` of their count or byte limit, or (with any waiting)
   * the bridge's read-ahead reaches 1/`divisor` of `maxPendingBytesTotal`.
   */
  over(divisor: number): boolean {
    const o = this.options;
    return (
      this.length >= o.maxPendingCommands / divisor ||
      this.bytes >= o.maxPendingBytes / divisor ||
      (this.length > 0 && this.input.bytes >= o.maxPendingBytesTotal / divisor)
    );
  }

  private count(n: number): void {
    this.bytes += n;
    this.input.bytes += n;
  }
}
