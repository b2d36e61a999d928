/** The log value codec: round trips, encoding into a slab slice, and the slab's bounds. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rec } from "../../../test/store/conformance/helpers.js";
import type { AppendRecord } from "../store.js";
import { appendSlabBytes, ValueSlab } from "./append.js";
import { formatGeneratedId, parseGeneratedId } from "./generated-id.js";
import {
  decodeMessage,
  encodedMessageBytes,
  encodeMessage,
  messageAttributes,
  messageDataBytes,
  messageId,
  messageMeta,
  messageOrderingKey,
} from "./message-codec.js";

const record = (overrides: Partial<AppendRecord> = {}): AppendRecord =>
  rec("", { data: new Uint8Array([1, 2, 3]), ...overrides });

const CASES: Array<{ name: string; r: AppendRecord; id: string }> = [
  { name: "plain, generated id", r: record(), id: formatGeneratedId(7, 42) },
  { name: "empty data", r: record({ data: new Uint8Array(0) }), id: "x" },
  {
    name: "every field, multi-byte text",
    r: record({
      id: "ид-é",
      data: new Uint8Array(1024).fill(0x61),
      attributes: { ключ: "значение", a: "", "": "empty key stored as given" },
      priority: 9,
      orderingKey: "κλειδί",
      deliverAtMs: 1_700_000_000_123,
      expireAtMs: 1_700_000_999_000,
    }),
    id: "ид-é",
  },
  {
    name: "data as a view into a larger buffer",
    r: record({ data: Buffer.from("--payload--").subarray(2, 9) }),
    id: "v",
  },
];

describe("message codec", () => {
  for (const { name, r, id } of CASES) {
    it(`round trip - ${name}`, () => {
      const generated = r.id === "";
      const buf = encodeMessage(r, id, 1_700_000_000_000, 3, generated);
      assert.equal(buf.length, encodedMessageBytes(r, id));
      const m = decodeMessage(buf, "t", 5);
      assert.deepEqual(
        { ...m, data: Buffer.from(m.data) },
        {
          topic: "t",
          seq: 5,
          id,
          data: Buffer.from(r.data),
          attributes: r.attributes,
          publishTimeMs: 1_700_000_000_000,
          priority: r.priority,
          orderingKey: r.orderingKey,
          deliverAtMs: r.deliverAtMs,
          expireAtMs: r.expireAtMs,
        },
      );
      assert.deepEqual(messageAttributes(buf), r.attributes);
      assert.equal(messageId(buf), id);
      assert.equal(messageOrderingKey(buf), r.orderingKey);
      assert.equal(messageDataBytes(buf), r.data.length);
      assert.deepEqual(messageMeta(buf), {
        size: r.data.length,
        priority: r.priority,
        publishMs: 1_700_000_000_000,
        deliverAtMs: r.deliverAtMs,
        expireAtMs: r.expireAtMs,
        id,
        onlyFor: 3,
        generatedId: generated,
      });
    });
  }

  it("encoding into a slice of a shared buffer writes the same bytes and nothing outside it", () => {
    const r = CASES[2]?.r as AppendRecord;
    const alone = encodeMessage(r, r.id, 1, 0, false);
    const shared = Buffer.alloc(alone.length + 20, 0xee);
    const into = shared.subarray(10, 10 + alone.length);
    assert.equal(encodeMessage(r, r.id, 1, 0, false, into), into);
    assert.deepEqual(into, alone);
    assert.ok(shared.subarray(0, 10).every((b) => b === 0xee));
    assert.ok(shared.subarray(10 + alone.length).every((b) => b === 0xee));
  });

  it("times whose bytes are mostly zero read back exactly (the zero fast path reads only +0 as 0)", () => {
    // 5e-324: the smallest subnormal, only its last byte set; -0: only its sign bit; 2 ** -1066: the next to last byte.
    for (const t of [0, -0, 5e-324, 2 ** -1066, 1, Number.MAX_VALUE]) {
      const buf = encodeMessage(record({ deliverAtMs: t, expireAtMs: t }), "x", 1, 0, false);
      const m = decodeMessage(buf, "t", 1);
      assert.ok(Object.is(m.deliverAtMs, t), `deliverAtMs ${m.deliverAtMs} for ${t}`);
      assert.ok(Object.is(m.expireAtMs, t), `expireAtMs ${m.expireAtMs} for ${t}`);
      assert.ok(Object.is(messageMeta(buf).deliverAtMs, t));
      assert.ok(Object.is(messageMeta(buf).expireAtMs, t));
    }
  });

  it("a target of the wrong size is refused", () => {
    const r = record();
    const size = encodedMessageBytes(r, "id");
    assert.throws(() => encodeMessage(r, "id", 1, 0, false, Buffer.alloc(size + 1)), /buffer of/);
  });
});

describe("value slab", () => {
  it("hands out disjoint buffers of the asked sizes, and its own buffer past its end", () => {
    const slab = new ValueSlab(10);
    const a = slab.take(4);
    const b = slab.take(6);
    const c = slab.take(1);
    assert.deepEqual([a.length, b.length, c.length], [4, 6, 1]);
    assert.equal(a.buffer, b.buffer);
    assert.equal(b.byteOffset, a.byteOffset + 4);
    a.fill(1);
    b.fill(2);
    c.fill(3);
    assert.deepEqual([...a, ...b], [1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  it("is big enough for every value of an append, generated ids at their longest", () => {
    const records = [record(), record({ id: "client-id", attributes: { k: "v" } }), record({ orderingKey: "o" })];
    const ids = [formatGeneratedId(0xffffffff, Number.MAX_SAFE_INTEGER), "client-id", formatGeneratedId(1, 1)];
    const needed = records.reduce((sum, r, i) => sum + encodedMessageBytes(r, ids[i] as string), 0);
    assert.ok(appendSlabBytes(records) >= needed, `${appendSlabBytes(records)} < ${needed}`);
    const slab = new ValueSlab(appendSlabBytes(records));
    const first = slab.take(encodedMessageBytes(records[0] as AppendRecord, ids[0] as string));
    for (let i = 1; i < records.length; i++) {
      assert.equal(slab.take(encodedMessageBytes(records[i] as AppendRecord, ids[i] as string)).buffer, first.buffer);
    }
  });
});

describe("generated ids", () => {
  it("format per topic, also when topics alternate, and parse back", () => {
    const cases: Array<[number, number, string]> = [
      [1, 5, "sy-1-5"],
      [2, 36, "sy-2-10"],
      [1, 35, "sy-1-z"],
      [1, 36, "sy-1-10"],
      [0xffffffff, Number.MAX_SAFE_INTEGER, `sy-1z141z3-${Number.MAX_SAFE_INTEGER.toString(36)}`],
      [2, 1, "sy-2-1"],
    ];
    for (const [topicId, seq, id] of cases) {
      assert.equal(formatGeneratedId(topicId, seq), id);
      assert.deepEqual(parseGeneratedId(id), { topicId, seq });
    }
  });
});
