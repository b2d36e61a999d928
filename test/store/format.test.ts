/**
 * The store format version (issue 13, point 6): a new data directory gets the current format in
 * its metadata; a directory of another format (or of format 1, which wrote none) is refused at
 * open with a message that says so, by the store and by `switchyard serve`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { open } from "lmdb";
import { BrokerError } from "../../src/errors/index.js";
import { openLmdbStore } from "../../src/store/index.js";
import { runCliToExit, testServeArgs } from "../helpers/spawn-cli.js";
import { createQueue } from "./conformance/helpers.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-format-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes raw keys into an LMDB environment, as another version of the store would have. */
async function writeRaw(path: string, entries: [Buffer, Buffer][]): Promise<void> {
  const db = open<Buffer, Buffer>({ path, keyEncoding: "binary", encoding: "binary", compression: false });
  for (const [k, v] of entries) await db.put(k, v);
  await db.close();
}

const meta = (name: string) => Buffer.concat([Buffer.of(0x00), Buffer.from(name)]);

describe("store format", () => {
  it("format - a new directory is written as format 3 and opens again", async (t) => {
    const path = await tempDir(t);
    const store = await openLmdbStore({ path });
    await createQueue(store, "q");
    await store.close();
    const db = open<Buffer, Buffer>({ path, keyEncoding: "binary", encoding: "binary", compression: false });
    assert.equal(db.get(meta("format"))?.toString(), "3");
    await db.close();
    const again = await openLmdbStore({ path });
    assert.ok(await again.getTopic("q"));
    await again.close();
  });

  it("format - data of another format is refused at open with a message that says so", async (t) => {
    const v1 = await tempDir(t);
    // Format 1 had no format key; its topic name table had the same tag.
    await writeRaw(v1, [[Buffer.concat([Buffer.of(0x01), Buffer.from("jobs")]), Buffer.of(0, 0, 0, 1)]]);
    await assert.rejects(openLmdbStore({ path: v1 }), (e: unknown) => {
      assert.ok(e instanceof BrokerError);
      assert.equal(e.reason, "STORE_FORMAT_MISMATCH");
      assert.match(e.message, /holds store format 1; this version of Switchyard reads format 3 only/);
      assert.ok(e.message.includes(v1), "names the directory");
      return true;
    });
    // Format 2 deleted each message at its ack (no released ranges); a format 2 broker would
    // deliver again what a format 3 one released. The formats are told apart strictly both ways.
    const v2 = await tempDir(t);
    await writeRaw(v2, [[meta("format"), Buffer.from("2")]]);
    await assert.rejects(
      openLmdbStore({ path: v2 }),
      /holds store format 2; this version of Switchyard reads format 3 only/,
    );
    const v4 = await tempDir(t);
    await writeRaw(v4, [[meta("format"), Buffer.from("4")]]);
    await assert.rejects(openLmdbStore({ path: v4 }), /holds store format 4/);
  });

  it("format - switchyard serve on a directory of another format exits 1 with the message", async (t) => {
    const dir = await tempDir(t);
    await writeRaw(dir, [[meta("format"), Buffer.from("4")]]);
    const exit = await runCliToExit(testServeArgs(dir));
    assert.equal(exit.code, 1);
    assert.equal(exit.stdout, "", "no ready line");
    assert.match(exit.stderr, /holds store format 4; this version of Switchyard reads format 3 only/);
  });
});
