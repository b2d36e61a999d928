import { createMemoryKvData, createMemoryStore, type Store } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("memory", async () => {
  const data = createMemoryKvData();
  const opened: Store[] = [createMemoryStore(data)];
  return {
    store: opened[0] as Store,
    async reopen() {
      const store = createMemoryStore(data);
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
    },
  };
});
