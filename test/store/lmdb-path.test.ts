import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openLmdbStore } from "../../src/store/index.js";

test("lmdb store - a data directory whose name has a dot opens as a directory and reopens", async (t) => {
  const parent = mkdtempSync(join(tmpdir(), "switchyard-path-"));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, "data.v1");
  let store = await openLmdbStore({ path: dir });
  await store.createTopic(
    {
      name: "t",
      queue: false,
      dedupWindowMs: 1000,
      dedupScope: "window",
      retainAckedMs: 0,
      maxMessages: 0,
      maxBytes: 0,
      maxAgeMs: 0,
      overflow: "reject",
    },
    1,
  );
  await store.close();
  assert.ok(existsSync(join(dir, "data.mdb")), "the environment lives inside the directory");
  store = await openLmdbStore({ path: dir });
  assert.equal((await store.getTopic("t"))?.name, "t");
  await store.close();
});
