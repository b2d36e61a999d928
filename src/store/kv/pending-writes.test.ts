/**
 * The reader of a write callback over writes not committed yet (pending-writes.ts): against a
 * model (a plain map with every write applied in order), random committed data, earlier writes'
 * pending puts and deletes and the callback's own give the same answers to get, view, range,
 * keys and scan, forwards and backwards, with and without limits.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KvRange, KvReader } from "./kv.js";
import { MemoryKv } from "./memory-kv.js";
import { type Pending, PendingWriter, PendingWrites } from "./pending-writes.js";

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyOf = (n: number) => Buffer.of(3, n >> 4, n & 15);
const str = (b: Buffer) => b.toString("latin1");

/** The model's answer to a range: its sorted entries in [start, end), reversed and limited as asked. */
function modelRange(model: Map<string, Buffer>, { start, end, limit, reverse }: KvRange): [string, string][] {
  const lo = str(start);
  const hi = str(end);
  let keys = [...model.keys()].filter((k) => k >= lo && k < hi).sort();
  if (reverse) keys.reverse();
  if (limit !== undefined) keys = keys.slice(0, limit);
  return keys.map((k) => [k, (model.get(k) as Buffer).toString()]);
}

function walk(r: KvReader, range: KvRange): [string, string][] {
  const out: [string, string][] = [];
  r.scan(range, (k, v) => out.push([str(k), v.toString()]) > 0);
  return out;
}

describe("pending writes", () => {
  it("pending writes - a callback reads committed data under earlier pending writes and its own, as the model", async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = random(seed);
      const kv = new MemoryKv();
      const model = new Map<string, Buffer>();
      await kv.write((w) => {
        for (let i = 0; i < 40; i++) {
          const k = keyOf(Math.floor(rnd() * 200));
          const v = Buffer.from(`c${i}`);
          w.put(k, v);
          model.set(str(k), v);
        }
      });
      const pending = new PendingWrites();
      const earlier: Pending[][] = [];
      const apply = (ops: Pending[]) => {
        for (const p of ops) {
          if (p.value === undefined) model.delete(str(p.key));
          else model.set(str(p.key), p.value);
        }
      };
      kv.read((base) => {
        // Three earlier writes, pending; then this callback's own writes.
        for (let w = 0; w < 3; w++) {
          const writer = new PendingWriter(base, pending);
          for (let i = 0; i < 15; i++) {
            const k = keyOf(Math.floor(rnd() * 200));
            if (rnd() < 0.4) writer.del(k);
            else writer.put(k, Buffer.from(`p${w}.${i}`));
          }
          pending.add(writer.ops);
          apply(writer.ops);
          earlier.push(writer.ops);
        }
        const own = new PendingWriter(base, pending);
        for (let i = 0; i < 10; i++) {
          const k = keyOf(Math.floor(rnd() * 200));
          if (rnd() < 0.4) own.del(k);
          else own.put(k, Buffer.from(`o${i}`));
        }
        apply(own.ops);
        for (let q = 0; q < 30; q++) {
          const a = Math.floor(rnd() * 210);
          const b = a + Math.floor(rnd() * 80);
          const range: KvRange = {
            start: keyOf(a),
            end: keyOf(b),
            reverse: rnd() < 0.5,
            limit: rnd() < 0.5 ? Math.floor(rnd() * 12) : undefined,
          };
          const expected = modelRange(model, range);
          const where = `seed ${seed}, query ${q}`;
          assert.deepEqual(walk(own, range), expected, `scan, ${where}`);
          assert.deepEqual(
            own.range(range).map((e) => [str(e.key), e.value.toString()]),
            expected,
            `range, ${where}`,
          );
          assert.deepEqual(
            own.keys(range).map(str),
            expected.map(([k]) => k),
            `keys, ${where}`,
          );
          const k = keyOf(a);
          assert.equal(own.get(k)?.toString(), model.get(str(k))?.toString(), `get, ${where}`);
          assert.equal(own.view(k)?.toString(), model.get(str(k))?.toString(), `view, ${where}`);
        }
      });
      // Settling the earliest write drops only its entries that no later write replaced.
      const first = earlier[0] as Pending[];
      pending.settle(first);
      for (const p of first) {
        const later = earlier.slice(1).some((ops) => ops.some((o) => o.key.equals(p.key)));
        assert.equal(pending.get(str(p.key)) !== undefined, later, `seed ${seed}: settled entries go`);
      }
    }
  });

  it("pending writes - a put copies its value; an empty or oversized key is refused before it is recorded", () => {
    const kv = new MemoryKv();
    kv.read((base) => {
      const w = new PendingWriter(base, new PendingWrites());
      const value = Buffer.from("abc");
      w.put(keyOf(1), value);
      value.fill(0);
      assert.equal(w.get(keyOf(1))?.toString(), "abc");
      assert.throws(() => w.put(Buffer.alloc(0), value), /1 to 1978 bytes/);
      assert.throws(() => w.del(Buffer.alloc(1979)), /1 to 1978 bytes/);
      assert.equal(w.ops.length, 1);
    });
  });
});
