import type { Duplex } from "node:stream";
import { type Clock, waitForDrain } from "../../util/index.js";

/**
 * Replies held back for one socket write stop being held past this size (or past the writer's
 * `maxHeldBytes`, if smaller: a client that does not read still gets only bounded runs).
 */
const MAX_HELD_REPLY_BYTES = 256 * 1024;
/**
 * Runs of replies held back at most: small replies (`:1`) would otherwise let a busy pipeline
 * hold tens of thousands, the first waiting for all the rest.
 */
const MAX_HELD_REPLY_RUNS = 64;

/** How a {@link ReplyWriter} bounds what it holds and waits for. */
export interface ReplyWriterOptions {
  /** Most bytes held back (capped at 256 KiB). */
  maxHeldBytes: number;
  /** How long a write may wait for the socket to drain before the client counts as not reading. */
  drainTimeoutMs: number;
  /** The clock the drain wait runs on. */
  clock: Clock;
  /** Called before waiting for 'drain' (the session stops reading meanwhile). */
  onBackpressure(): void;
}

/**
 * Collects a connection's encoded replies and writes them in as few socket writes as the session
 * allows: the session {@link hold}s each run's replies, asks {@link full} whether more may join
 * them, and {@link flush}es when not (or when the next command is not a quick one).
 */
export class ReplyWriter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly maxHeldBytes: number;

  constructor(
    private readonly socket: Duplex,
    private readonly options: ReplyWriterOptions,
  ) {
    this.maxHeldBytes = Math.min(MAX_HELD_REPLY_BYTES, options.maxHeldBytes);
  }

  /** Adds one run's encoded replies to what is held. */
  hold(bytes: Buffer): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  /** True when what is held reaches its byte or run bound and must be written now. */
  get full(): boolean {
    return this.heldBytes >= this.maxHeldBytes || this.held.length >= MAX_HELD_REPLY_RUNS;
  }

  /** Writes what is held in one write; false when the socket then does not drain in time. */
  async flush(): Promise<boolean> {
    if (this.held.length === 0) return true;
    const bytes = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    if (this.socket.write(bytes)) return true;
    this.options.onBackpressure();
    return waitForDrain(this.socket, this.options.drainTimeoutMs, this.options.clock);
  }
}
