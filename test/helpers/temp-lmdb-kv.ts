/** An LmdbKv in a temporary directory for one test, closed and removed after it. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { LmdbKv, type LmdbKvOptions } from "../../src/store/kv/lmdb-kv.js";

/** Opens an LmdbKv (durability flush, a 64 MiB map unless `options` say otherwise) for the test `t`. */
export async function openTempLmdbKv(
  t: TestContext,
  options: Partial<Omit<LmdbKvOptions, "path">> = {},
): Promise<LmdbKv> {
  const path = await mkdtemp(join(tmpdir(), "switchyard-kv-"));
  const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024, ...options });
  t.after(async () => {
    await kv.close();
    await rm(path, { recursive: true, force: true });
  });
  return kv;
}
