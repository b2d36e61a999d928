/**
 * Handing out in delivery order (deliver.ts picks, this takes): the count and byte bounds of one
 * hand-out, the copy of each message taken (views into a few buffers shared by the hand-out),
 * and how many messages a read with values should bring.
 */
import type { StoredMessage } from "../../model/index.js";
import type { LeasedRecord } from "../store.js";
import type { Entry } from "./cursor.js";
import type { LogTail } from "./log-tail.js";
import {
  DELIVERY_OVERHEAD_BYTES,
  decodeMessage,
  type MessageMeta,
  messageIdGenerated,
  messageOnlyFor,
} from "./message-codec.js";

/** What a hand-out may take. */
export interface PickOptions {
  max: number;
  /** Most bytes in all (see deliveryBytes); one message larger than this still goes alone, unless `maxBytesStrict`. */
  maxBytes: number;
  /** Not even a first message beyond `maxBytes` (see LeaseOptions.maxBytesStrict in store.ts). */
  maxBytesStrict?: boolean;
  nowMs: number;
}

/**
 * A message picked for delivery: the caller leases it, settles it (auto-ack) or just shows it. It
 * is also the {@link LeasedRecord} the store returns (one object per message, not two).
 */
export interface Picked extends LeasedRecord {
  seq: number;
  lane: number;
  /** The attempt this delivery is. */
  attempt: number;
  message: StoredMessage;
  /** The lease's token once leased; "" when not leased (auto-ack). */
  token: string;
  meta: MessageMeta;
  /** The tracked entry it came from, if any. */
  entry: Entry | undefined;
}

/** The meta of a decoded message. */
export function metaOf(m: StoredMessage, onlyFor: number, generatedId: boolean): MessageMeta {
  return {
    size: m.data.length,
    priority: m.priority,
    publishMs: m.publishTimeMs,
    deliverAtMs: m.deliverAtMs,
    expireAtMs: m.expireAtMs,
    id: m.id,
    onlyFor,
    generatedId,
  };
}

/** Bounds of one arena buffer of a hand-out (see Picker.copy). */
const ARENA_MIN_BYTES = 16 * 1024;
const ARENA_MAX_BYTES = 256 * 1024;
const EMPTY_ARENA = Buffer.alloc(0);

/** Handing out in delivery order, with the byte bound. */
export class Picker {
  readonly out: Picked[] = [];
  private bytes = 0;
  private arena = EMPTY_ARENA;
  private used = 0;
  private readonly topicBytes: number;
  stopped = false;

  constructor(
    readonly o: PickOptions,
    readonly topic: string,
    /** The topic's log tail when other subscriptions may take the same messages (see LogTail.keepDecoded). */
    private readonly shared?: LogTail,
  ) {
    this.topicBytes = Buffer.byteLength(topic);
  }

  /** Bytes taken so far, as the byte bound counts them. */
  get bytesTaken(): number {
    return this.bytes;
  }

  get full(): boolean {
    return this.stopped || this.out.length >= this.o.max;
  }

  /**
   * The data of a message taken, bytes [start, end) of its stored value `view` (decodeMessage
   * copies the rest into strings), as a copy in the hand-out's arena: the messages of one
   * hand-out share a few buffers, not a buffer each (fewer allocations, less garbage
   * collection), and nothing outlives them but those buffers (a hand-out is leased, sent and
   * acked together). The whole value is copied, a few bytes more than the data, because a copy
   * of a whole view allocates nothing (Node's `copy` of a part makes a view of that part first).
   * One function per hand-out, not a closure per message.
   */
  private readonly copy = (view: Buffer, start: number, end: number): Buffer => {
    const n = view.length;
    if (n > ARENA_MAX_BYTES / 4) return copyOut(view, start, end);
    if (this.arena.length - this.used < n) {
      // Sized for what this hand-out may still take, as many more of this size; a hand-out that
      // can take only a little copies into Node's shared pool instead.
      const want = Math.min(ARENA_MAX_BYTES, n * this.room, this.bytesLeft + n);
      if (want < ARENA_MIN_BYTES) return copyOut(view, start, end);
      this.arena = Buffer.allocUnsafeSlow(want);
      this.used = 0;
    }
    const at = this.used;
    this.arena.set(view, at);
    this.used += n;
    return this.arena.subarray(at + start, at + end);
  };

  /** Bytes it may still take (the bytes bound; infinite when none). */
  get bytesLeft(): number {
    return Math.max(0, this.o.maxBytes - this.bytes);
  }

  /** Messages it may still take (the count bound). */
  get room(): number {
    return this.o.max - this.out.length;
  }

  /**
   * Takes the message unless the bytes bound stops here (then nothing more is taken). `view` may
   * be a transient view: what is taken is copied into the hand-out's arena, unless `kept` says
   * the value is never changed or reused (the log tail's): then its data is a view of it.
   */
  take(seq: number, lane: number, attempt: number, entry: Entry | undefined, view: Buffer, kept = false): boolean {
    // The stored value holds the data, attributes, id and key: its length bounds the response.
    const size = view.length + this.topicBytes + DELIVERY_OVERHEAD_BYTES;
    if ((this.out.length > 0 || this.o.maxBytesStrict === true) && this.bytes + size > this.o.maxBytes) {
      this.stopped = true;
      return false;
    }
    this.bytes += size;
    if (kept && this.shared) {
      let d = this.shared.decodedAt(seq);
      if (d === undefined) {
        const message = decodeMessage(view, this.topic, seq);
        d = { message, meta: entry ? entry.meta : metaOf(message, messageOnlyFor(view), messageIdGenerated(view)) };
        this.shared.keepDecoded(seq, d);
      }
      this.out.push({ seq, lane, attempt, message: d.message, token: "", meta: entry ? entry.meta : d.meta, entry });
      return true;
    }
    const message = kept ? decodeMessage(view, this.topic, seq) : decodeMessage(view, this.topic, seq, this.copy);
    const meta = entry ? entry.meta : metaOf(message, messageOnlyFor(view), messageIdGenerated(view));
    this.out.push({ seq, lane, attempt, message, token: "", meta, entry });
    return true;
  }
}

/** A copy of bytes [start, end) of `view` in a buffer of their own (Node's pool when small). */
function copyOut(view: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  view.copy(out, 0, start, end);
  return out;
}

/** Messages a read with values asks for before it knows their size (see valuesChunk). */
const FIRST_VALUES_CHUNK = 4;

/**
 * How many messages a read with values asks for: what the hand-out can still take by count and,
 * once sizes are known, by bytes. Not one more "to see the end": the engine copies each value it
 * reads into its read buffer, and the scan reads again when it needs more (an empty read is the end).
 */
export function valuesChunk(pk: Picker, sizeHint: number, chunk: number): number {
  const byCount = Math.min(chunk, pk.room);
  if (sizeHint === 0) return Math.min(byCount, FIRST_VALUES_CHUNK);
  return Math.max(1, Math.min(byCount, Math.floor(pk.bytesLeft / sizeHint)));
}
