import { BrokerError } from "../../errors/index.js";
import type { KvWriter } from "../kv/kv.js";
import { FORMAT_KEY, STORE_FORMAT } from "./load.js";
import type { EngineState } from "./state.js";
import { Tx } from "./tx.js";

/** What an operation's commit tells its store (kv-store-base.ts). */
export interface OpRunStore {
  /** The commit formatted the store (when `formatted`); schedules the next trim step. */
  afterCommit(formatted: boolean): void;
}

/**
 * One operation of the store's `op` (kv-store-base.ts): its transaction callback and how it settles. A class
 * whose three functions are made once per operation (no chain of `then`, `catch` and `finally`).
 */
export class OpRun<T> {
  private tx: Tx | undefined;

  constructor(
    private readonly store: OpRunStore,
    private readonly state: EngineState,
    private readonly formatting: boolean,
    private readonly nowMs: number,
    private readonly fn: (tx: Tx) => T,
  ) {}

  readonly write = (w: KvWriter): T => {
    const tx = new Tx(w, this.state, this.nowMs);
    this.tx = tx;
    const out = this.fn(tx);
    tx.finish();
    // Last, so that an operation's refusal (a BrokerError before its first write) writes nothing.
    if (this.formatting) w.put(FORMAT_KEY, Buffer.from(STORE_FORMAT));
    return out;
  };

  readonly committed = (out: T): T => {
    const { tx } = this;
    try {
      // Appended messages become visible to delivery once durable.
      if (tx !== undefined) {
        for (const [t, seq] of tx.appended) if (seq > t.durableSeq) t.durableSeq = seq;
        for (const f of tx.onCommit) f();
      }
      this.store.afterCommit(this.formatting);
      return out;
    } finally {
      this.release();
    }
  };

  readonly failed = (e: unknown): never => {
    this.release();
    throw BrokerError.from(e);
  };

  /** The cursors' per-message states this operation wrote are no longer in flight. */
  private release(): void {
    for (const c of this.tx?.statesWritten ?? []) c.stateWrites--;
  }
}
