/**
 * The reads of the KV seam that do not copy values: `keys` (a range without values), `view` (a
 * transient view of one value) and `scan` (a range walk with each value as a transient view).
 * Both engines, the same answers: keys in order, forward and reversed, with limits and exclusive
 * ends; a view holds exactly the value's bytes (also a value larger than lmdb-js's reusable
 * buffer, and one past 16 MiB that it maps), inside a write transaction and outside; a scan stops
 * when its visitor says so, and gives keys of any length exactly.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { KvEngine } from "../../src/store/kv/kv.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";

const key = (n: number) => Buffer.of(7, n);
const big = Buffer.alloc(3 * 1024 * 1024, 9);
/** Past lmdb-js's 16 MiB threshold: read as a view of the memory map, not a reused buffer. */
const huge = Buffer.alloc(17 * 1024 * 1024, 5);

async function check(kv: KvEngine): Promise<void> {
  await kv.write((w) => {
    for (let n = 1; n <= 9; n++) w.put(key(n), Buffer.from(`value ${n}`));
    w.put(Buffer.of(8, 0), big);
    w.put(Buffer.of(8, 1), huge);
  });
  const all = { start: key(0), end: key(255) };
  kv.read((r) => {
    assert.deepEqual(
      r.keys(all).map((k) => k[1]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(
      r.keys({ start: key(3), end: key(6) }).map((k) => k[1]),
      [3, 4, 5],
      "end exclusive",
    );
    assert.deepEqual(
      r.keys({ ...all, limit: 2 }).map((k) => k[1]),
      [1, 2],
    );
    assert.deepEqual(
      r.keys({ start: key(3), end: key(6), reverse: true }).map((k) => k[1]),
      [5, 4, 3],
    );
    assert.deepEqual(
      r.keys({ start: key(3), end: key(9), reverse: true, limit: 2 }).map((k) => k[1]),
      [8, 7],
    );
    assert.deepEqual(r.keys({ start: key(20), end: key(30) }), []);
    assert.equal(r.view(key(4))?.toString(), "value 4");
    assert.equal(r.view(key(40)), undefined);
    const v = r.view(Buffer.of(8, 0));
    assert.equal(v?.length, big.length);
    assert.ok(Buffer.from(v as Buffer).equals(big), "a copy of a view is the value");
    const h = r.view(Buffer.of(8, 1)) as Buffer;
    assert.ok(Buffer.isBuffer(h), "a view is a Buffer, also of a value past 16 MiB");
    assert.equal(h.length, huge.length);
    assert.equal(h.readUInt32BE(h.length - 4), 0x05050505);
    assert.ok(Buffer.from(h).equals(huge));
    // A small value after a large one: the view is exactly the small value.
    const small = r.view(key(2)) as Buffer;
    assert.equal(small.length, 7);
    assert.equal(Buffer.from(small).toString(), "value 2");
  });
  kv.read((r) => {
    const seen: string[] = [];
    const n = r.scan(all, (k, v) => {
      seen.push(`${k[1]}=${v.toString()}`); // read during the visit: a view is valid only then
      return true;
    });
    assert.equal(n, 9);
    assert.deepEqual(
      seen,
      Array.from({ length: 9 }, (_, i) => `${i + 1}=value ${i + 1}`),
    );
    const firstThree: number[] = [];
    assert.equal(
      r.scan(all, (k) => firstThree.push(k[1] as number) < 3),
      3,
      "false stops the walk after that entry",
    );
    assert.deepEqual(firstThree, [1, 2, 3]);
    const limited: string[] = [];
    r.scan({ start: key(3), end: key(9), limit: 2 }, (k, v) => limited.push(`${k[1]}=${v.toString()}`) > 0);
    assert.deepEqual(limited, ["3=value 3", "4=value 4"]);
    const reversed: number[] = [];
    r.scan({ start: key(3), end: key(6), reverse: true }, (k) => reversed.push(k[1] as number) > 0);
    assert.deepEqual(reversed, [5, 4, 3]);
    assert.equal(
      r.scan({ start: key(20), end: key(30) }, () => true),
      0,
    );
    // Large values between small ones: each view is exactly its value while it is visited.
    const sizes: number[] = [];
    r.scan({ start: key(9), end: Buffer.of(8, 2) }, (k, v) => {
      sizes.push(v.length);
      if (k[0] === 8 && k[1] === 0) assert.ok(Buffer.from(v).equals(big));
      if (k[0] === 8 && k[1] === 1) assert.equal(v.readUInt32BE(v.length - 4), 0x05050505);
      if (k[0] === 7) assert.equal(v.toString(), "value 9");
      return true;
    });
    assert.deepEqual(sizes, [7, big.length, huge.length]);
  });
  // Keys of different lengths, read as views: each is exactly its key while it is visited.
  await kv.write((w) => {
    for (const k of [Buffer.of(9, 1), Buffer.of(9, 1, 2), Buffer.of(9, 2), Buffer.of(9, 2, 0, 7)]) w.put(k, k);
  });
  kv.read((r) => {
    const mixed = { start: Buffer.of(9), end: Buffer.of(10) };
    const forward: string[] = [];
    r.scan(mixed, (k, v) => forward.push(`${k.toString("hex")}=${v.toString("hex")}`) > 0);
    assert.deepEqual(forward, ["0901=0901", "090102=090102", "0902=0902", "09020007=09020007"]);
    const backward: string[] = [];
    r.scan({ ...mixed, reverse: true }, (k) => backward.push(k.toString("hex")) > 0);
    assert.deepEqual(backward, ["09020007", "0902", "090102", "0901"]);
  });
  await kv.write((w) => {
    w.put(key(10), Buffer.from("new"));
    const scanned: string[] = [];
    w.scan({ start: key(9), end: key(255) }, (k, v) => scanned.push(`${k[1]}=${v.toString()}`) > 0);
    assert.deepEqual(scanned, ["9=value 9", "10=new"], "a scan in a write transaction sees its writes");
    assert.equal(w.view(key(10))?.toString(), "new", "a write transaction sees its own writes");
    assert.deepEqual(
      w.keys({ start: key(9), end: key(255) }).map((k) => k[1]),
      [9, 10],
    );
  });
}

describe("kv keys and views", () => {
  it("memory engine", async () => {
    const kv = new MemoryKv();
    await check(kv);
    await kv.close();
  });

  it("lmdb engine", async () => {
    const path = await mkdtemp(join(tmpdir(), "storefix-kv-"));
    const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 128 * 1024 * 1024 });
    try {
      await check(kv);
    } finally {
      await kv.close();
      await rm(path, { recursive: true, force: true });
    }
  });
});
