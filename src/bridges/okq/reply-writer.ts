import type { Duplex } from "node:stream";
import { type Clock, waitForDrain } from "../../util/index.js";
import { type Reply, type RespVersion, repliesSize, writeReplies } from "./resp-encoder.js";

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

/** One run's replies, held, and the protocol version they are encoded in. */
interface HeldRun {
  replies: readonly Reply[];
  version: RespVersion;
}

/**
 * Collects a connection's replies and writes them in as few socket writes as the session
 * allows: the session {@link hold}s each run's replies, asks {@link full} whether more may join
 * them, and {@link flush}es when not (or when the next command is not a quick one).
 *
 * Replies are held as values and encoded once, at the flush, straight into the buffer that is
 * written: an event's contents are copied once on their way out, not into a run's buffer and
 * again into the write. So what a held reply refers to must not change until the flush: events'
 * contents are the broker's hand-out copies (or messages decoded from a response), never a
 * buffer that is reused.
 */
export class ReplyWriter {
  private held: HeldRun[] = [];
  private heldBytes = 0;
  private readonly maxHeldBytes: number;

  constructor(
    private readonly socket: Duplex,
    private readonly options: ReplyWriterOptions,
  ) {
    this.maxHeldBytes = Math.min(MAX_HELD_REPLY_BYTES, options.maxHeldBytes);
  }

  /** Adds one run's replies to what is held, to be encoded in `version`. */
  hold(replies: readonly Reply[], version: RespVersion): void {
    this.held.push({ replies, version });
    this.heldBytes += repliesSize(replies, version);
  }

  /** True when what is held reaches its byte or run bound and must be written now. */
  get full(): boolean {
    return this.heldBytes >= this.maxHeldBytes || this.held.length >= MAX_HELD_REPLY_RUNS;
  }

  /** Writes what is held in one write; false when the socket then does not drain in time. */
  async flush(): Promise<boolean> {
    if (this.held.length === 0) return true;
    const bytes = Buffer.allocUnsafe(this.heldBytes);
    let at = 0;
    for (const run of this.held) at = writeReplies(run.replies, run.version, bytes, at);
    this.held = [];
    this.heldBytes = 0;
    if (this.socket.write(bytes)) return true;
    this.options.onBackpressure();
    return waitForDrain(this.socket, this.options.drainTimeoutMs, this.options.clock);
  }
}
