/**
 * The message-id entries of released messages, deleted by the trim instead of by the operation
 * that released them, so their LMDB deletes run on lmdb-js's write thread (the trim hands its
 * keys to the KV engine's `deletes`, kv.ts) instead of the main thread, one by one, inside every
 * Ack.
 *
 * Deleting an id entry is not harmless on its own, so the deletes cannot simply go ahead of the
 * releasing write (a write's `deletes` stay when its callback throws): an entry deleted while its
 * message is still held would make the message impossible to ack by id, and a publish of the same
 * id a duplicate nobody notices. So an entry is named for deletion only once the operation that
 * released its message has run to its end ({@link IdDeletes.defer}, from `Tx.finish`), and
 * readers already treat an entry whose message is gone as absent (dedup: append.ts
 * `duplicateSeq`; ack by id: settle.ts; redrive: redrive.ts `indexId`), so the time it waits
 * changes no answer.
 *
 * What can still go wrong is order. The trim's deletes are named when its write joins a
 * transaction and run before its callback; a write called earlier whose callback has not run yet
 * (a publish of the same id, a redrive) runs before them, and its new entry would be deleted. So
 * every write of an id entry is reported ({@link IdDeletes.wrote}): it takes the key off the
 * waiting list, and when a trim already named it, the trim's callback, which runs right after its
 * deletes in the same transaction, puts the newest value back ({@link IdDeletes.applied}). A
 * delete of the key by anyone else in between cancels that ({@link IdDeletes.deleted}).
 *
 * Crashes. The waiting list lives in memory. Each trim step takes all of it, together with the
 * log entries of the released ranges it plans, and an entry joins the list in the same operation
 * that adds its message to the released ranges; so an id entry is never deleted after its
 * message's log entry. After a crash, the released ranges read at start still have their log
 * entries, and the trim reads the ids of those messages from the log ({@link IdDeletes.recover}).
 */
import type { KvReader, KvWriter } from "../kv/kv.js";
import { idStringKey, keyId, keySeq, Table } from "./keys.js";
import { messageId, messageIdGenerated } from "./message-codec.js";
import type { TopicState } from "./state.js";
import { decodeMessageIdEntry } from "./table-values.js";
import type { Tx } from "./tx.js";

/**
 * Id entries waiting at most; past this a release deletes its entry itself (release.ts). A trim
 * step takes every waiting entry, so this also bounds the id deletes one step adds to its
 * transaction: at about 2 µs each on LMDB's write thread, 8,192 hold it some 16 ms at most, in
 * the rare step that finds the list full (a drain at 30,000 acks a second leaves about 600 per
 * step).
 */
export const MAX_WAITING_ID_DELETES = 8192;

/**
 * Writes an id entry (a publish, a redrive): it replaces any delete that waits for it, this
 * operation's own included ({@link IdDeletes.wrote}).
 */
export function putIdEntry(tx: Tx, key: Buffer, value: Buffer): void {
  tx.w.put(key, value);
  const own = tx.idDeletes;
  for (let i = own.length - 1; i >= 0; i--) if ((own[i] as Buffer).equals(key)) own.splice(i, 1);
  tx.state.idDeletes.wrote(key, value);
}

/** The id entries one trim step named for deletion (see {@link IdDeletes.plan}). */
export interface IdDeletePlan {
  /** The keys, to delete ahead of the step's callback. */
  readonly keys: Buffer[];
  /** The same keys (latin1), with the value to put back when a write put one after the plan. */
  readonly named: Set<string>;
  readonly putBack: Map<string, { key: Buffer; value: Buffer }>;
}

/** See the module comment. */
export class IdDeletes {
  /** Released messages' id entries waiting for the next trim step (latin1 of the key → key). */
  private readonly waiting = new Map<string, Buffer>();
  /** Plans whose deletes have not run yet (usually none or one). */
  private readonly active = new Set<IdDeletePlan>();
  /** Per topic, the last seq of the released ranges read at start: their id entries may remain. */
  private readonly unknownUpTo = new Map<TopicState, number>();

  /** @param maxWaiting entries waiting at most (tests make it small). */
  constructor(private readonly maxWaiting = MAX_WAITING_ID_DELETES) {}

  /** Id entries waiting. */
  get size(): number {
    return this.waiting.size;
  }

  /** True when a release may hand its id entry to the trim. */
  hasRoom(): boolean {
    return this.waiting.size < this.maxWaiting;
  }

  /** Entries of messages an operation released, named at its end. */
  defer(keys: readonly Buffer[]): void {
    for (const key of keys) {
      const k = key.toString("latin1");
      this.waiting.set(k, key);
      for (const p of this.active) p.putBack.delete(k); // the newest state: gone
    }
  }

  /** A write put an id entry (a publish, a redrive): it stays, whatever a trim named. */
  wrote(key: Buffer, value: Buffer): void {
    if (this.waiting.size === 0 && this.active.size === 0) return;
    const k = key.toString("latin1");
    this.waiting.delete(k);
    for (const p of this.active) if (p.named.has(k)) p.putBack.set(k, { key, value });
  }

  /** A write deleted an id entry itself (a drop, the dedup sweep): nothing to put back. */
  deleted(key: Buffer): void {
    if (this.active.size === 0) return;
    const k = key.toString("latin1");
    for (const p of this.active) p.putBack.delete(k);
  }

  /**
   * At start: the topic has released ranges (up to `lastReleased`) whose messages' id entries
   * may have been waiting when the process stopped.
   */
  recover(t: TopicState, lastReleased: number): void {
    this.unknownUpTo.set(t, lastReleased);
  }

  /**
   * A trim step's id deletes, named when its write joins a transaction: every waiting entry,
   * and, for log entries the step deletes that were released before the start, their id entries
   * read from the log. `logKeys`: the step's keys (log and lane entries).
   */
  plan(r: KvReader, logKeys: readonly Buffer[], topicsById: ReadonlyMap<number, TopicState>): IdDeletePlan {
    const plan: IdDeletePlan = { keys: [], named: new Set(), putBack: new Map() };
    for (const [k, key] of this.waiting) {
      plan.keys.push(key);
      plan.named.add(k);
    }
    this.waiting.clear();
    if (this.unknownUpTo.size > 0) this.planRecovered(r, logKeys, topicsById, plan);
    if (plan.keys.length > 0) this.active.add(plan);
    return plan;
  }

  /**
   * In the step's callback, right after its deletes: puts back what was written after the plan
   * (unless its topic was deleted meanwhile) and forgets the plan.
   */
  applied(w: KvWriter, plan: IdDeletePlan, topicsById: ReadonlyMap<number, TopicState>): void {
    for (const { key, value } of plan.putBack.values()) if (topicsById.has(keyId(key))) w.put(key, value);
    this.dropPlan(plan);
  }

  /** The plan's write failed or never ran: forget it. */
  dropPlan(plan: IdDeletePlan): void {
    this.active.delete(plan);
  }

  private planRecovered(
    r: KvReader,
    logKeys: readonly Buffer[],
    topicsById: ReadonlyMap<number, TopicState>,
    plan: IdDeletePlan,
  ): void {
    for (const key of logKeys) {
      if (key[0] !== Table.Message) continue;
      const t = topicsById.get(keyId(key));
      const upTo = t && this.unknownUpTo.get(t);
      const seq = keySeq(key);
      if (!t || upTo === undefined || seq > upTo || t.record.dedupScope !== "unacked") continue;
      const raw = r.view(key);
      if (!raw || messageIdGenerated(raw)) continue;
      const idKey = idStringKey(Table.MessageId, t.id, messageId(raw));
      if (decodeMessageIdEntry(r.view(idKey))?.seq !== seq) continue;
      const k = idKey.toString("latin1");
      if (plan.named.has(k)) continue;
      plan.keys.push(idKey);
      plan.named.add(k);
    }
    for (const [t, upTo] of this.unknownUpTo) {
      const first = t.released.at(0);
      if (topicsById.get(t.id) !== t || !first || first[0] > upTo) this.unknownUpTo.delete(t);
    }
  }
}
