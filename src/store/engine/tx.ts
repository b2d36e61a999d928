/**
 * One engine operation inside a KV write transaction: the writer, the in-memory state, and what
 * the operation touched, persisted once at its end (topic heads, cursors) so every operation
 * writes its changes and those of earlier reads (scan marks) in the same transaction.
 */
import type { KvWriter } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { writeCursor, writeHead } from "./cursor-store.js";
import type { EngineState, TopicState } from "./state.js";

/** A message-id index entry read in a transaction, with its key (see {@link Tx.idFound}). */
export interface FoundId {
  topicId: number;
  id: string;
  key: Buffer;
  seq: number;
  expireMs: number;
}

/** One operation's transaction and what it touched (see the module comment). */
export class Tx {
  private readonly heads = new Set<TopicState>();
  /** Per topic, the last seq this operation appended (durable once the write resolves). */
  readonly appended = new Map<TopicState, number>();
  /** Cursors whose per-message states this operation writes (see Cursor.stateWrites). */
  readonly statesWritten: Cursor[] = [];
  /** Topics whose consumers may have new work (a drop passed a key on, say). */
  readonly changedTopics = new Set<string>();
  /** Run once the transaction is committed (not if it fails). */
  readonly onCommit: Array<() => void> = [];
  /**
   * The message-id index entry this operation read last (an ack by message id looks it up,
   * then its release drops it: one read, not two). Set only where no id entry is written between
   * the lookup and the release (acks; not nacks, whose dead letters append).
   */
  idFound: FoundId | undefined;
  /** Id entries of messages this operation released, for the trim to delete (id-deletes.ts). */
  readonly idDeletes: Buffer[] = [];

  constructor(
    readonly w: KvWriter,
    readonly state: EngineState,
    readonly nowMs: number,
  ) {}

  /** The topic's head changed: write it at the end. */
  touchHead(t: TopicState): void {
    this.heads.add(t);
  }

  /** The cursor changed: write it at the end. */
  touchCursor(c: Cursor): void {
    c.dirty = true;
    this.state.dirtyCursors.add(c);
  }

  /**
   * Writes every head and every dirty cursor (this operation's and earlier reads'), and hands
   * the id entries it released to the trim: the operation ran to its end (id-deletes.ts).
   */
  finish(): void {
    if (this.idDeletes.length > 0) this.state.idDeletes.defer(this.idDeletes);
    for (const t of this.heads) if (this.state.topicsById.get(t.id) === t) writeHead(this.w, t);
    for (const c of this.state.dirtyCursors) {
      if (this.state.cursorsById.get(c.id) !== c || !writeCursor(this.w, c)) continue;
      c.stateWrites++;
      this.statesWritten.push(c);
    }
    this.state.dirtyCursors.clear();
  }
}
