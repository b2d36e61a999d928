/**
 * The id entries of released messages leave with the trim (src/store/engine/id-deletes.ts):
 * readers see the id free at once, the trim deletes the entry, a publish of the same id that
 * runs between a trim's plan and its deletes keeps its new entry, and entries whose delete was
 * only in memory when the process stopped (a crash, a close) are found again by the next trim.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { KvEngine, KvReader, KvWriteOptions, KvWriter } from "../../src/store/kv/kv.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import { createQueue, lease, rec, seqsOf, T0, tokensOf } from "./conformance/helpers.js";
import { assertInvariants, logSeqs, open, sweepAll } from "./trim-helpers.js";

/** Table tag of the message-id index (src/store/engine/keys.ts). */
const MESSAGE_ID = 0x06;

/** The ids in the message-id index of topic 1, with the seq each names. */
function idEntries(data: MemoryKvData): Array<[string, number]> {
  return data.keys
    .filter((k) => k.charCodeAt(0) === MESSAGE_ID && (data.values.get(k)?.length ?? 0) > 0)
    .map((k) => Buffer.from(k, "latin1"))
    .filter((k) => k.readUInt32BE(1) === 1)
    .map((k) => [k.toString("utf8", 5), (data.values.get(k.toString("latin1")) as Buffer).readDoubleBE(0)]);
}

/**
 * A memory KV that names a write's `deletes` when the write is called, as LMDB does when the
 * write joins its transaction, and applies them when it runs (writes run later, in call order):
 * a write called before another runs before the other's deletes. `beforeNextDeletes` runs once,
 * right before the next write with deletes names them.
 */
class DeletesNamedEarlyKv implements KvEngine {
  private readonly inner: MemoryKv;
  beforeNextDeletes: (() => void) | undefined;

  constructor(data: MemoryKvData) {
    this.inner = new MemoryKv(data);
  }

  write<T>(fn: (txn: KvWriter) => T, options: KvWriteOptions = {}): Promise<T> {
    if (!options.deletes) return this.inner.write(fn, options);
    const hook = this.beforeNextDeletes;
    this.beforeNextDeletes = undefined;
    hook?.();
    const keys = options.deletes();
    return this.inner.write(fn, { ...options, deletes: () => keys });
  }

  read<T>(fn: (r: KvReader) => T): T {
    return this.inner.read(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const unacked = { dedupScope: "unacked" as const };

/** Waits (boundedly) until `done`; the trim's timer is unref'd, so the loop is kept alive meanwhile. */
async function until(done: () => boolean): Promise<void> {
  const alive = setInterval(() => {}, 1000);
  try {
    for (let waited = 0; !done(); waited += 5) {
      assert.ok(waited < 5000, "in time");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    clearInterval(alive);
  }
}

describe("id entries of released messages", () => {
  it("id deletes - an ack by id frees the id at once; the trim deletes its entry", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q", unacked);
    await store.append("q", [rec("a"), rec("b"), rec("c")], T0);
    await lease(store, "q", 3, T0);
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: ["a", "b"] }, T0), ["ok", "ok"]);
    assert.deepEqual(
      idEntries(data),
      [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ],
      "the entries wait for the trim",
    );
    // Readers see the id free: a publish of "a" is a new message, and an ack of "b" finds nothing.
    assert.deepEqual(await store.append("q", [rec("a")], T0), [{ seq: 4, id: "a", duplicate: false }]);
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: ["b"] }, T0), ["unknown"]);
    await sweepAll(store);
    assert.deepEqual(
      idEntries(data),
      [
        ["a", 4],
        ["c", 3],
      ],
      "b's entry is gone, a's names the new message",
    );
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: ["a", "c"] }, T0), ["ok", "ok"]);
    await sweepAll(store);
    assert.deepEqual(idEntries(data), []);
    assert.deepEqual(logSeqs(data, 1), []);
    assertInvariants(data);
    await store.close();
  });

  it("id deletes - on the trim's timer, the entries go with the log entries", async () => {
    const data = createMemoryKvData();
    const store = new KvStore(new MemoryKv(data), { trimAfterMs: 1 });
    await createQueue(store, "q", unacked);
    await store.append("q", [rec("a"), rec("b")], T0);
    const got = await lease(store, "q", 2, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
    await until(() => idEntries(data).length === 0 && logSeqs(data, 1).length === 0);
    assertInvariants(data);
    await store.close();
  });

  it("id deletes - a publish of the same id between a trim's plan and its deletes keeps its entry", async () => {
    const data = createMemoryKvData();
    const kv = new DeletesNamedEarlyKv(data);
    const store = new KvStore(kv, { trimAfterMs: 1 });
    await createQueue(store, "q", unacked);
    await store.append("q", [rec("a")], T0);
    await lease(store, "q", 1, T0);
    let republished: Promise<unknown> | undefined;
    // Called before the trim's write (so it runs first), after "a" was released and named.
    kv.beforeNextDeletes = () => {
      republished = store.append("q", [rec("a", { data: Buffer.from("again") })], T0);
    };
    await store.ack("q", { tokens: [], messageIds: ["a"] }, T0);
    await until(() => republished !== undefined && logSeqs(data, 1).length === 1);
    assert.deepEqual(await republished, [{ seq: 2, id: "a", duplicate: false }]);
    assert.deepEqual(idEntries(data), [["a", 2]], "the trim deleted the old entry, then put the new one back");
    assert.deepEqual(seqsOf(await lease(store, "q", 5, T0)), [2]);
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: ["a"] }, T0), ["ok"]);
    assert.deepEqual(
      await store.append("q", [rec("a")], T0),
      [{ seq: 3, id: "a", duplicate: false }],
      "and dedup saw it until then",
    );
    await store.close();
  });

  it("id deletes - entries whose delete was only in memory at a crash are deleted by the next trim", async () => {
    const data = createMemoryKvData();
    const first = open(data); // no timer: the trim never runs
    await createQueue(first, "q", unacked);
    await first.append("q", [rec("a"), rec("b"), rec("c"), rec("d")], T0);
    await lease(first, "q", 4, T0);
    await first.ack("q", { tokens: [], messageIds: ["a", "c", "d"] }, T0);
    // The crash image: what is committed now (the waiting deletes were in memory only).
    const crashed: MemoryKvData = { keys: [...data.keys], values: new Map(data.values) };
    await first.close();
    assert.equal(idEntries(crashed).length, 4);
    const second = open(crashed);
    assert.deepEqual(await second.append("q", [rec("c")], T0), [{ seq: 5, id: "c", duplicate: false }]);
    assert.deepEqual(await second.ack("q", { tokens: [], messageIds: ["a"] }, T0), ["unknown"]);
    await sweepAll(second);
    assert.deepEqual(
      idEntries(crashed),
      [
        ["b", 2],
        ["c", 5],
      ],
      "a and d found from the log; c's new entry kept",
    );
    assert.deepEqual(logSeqs(crashed, 1), [2, 5]);
    assertInvariants(crashed);
    await second.close();
  });

  it("id deletes - on LMDB, a close before the trim leaves the entries to the next open's trim", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "id-deletes-"));
    t.after(() => rm(path, { recursive: true, force: true }));
    const kvAt = () => LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024 });
    const openAt = () => new KvStore(kvAt(), { trimAfterMs: Number.POSITIVE_INFINITY });
    /** The id index of topic 1 as stored (read with the store closed). */
    const storedIds = async (): Promise<Array<[string, number]>> => {
      const kv = kvAt();
      try {
        return kv.read((r) =>
          r
            .range({ start: Buffer.of(MESSAGE_ID, 0, 0, 0, 1), end: Buffer.of(MESSAGE_ID, 0, 0, 0, 2) })
            .map((e): [string, number] => [e.key.toString("utf8", 5), e.value.readDoubleBE(0)]),
        );
      } finally {
        await kv.close();
      }
    };
    const first = openAt();
    await createQueue(first, "q", unacked);
    await first.append("q", [rec("a"), rec("b"), rec("c")], T0);
    await lease(first, "q", 3, T0);
    await first.ack("q", { tokens: [], messageIds: ["a", "b"] }, T0);
    await first.close();
    assert.equal((await storedIds()).length, 3, "the deletes were waiting in memory");
    const second = openAt();
    assert.deepEqual(await second.append("q", [rec("a")], T0), [{ seq: 4, id: "a", duplicate: false }]);
    assert.deepEqual(await second.ack("q", { tokens: [], messageIds: ["b"] }, T0), ["unknown"]);
    while ((await second.sweepRetention(T0, 1000)).more);
    assert.deepEqual(await second.ack("q", { tokens: [], messageIds: ["c", "a"] }, T0), ["ok", "ok"]);
    await second.close();
    assert.deepEqual(
      await storedIds(),
      [
        ["a", 4],
        ["c", 3],
      ],
      "b found from the log and deleted; a and c were waiting again at the close",
    );
    const third = openAt();
    while ((await third.sweepRetention(T0, 1000)).more);
    assert.deepEqual(await third.append("q", [rec("a"), rec("c")], T0), [
      { seq: 5, id: "a", duplicate: false },
      { seq: 6, id: "c", duplicate: false },
    ]);
    await third.close();
    assert.deepEqual(await storedIds(), [
      ["a", 5],
      ["c", 6],
    ]);
  });
});
