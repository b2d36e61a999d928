/**
 * Conformance: random operation sequences (append with dedup ids and delays, lease, peek, ack and
 * nack by token or id, time passing) against a small model of the contract, with fast-check.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import type { AppendResult, SettleOutcome, Store } from "../../../src/store/index.js";
import { lease, rec, type StoreFactory, setup, subSettings, T0, topicSettings } from "./helpers.js";

const DEDUP_WINDOW_MS = 300;
const NUM_RUNS = Number(process.env.STORE_MODEL_RUNS ?? 100);
const SEED = Number(process.env.STORE_MODEL_SEED ?? 424242);

type Op =
  | { kind: "append"; messages: { dedupId: number | null; priority: number; delayMs: number; size: number }[] }
  | { kind: "lease"; max: number; leaseMs: number }
  | { kind: "peek"; max: number }
  | { kind: "ack"; pick: number }
  | { kind: "nack"; pick: number; delayMs: number }
  | { kind: "ackId"; pick: number }
  | { kind: "advance"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      messages: fc.array(
        fc.record({
          dedupId: fc.option(fc.nat(3), { nil: null }),
          priority: fc.nat(3),
          delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
          size: fc.nat(40),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("lease" as const),
      max: fc.integer({ min: 1, max: 4 }),
      leaseMs: fc.integer({ min: 1, max: 500 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("peek" as const), max: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), pick: fc.nat(50) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("nack" as const),
      pick: fc.nat(50),
      delayMs: fc.oneof(fc.constant(0), fc.nat(300)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ackId" as const), pick: fc.nat(50) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 600 }) }) },
);

interface ModelMessage {
  seq: number;
  id: string;
  priority: number;
  bytes: number;
  state: "ready" | "leased" | "delayed" | "acked";
  /** Deliveries so far. */
  attempts: number;
  dueMs: number;
}

/** The contract, as plainly as it can be said: one topic, one subscription. */
class Model {
  lastSeq = 0;
  readonly messages = new Map<number, ModelMessage>();
  private readonly ids = new Map<string, { seq: number; publishMs: number }>();

  constructor(public nowMs: number) {}

  append(records: { id: string; priority: number; delayMs: number; bytes: number }[]): AppendResult[] {
    return records.map((r) => {
      const known = this.ids.get(r.id);
      if (known && known.publishMs + DEDUP_WINDOW_MS > this.nowMs) return { seq: known.seq, id: r.id, duplicate: true };
      const seq = ++this.lastSeq;
      this.ids.set(r.id, { seq, publishMs: this.nowMs });
      const delayed = r.delayMs > 0;
      const state = delayed ? "delayed" : "ready";
      const dueMs = delayed ? this.nowMs + r.delayMs : 0;
      this.messages.set(seq, { seq, id: r.id, priority: r.priority, bytes: r.bytes, state, attempts: 0, dueMs });
      return { seq, id: r.id, duplicate: false };
    });
  }

  private promote(): void {
    for (const m of this.messages.values()) {
      if ((m.state === "leased" || m.state === "delayed") && m.dueMs <= this.nowMs) m.state = "ready";
    }
  }

  available(max: number): ModelMessage[] {
    this.promote();
    return [...this.messages.values()]
      .filter((m) => m.state === "ready")
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .slice(0, max);
  }

  lease(max: number, leaseMs: number): ModelMessage[] {
    return this.available(max).map((m) => {
      m.state = "leased";
      m.attempts++;
      m.dueMs = this.nowMs + leaseMs;
      return { ...m };
    });
  }

  settleToken(seq: number, attempt: number): SettleOutcome {
    const m = this.messages.get(seq);
    if (!m || m.state === "acked") return "unknown";
    return m.attempts === attempt ? "ok" : "stale";
  }

  nack(seq: number, delayMs: number): void {
    const m = this.messages.get(seq) as ModelMessage;
    m.state = delayMs > 0 ? "delayed" : "ready";
    m.dueMs = this.nowMs + delayMs;
  }

  ackId(id: string): SettleOutcome {
    const entry = this.ids.get(id);
    const m = entry && this.messages.get(entry.seq);
    if (!m || m.state === "acked") return "unknown";
    m.state = "acked";
    return "ok";
  }

  count(state: ModelMessage["state"]): number {
    return [...this.messages.values()].filter((m) => m.state === state).length;
  }
}

interface Token {
  token: string;
  seq: number;
  attempt: number;
}

async function runOps(store: Store, topic: string, startMs: number, ops: readonly Op[]): Promise<number> {
  const model = new Model(startMs);
  const tokens: Token[] = [];
  const usedIds: string[] = [];
  let unique = 0;
  for (const [step, op] of ops.entries()) {
    const at = `step ${step} ${JSON.stringify(op)}`;
    const now = model.nowMs;
    switch (op.kind) {
      case "append": {
        const records = op.messages.map((m) => ({
          id: m.dedupId === null ? `u${unique++}` : `k${m.dedupId}`,
          priority: m.priority,
          delayMs: m.delayMs,
          bytes: m.size,
        }));
        usedIds.push(...records.map((r) => r.id));
        const appendRecords = records.map((r) =>
          rec(r.id, {
            data: Buffer.alloc(r.bytes, 7),
            priority: r.priority,
            deliverAtMs: r.delayMs > 0 ? now + r.delayMs : 0,
          }),
        );
        assert.deepEqual(await store.append(topic, appendRecords, now), model.append(records), at);
        break;
      }
      case "lease": {
        const got = await lease(store, topic, op.max, now, op.leaseMs);
        const want = model.lease(op.max, op.leaseMs);
        assert.deepEqual(
          got.map((r) => [r.message.seq, r.attempt, r.message.id]),
          want.map((m) => [m.seq, m.attempts, m.id]),
          at,
        );
        for (const r of got) tokens.push({ token: r.token, seq: r.message.seq, attempt: r.attempt });
        const c = await store.subscriptionCounters(topic);
        assert.deepEqual([c.inFlight, c.delayed], [model.count("leased"), model.count("delayed")], `${at}: counters`);
        const dues = [...model.messages.values()].filter((m) => m.state === "leased" || m.state === "delayed");
        const nextDue = dues.length === 0 ? undefined : Math.min(...dues.map((m) => m.dueMs));
        assert.equal(await store.nextDueMs(topic), nextDue, `${at}: nextDueMs`);
        break;
      }
      case "peek": {
        const got = await store.peek(topic, op.max, now);
        const want = model.available(op.max);
        assert.deepEqual(
          got.map((r) => [r.message.seq, r.attempt]),
          want.map((m) => [m.seq, m.attempts + 1]),
          at,
        );
        break;
      }
      case "ack":
      case "nack": {
        const tok = tokens[op.pick % Math.max(1, tokens.length)];
        if (!tok) break;
        const want = model.settleToken(tok.seq, tok.attempt);
        const targets = { tokens: [tok.token], messageIds: [] };
        if (op.kind === "ack") {
          assert.deepEqual(await store.ack(topic, targets, now), [want], at);
          if (want === "ok") (model.messages.get(tok.seq) as ModelMessage).state = "acked";
        } else {
          assert.deepEqual(await store.nack(topic, targets, now + op.delayMs, now), [want], at);
          if (want === "ok") model.nack(tok.seq, op.delayMs);
          tokens.splice(tokens.indexOf(tok), 1);
        }
        break;
      }
      case "ackId": {
        const id = usedIds[op.pick % Math.max(1, usedIds.length)];
        if (id === undefined) break;
        assert.deepEqual(await store.ack(topic, { tokens: [], messageIds: [id] }, now), [model.ackId(id)], at);
        break;
      }
      case "advance":
        model.nowMs += op.ms;
        break;
    }
    const unacked = [...model.messages.values()].filter((m) => m.state !== "acked");
    assert.equal((await store.subscriptionCounters(topic)).unacked, unacked.length, `${at}: unacked`);
    assert.deepEqual(
      await store.topicCounters(topic),
      {
        messages: unacked.length,
        bytes: unacked.reduce((n, m) => n + m.bytes, 0),
        lastSeq: model.lastSeq,
        subscriptions: 1,
      },
      `${at}: topic counters`,
    );
  }
  return model.nowMs;
}

export function modelCases(factory: StoreFactory): void {
  it("model - random append/lease/peek/ack/nack/time sequences match the model", async (t) => {
    const { store } = await setup(t, factory);
    let run = 0;
    let clock = T0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const name = `model-${run++}`;
        await store.createTopic(
          topicSettings(name, { dedupWindowMs: DEDUP_WINDOW_MS }),
          clock,
          subSettings(name, name),
        );
        clock = (await runOps(store, name, clock, ops)) + 10_000;
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
}
