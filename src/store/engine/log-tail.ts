/**
 * The recent end of a topic's log in memory: the stored values of the last messages appended,
 * so that a consumer that keeps up (woken by a publish, or a few subscriptions reading the same
 * messages) reads them from here instead of a range read of the KV engine, and hands them out
 * without copying them (a value here is never reused or changed).
 *
 * It mirrors the log exactly over the seqs it covers, [from, end): each holds the value the log
 * holds for it, or null when the log has none (never stored, deleted, trimmed). Every write of a
 * log entry goes through `storeMessage` (append.ts), which puts it here, and every delete through
 * `deleteEntries` (release.ts) or the trim (trim.ts), which drop it here, in the same callback.
 * A delete is seen here before its commit (the KV engine's reads see it after): a message leaving
 * the log is gone for delivery as soon as it is on its way out. Appends are seen at once too, but
 * readers never look past the topic's durable seq (`TopicState.durableSeq`). An operation that
 * throws after its first write fails the store (kv/fail-safe-kv.ts), so nothing put here is ever
 * rolled back.
 *
 * Bounded in bytes per topic and in all (a {@link TailBudget} per store): the oldest values go
 * first, and a value that does not fit ends the tail before it (it starts again after it).
 * Values every reader has passed go at once ({@link LogTail.readersAt}), so a tail its consumers
 * keep up with holds its values for moments (young garbage, not promoted). A tail whose readers
 * are all behind everything it holds is of no use: rather than keep turning its values over
 * (each kept long enough to be promoted, then dropped: old garbage, major collections), it
 * empties and rests until a reader catches up with the log's end.
 *
 * When several subscriptions read a topic, the first to take a message leaves its decoded form
 * here ({@link LogTail.keepDecoded}) and the others hand out the same object: a decoded message
 * is never changed (message-codec.ts), and nothing outlives the delivery but its bytes.
 */
import type { StoredMessage } from "../../model/index.js";
import type { MessageMeta } from "./message-codec.js";

/** Bytes of stored values one topic's tail holds at most. */
export const TAIL_TOPIC_MAX_BYTES = 8 * 1024 * 1024;
/** Bytes of stored values the tails of one store hold at most in all. */
export const TAIL_TOTAL_MAX_BYTES = 32 * 1024 * 1024;
/** What a decoded message is counted as against the bounds, besides its stored value. */
const DECODED_BYTES = 320;
/** A jump of seqs longer than this (seqs nobody stored) starts the tail again rather than filling nulls. */
const MAX_GAP = 1024;
/** Slots freed at the front before the array is compacted. */
const COMPACT_AFTER = 4096;

/** The bytes every tail of one store holds, against its bound. */
export class TailBudget {
  usedBytes = 0;
  constructor(public maxBytes = TAIL_TOTAL_MAX_BYTES) {}
}

/** Called for each value a tail scan visits; false stops the scan. */
export type TailVisitor = (seq: number, value: Buffer) => boolean;

/** A message decoded from a tail's value, shared by the subscriptions that take it. */
export interface DecodedMessage {
  message: StoredMessage;
  meta: MessageMeta;
}

/** The recent end of one topic's log (see the module comment). */
export class LogTail {
  /** values[i] is the log value of seq `from + i - head` (null: none). */
  private values: (Buffer | null)[] = [];
  /** decoded[i]: the value at values[i] decoded, once a subscription took it (see the module comment). */
  private decoded: (DecodedMessage | undefined)[] = [];
  private head = 0;
  private from = 1;
  private bytes = 0;
  /** Resting: it keeps nothing (see the module comment); `from` follows the log's end. */
  private resting = false;
  /** The scan position of the furthest reader, as last told (infinite: not told). */
  private furthestReader = Number.POSITIVE_INFINITY;

  constructor(
    private budget: TailBudget = new TailBudget(),
    private readonly maxBytes = TAIL_TOPIC_MAX_BYTES,
  ) {}

  /** The seq after the last one it covers. */
  get end(): number {
    return this.from + this.values.length - this.head;
  }

  /** Bytes of the values it holds. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Counts this tail against `budget` (the store's) from now on. */
  share(budget: TailBudget): void {
    if (budget === this.budget) return;
    this.budget.usedBytes -= this.bytes;
    budget.usedBytes += this.bytes;
    this.budget = budget;
  }

  /** Whether it rests (keeps nothing until a reader catches up). */
  get isResting(): boolean {
    return this.resting;
  }

  /**
   * Where the readers of the log are (the slowest and the furthest scan position, before an
   * append): values below the slowest go; a resting tail starts again once the furthest has read
   * everything. A topic without readers passes (infinite, -infinite).
   */
  readersAt(slowest: number, furthest: number): void {
    this.furthestReader = furthest;
    if (this.resting) {
      if (furthest >= this.end) this.resting = false;
      return;
    }
    while (this.from < slowest && this.head < this.values.length) this.evictOne();
  }

  /** Records that the log now holds `value` at `seq` (seqs only grow; skipped ones hold nothing). */
  put(seq: number, value: Buffer): void {
    if (this.resting) {
      this.from = seq + 1; // holds nothing, and follows the log's end
      return;
    }
    const end = this.end;
    // Empty, it knows nothing of the seqs before `seq` (a log opened with messages in it).
    if (this.head === this.values.length || seq < end || seq - end > MAX_GAP) this.restartAt(seq);
    else
      for (let s = end; s < seq; s++) {
        this.values.push(null);
        this.decoded.push(undefined);
      }
    const n = value.length;
    while (this.bytes > 0 && (this.bytes + n > this.maxBytes || this.budget.usedBytes + n > this.budget.maxBytes)) {
      if (this.from >= this.furthestReader) {
        // Every reader is behind all it holds: rest (see the module comment).
        this.restartAt(seq + 1);
        this.resting = true;
        return;
      }
      this.evictOne();
    }
    if (this.bytes + n > this.maxBytes || this.budget.usedBytes + n > this.budget.maxBytes) {
      this.restartAt(seq + 1); // it does not fit: the tail starts after it
      return;
    }
    this.values.push(value);
    this.decoded.push(undefined);
    this.bytes += n;
    this.budget.usedBytes += n;
  }

  /** The log's value at `seq` when it covers it: null when the log has none, undefined when not covered. */
  get(seq: number): Buffer | null | undefined {
    if (seq < this.from || seq >= this.end) return undefined;
    return this.values[this.head + seq - this.from] ?? null;
  }

  /** The decoded message left at `seq` by the first subscription that took it, if any. */
  decodedAt(seq: number): DecodedMessage | undefined {
    if (seq < this.from || seq >= this.end) return undefined;
    return this.decoded[this.head + seq - this.from];
  }

  /** Leaves the decoded message of a value it holds at `seq` for other subscriptions (within the bounds). */
  keepDecoded(seq: number, d: DecodedMessage): void {
    if (seq < this.from || seq >= this.end) return;
    const i = this.head + seq - this.from;
    if (!this.values[i] || this.decoded[i]) return;
    if (this.bytes + DECODED_BYTES > this.maxBytes || this.budget.usedBytes + DECODED_BYTES > this.budget.maxBytes)
      return;
    this.decoded[i] = d;
    this.bytes += DECODED_BYTES;
    this.budget.usedBytes += DECODED_BYTES;
  }

  /** Records that the log entry of `seq` is deleted. */
  drop(seq: number): void {
    if (seq < this.from || seq >= this.end) return;
    this.clearSlot(this.head + seq - this.from);
  }

  /** Records that the log entries of seqs [a, b] are deleted. */
  dropRange(a: number, b: number): void {
    const lo = Math.max(a, this.from);
    const hi = Math.min(b, this.end - 1);
    for (let s = lo; s <= hi; s++) this.clearSlot(this.head + s - this.from);
  }

  /**
   * Visits the values of seqs [start, to) in seq order, at most `limit` of them, until `visit`
   * returns false; returns how many it visited (as KvReader.scan counts). Undefined, visiting
   * nothing, when it does not cover all of [start, to).
   */
  scan(start: number, to: number, limit: number, visit: TailVisitor): number | undefined {
    if (start < this.from || to > this.end) return undefined;
    let n = 0;
    const values = this.values;
    const offset = this.head - this.from;
    for (let s = start; s < to && n < limit; s++) {
      const v = values[offset + s];
      if (v === null || v === undefined) continue;
      n++;
      if (!visit(s, v)) break;
    }
    return n;
  }

  /** Forgets everything (the topic is gone); its bytes leave the budget. */
  clear(): void {
    this.restartAt(this.end);
  }

  private restartAt(seq: number): void {
    this.budget.usedBytes -= this.bytes;
    this.bytes = 0;
    this.values = [];
    this.decoded = [];
    this.head = 0;
    this.from = seq;
  }

  /** Empties slot `i`; returns the bytes it was counted as. */
  private clearSlot(i: number): number {
    const v = this.values[i];
    if (!v) return 0;
    let n = v.length;
    if (this.decoded[i]) {
      n += DECODED_BYTES;
      this.decoded[i] = undefined;
    }
    this.values[i] = null;
    this.bytes -= n;
    this.budget.usedBytes -= n;
    return n;
  }

  private evictOne(): void {
    while (this.head < this.values.length) {
      const freed = this.clearSlot(this.head);
      this.head++;
      this.from++;
      if (freed > 0) break;
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.values.length) {
      this.values = this.values.slice(this.head);
      this.decoded = this.decoded.slice(this.head);
      this.head = 0;
    }
  }
}
