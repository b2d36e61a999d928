import { createMemoryKvData, createMemoryStore, type Store } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

/**
 * The memory store with the log tail (src/store/engine/log-tail.ts) at its default bound, and
 * with a tail so small that it evicts, drops and rests all the time: the same semantics either way.
 */
for (const [name, logTailMaxBytes] of [
  ["memory", undefined],
  ["memory, small log tail", 1024],
] as const) {
  describeStoreConformance(name, async () => {
    const data = createMemoryKvData();
    const opened: Store[] = [createMemoryStore(data, undefined, logTailMaxBytes)];
    return {
      store: opened[0] as Store,
      async reopen() {
        const store = createMemoryStore(data, undefined, logTailMaxBytes);
        opened.push(store);
        return store;
      },
      async cleanup() {
        for (const store of opened) await store.close();
      },
    };
  });
}
