import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLmdbStore, type Store } from "../../src/store/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("lmdb", async () => {
  const path = await mkdtemp(join(tmpdir(), "switchyard-store-"));
  // Small map: tests write little, and many environments may be open at once.
  const open = () => openLmdbStore({ path, durability: "flush", mapSizeBytes: 256 * 1024 * 1024 });
  const opened: Store[] = [await open()];
  return {
    store: opened[0] as Store,
    async reopen() {
      const store = await open();
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(path, { recursive: true, force: true });
    },
  };
});
