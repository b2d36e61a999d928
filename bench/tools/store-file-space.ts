/**
 * What LMDB's data file holds after a W1-like fill: `node --import tsx
 * bench/tools/store-file-space.ts [messages] [payloadBytes] [pageSize]` (default 200,000 × 1 KiB,
 * LMDB's default page size) publishes in batches of 100, 8 in flight, through the real store
 * (openLmdbStore, durability flush), closes it, and prints the file's size, the page counts of
 * the main tree (branch, leaf, overflow) and the free list, and per table (the key's first byte,
 * engine/keys.ts) the entries and their key and value bytes. Leaf fill = entry bytes (with
 * LMDB's 8-byte node header each) over leaf page bytes. The broker's data file is read through
 * LMDB's map, so after a drain its whole live part counts in the broker's RSS (RssFile).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { open } from "lmdb";
import { openLmdbStore } from "../../src/store/index.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const n = Number(process.argv[2] ?? 200_000);
const payloadBytes = Number(process.argv[3] ?? 1024);
const pageSize = process.argv[4] ? Number(process.argv[4]) : undefined;
const T = 1_700_000_000_000;
const payload = Buffer.alloc(payloadBytes, 7);
const MIB = 1024 * 1024;

const dir = makeTempDir("store-space");
try {
  if (pageSize !== undefined) {
    // Create the environment with this page size first; LMDB keeps a file's page size for life.
    await open({ path: dir, pageSize, keyEncoding: "binary", encoding: "binary" }).close();
  }
  const store = await openLmdbStore({ path: dir });
  await store.createTopic(
    {
      name: "q",
      queue: false,
      dedupWindowMs: 120_000,
      dedupScope: "window",
      retainAckedMs: 0,
      maxMessages: 0,
      maxBytes: 0,
      maxAgeMs: 0,
      overflow: "reject",
    },
    T,
    {
      name: "q",
      topic: "q",
      ackDeadlineMs: 60_000,
      maxDeliveryAttempts: 0,
      deadLetterTopic: "",
      retry: { minBackoffMs: 0, maxBackoffMs: 0 },
      start: { kind: "earliest" },
      filter: {},
      ordered: false,
      paused: false,
      expireAfterIdleMs: 0,
      push: null,
    },
  );
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      const k = Math.min(100, n - sent);
      sent += k;
      const batch = Array.from({ length: k }, () => ({
        id: "",
        data: payload,
        attributes: {},
        priority: 0,
        orderingKey: "",
        deliverAtMs: 0,
        expireAtMs: 0,
      }));
      await store.append("q", batch, T);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await store.close();

  const db = open<Buffer, Buffer>({ path: dir, keyEncoding: "binary", encoding: "binary", readOnly: true });
  const s = db.getStats() as Record<string, number> & { free: Record<string, number> };
  const byTable = new Map<number, { entries: number; keyBytes: number; valueBytes: number }>();
  let entryBytes = 0;
  for (const { key, value } of db.getRange({})) {
    const t = byTable.get(key[0] as number) ?? { entries: 0, keyBytes: 0, valueBytes: 0 };
    t.entries++;
    t.keyBytes += key.length;
    t.valueBytes += value.length;
    byTable.set(key[0] as number, t);
    entryBytes += 8 + key.length + value.length;
  }
  const ps = s.pageSize as number;
  const leafBytes = (s.treeLeafPageCount as number) * ps;
  console.log(
    `${n} × ${payloadBytes} B; page ${ps} B; file ${(statSync(join(dir, "data.mdb")).size / MIB).toFixed(1)} MiB; ` +
      `last page ${s.lastPageNumber}; main tree: branch ${s.treeBranchPageCount}, leaf ${s.treeLeafPageCount}, ` +
      `overflow ${s.overflowPages} pages; free-list tree ${s.free.treeLeafPageCount} leaf pages; ` +
      `leaf fill ${((entryBytes / leafBytes) * 100).toFixed(1)} %`,
  );
  for (const [table, t] of [...byTable].sort((a, b) => a[0] - b[0])) {
    console.log(
      `table ${table}: ${t.entries} entries, keys ${(t.keyBytes / t.entries).toFixed(1)} B, values ${(t.valueBytes / t.entries).toFixed(1)} B avg`,
    );
  }
  await db.close();
} finally {
  removeDir(dir);
}
