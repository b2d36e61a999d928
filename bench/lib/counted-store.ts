/**
 * The LMDB store of the in-process W3 tools (bench/tools/w3-*.ts), with its writes and the
 * transactions they took readable (LmdbKv.counts) for "transactions per write".
 */
import { openLmdbStore, type Store } from "../../src/store/index.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";

/** An open store and its write counts so far. */
export interface CountedStore {
  store: Store;
  counts(): { writes: number; batches: number };
}

/** Opens the store in `path` with the commit delays given (undefined: the defaults). */
export async function openCountedStore(
  path: string,
  delays: { ackCommitDelayMs: number | undefined; commitDelayMs: number | undefined },
): Promise<CountedStore> {
  let kv: LmdbKv | undefined;
  const store = await openLmdbStore({
    path,
    ...delays,
    wrapKv: (k) => {
      if (k instanceof LmdbKv) kv = k;
      return k;
    },
  });
  return { store, counts: () => kv?.counts() ?? { writes: 0, batches: 0 } };
}
