import { createHash } from "node:crypto";
import type { KvReader, KvWriter } from "../kv/kv.js";
import { decodeF64s, encodeF64s, readyKey, seqKey, Table } from "./keys.js";

/** Ordering keys longer than this are locked under their SHA-256, so the lock key fits the KV. */
const MAX_RAW_KEY_BYTES = 512;

/** [OrderLock][subId][key] for an ordering key. */
function lockKey(subId: number, orderingKey: string): Buffer {
  const raw = Buffer.from(orderingKey, "utf8");
  const body =
    raw.length <= MAX_RAW_KEY_BYTES ? raw : Buffer.from(`#${createHash("sha256").update(raw).digest("hex")}`);
  const b = Buffer.allocUnsafe(5 + body.length);
  b[0] = Table.OrderLock;
  b.writeUInt32BE(subId, 1);
  body.copy(b, 5);
  return b;
}

/**
 * The ordering locks of an `ordered` subscription: one message in flight per ordering key, the
 * next only after it is acked. A lock names the seq holding the key; it is good while that seq
 * is still held by the subscription (leased, delayed by a nack, or back in ready after a nack or
 * an expired lease, where it goes first again). A lock whose seq left the subscription any other
 * way (dead letter, TTL, purge) is stale and passes to the next message, so no path can block a
 * key for ever. Within one hand-out call, `claimed` tracks keys taken by earlier messages.
 */
export class OrderingGate {
  private readonly claimed = new Set<string>();

  constructor(
    private readonly w: KvWriter,
    private readonly subId: number,
  ) {}

  /** May the message go out now? True for messages without an ordering key. */
  mayDeliver(orderingKey: string, seq: number): boolean {
    if (orderingKey === "") return true;
    if (this.claimed.has(orderingKey)) return false;
    const holder = lockHolder(this.w, this.subId, orderingKey);
    return holder === undefined || holder === seq;
  }

  /** Records that the message went out: `lease` keeps the key locked until its ack. */
  delivered(orderingKey: string, seq: number, priority: number, lease: boolean): void {
    if (orderingKey === "") return;
    this.claimed.add(orderingKey);
    if (lease) this.w.put(lockKey(this.subId, orderingKey), encodeF64s(seq, priority));
  }
}

/** The seq holding a key's lock, if the lock is still good. */
function lockHolder(r: KvReader, subId: number, orderingKey: string): number | undefined {
  const value = r.get(lockKey(subId, orderingKey));
  if (!value) return undefined;
  const [seq, priority] = decodeF64s(value, 2) as [number, number];
  const held = r.get(seqKey(Table.Pending, subId, seq)) ?? r.get(readyKey(subId, priority, seq));
  return held ? seq : undefined;
}

/** An ack of `seq` frees its key for the next message (no-op if another seq holds it). */
export function releaseOrderLock(w: KvWriter, subId: number, orderingKey: string, seq: number): void {
  if (orderingKey === "") return;
  const key = lockKey(subId, orderingKey);
  const value = w.get(key);
  if (value && decodeF64s(value, 1)[0] === seq) w.del(key);
}
