/**
 * Conformance: random sequences of appends (with delays), leases, acks, nacks, time passing,
 * Seek (seq and time), snapshots (create, delete, Seek to) and retention sweeps on a topic that
 * retains acked messages, against a small model of the contract, with fast-check. Checks
 * deliveries, attempts, settle outcomes and every counter after every step.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { BrokerError } from "../../../src/errors/index.js";
import type { SettleOutcome, Store } from "../../../src/store/index.js";
import { lease, rec, type StoreFactory, setup, subSettings, T0, topicSettings } from "./helpers.js";

const RETAIN_MS = 300;
const NUM_RUNS = Number(process.env.STORE_MODEL_RUNS ?? 100);
const SEED = Number(process.env.STORE_MODEL_SEED ?? 515151);

type Op =
  | { kind: "append"; messages: { priority: number; delayMs: number; size: number }[] }
  | { kind: "lease"; max: number; leaseMs: number }
  | { kind: "ack"; pick: number }
  | { kind: "nack"; pick: number; delayMs: number }
  | { kind: "advance"; ms: number }
  | { kind: "seek"; pick: number }
  | { kind: "seekTime"; backMs: number }
  | { kind: "snapshot"; k: number }
  | { kind: "deleteSnapshot"; k: number }
  | { kind: "seekSnapshot"; k: number }
  | { kind: "sweep" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      messages: fc.array(
        fc.record({
          priority: fc.nat(2),
          delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
          size: fc.nat(20),
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
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), pick: fc.nat(50) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("nack" as const), pick: fc.nat(50), delayMs: fc.nat(300) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("seek" as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("seekTime" as const), backMs: fc.nat(600) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("snapshot" as const), k: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteSnapshot" as const), k: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("seekSnapshot" as const), k: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const) }) },
);

interface ModelMessage {
  seq: number;
  id: string;
  priority: number;
  bytes: number;
  publishMs: number;
  deliverAtMs: number;
  state: "ready" | "leased" | "delayed" | "acked";
  attempts: number;
  dueMs: number;
  /** In the log: held by the subscription or a snapshot, or retained. */
  stored: boolean;
}

/** One topic retaining acked messages for RETAIN_MS, one subscription, snapshots. */
class Model {
  lastSeq = 0;
  readonly messages = new Map<number, ModelMessage>();
  readonly snapshots = new Map<string, { seqs: Set<number>; lastSeq: number }>();

  constructor(public nowMs: number) {}

  private held(m: ModelMessage): boolean {
    return m.state !== "acked";
  }

  /** After a holder let go: no holder left → retained while its retention lasts, else gone. */
  private released(m: ModelMessage): void {
    const snapHolders = [...this.snapshots.values()].filter((s) => s.seqs.has(m.seq)).length;
    if (this.held(m) || snapHolders > 0) return;
    if (m.publishMs + RETAIN_MS <= this.nowMs) m.stored = false;
  }

  append(records: { id: string; priority: number; delayMs: number; bytes: number }[]): void {
    for (const r of records) {
      const seq = ++this.lastSeq;
      const delayed = r.delayMs > 0;
      this.messages.set(seq, {
        seq,
        id: r.id,
        priority: r.priority,
        bytes: r.bytes,
        publishMs: this.nowMs,
        deliverAtMs: delayed ? this.nowMs + r.delayMs : 0,
        state: delayed ? "delayed" : "ready",
        attempts: 0,
        dueMs: delayed ? this.nowMs + r.delayMs : 0,
        stored: true,
      });
    }
  }

  lease(max: number, leaseMs: number): ModelMessage[] {
    for (const m of this.messages.values()) {
      if ((m.state === "leased" || m.state === "delayed") && m.dueMs <= this.nowMs) m.state = "ready";
    }
    return [...this.messages.values()]
      .filter((m) => m.state === "ready")
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .slice(0, max)
      .map((m) => {
        m.state = "leased";
        m.attempts++;
        m.dueMs = this.nowMs + leaseMs;
        return { ...m };
      });
  }

  settle(seq: number, attempt: number): SettleOutcome {
    const m = this.messages.get(seq);
    if (!m || m.state === "acked") return "unknown";
    return m.attempts === attempt ? "ok" : "stale";
  }

  ack(seq: number): void {
    const m = this.messages.get(seq) as ModelMessage;
    m.state = "acked";
    this.released(m);
  }

  nack(seq: number, delayMs: number): void {
    const m = this.messages.get(seq) as ModelMessage;
    m.state = delayMs > 0 ? "delayed" : "ready";
    m.dueMs = this.nowMs + delayMs;
  }

  /** The subscription holds exactly the stored messages `wanted` says. */
  private moveTo(wanted: (m: ModelMessage) => boolean): void {
    for (const m of this.messages.values()) {
      if (this.held(m) && !wanted(m)) this.ack(m.seq);
    }
    for (const m of this.messages.values()) {
      if (!m.stored || this.held(m) || !wanted(m)) continue;
      m.attempts = 0;
      m.state = m.deliverAtMs > this.nowMs ? "delayed" : "ready";
      m.dueMs = m.state === "delayed" ? m.deliverAtMs : 0;
    }
  }

  seek(seq: number): void {
    this.moveTo((m) => m.seq >= seq);
  }

  seqAtTime(timeMs: number): number {
    const first = [...this.messages.values()].find((m) => m.stored && m.publishMs >= timeMs);
    return first ? first.seq : this.lastSeq + 1;
  }

  snapshot(name: string): number {
    const seqs = new Set([...this.messages.values()].filter((m) => this.held(m)).map((m) => m.seq));
    this.snapshots.set(name, { seqs, lastSeq: this.lastSeq });
    return seqs.size;
  }

  deleteSnapshot(name: string): void {
    const snap = this.snapshots.get(name) as { seqs: Set<number> };
    this.snapshots.delete(name);
    for (const seq of snap.seqs) {
      const m = this.messages.get(seq) as ModelMessage;
      if (m.stored) this.released(m);
    }
  }

  seekSnapshot(name: string): void {
    const snap = this.snapshots.get(name) as { seqs: Set<number>; lastSeq: number };
    this.moveTo((m) => m.stored && (snap.seqs.has(m.seq) || m.seq > snap.lastSeq));
  }

  sweep(): number {
    let removed = 0;
    for (const m of this.messages.values()) {
      const snapHeld = [...this.snapshots.values()].some((s) => s.seqs.has(m.seq));
      if (m.stored && !this.held(m) && !snapHeld && m.publishMs + RETAIN_MS <= this.nowMs) {
        m.stored = false;
        removed++;
      }
    }
    return removed;
  }

  count(state: ModelMessage["state"]): number {
    return [...this.messages.values()].filter((m) => m.state === state).length;
  }
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof BrokerError) return e.reason;
    throw e;
  }
}

interface Token {
  token: string;
  seq: number;
  attempt: number;
}

async function step(store: Store, topic: string, model: Model, op: Op, tokens: Token[], at: string): Promise<void> {
  const now = model.nowMs;
  const snapName = (k: number) => `${topic}-s${k}`;
  switch (op.kind) {
    case "append": {
      const records = op.messages.map((m, i) => ({
        id: `${model.lastSeq + i + 1}`,
        priority: m.priority,
        delayMs: m.delayMs,
        bytes: m.size,
      }));
      const appended = records.map((r) =>
        rec(`id${r.id}`, {
          data: Buffer.alloc(r.bytes, 7),
          priority: r.priority,
          deliverAtMs: r.delayMs > 0 ? now + r.delayMs : 0,
        }),
      );
      await store.append(topic, appended, now);
      model.append(records);
      return;
    }
    case "lease": {
      const got = await lease(store, topic, op.max, now, op.leaseMs);
      const want = model.lease(op.max, op.leaseMs);
      assert.deepEqual(
        got.map((r) => [r.message.seq, r.attempt]),
        want.map((m) => [m.seq, m.attempts]),
        at,
      );
      for (const r of got) tokens.push({ token: r.token, seq: r.message.seq, attempt: r.attempt });
      return;
    }
    case "ack":
    case "nack": {
      const tok = tokens[op.pick % Math.max(1, tokens.length)];
      if (!tok) return;
      const want = model.settle(tok.seq, tok.attempt);
      const targets = { tokens: [tok.token], messageIds: [] };
      if (op.kind === "ack") {
        assert.deepEqual(await store.ack(topic, targets, now), [want], at);
        if (want === "ok") model.ack(tok.seq);
      } else {
        assert.deepEqual(await store.nack(topic, targets, now + op.delayMs, now), [want], at);
        if (want === "ok") model.nack(tok.seq, op.delayMs);
      }
      return;
    }
    case "advance":
      model.nowMs += op.ms;
      return;
    case "seek": {
      const seq = 1 + (op.pick % (model.lastSeq + 1));
      await store.seek(topic, { kind: "seq", seq }, now);
      model.seek(seq);
      return;
    }
    case "seekTime": {
      const timeMs = now - op.backMs;
      assert.equal(await store.seqAtTime(topic, timeMs), model.seqAtTime(timeMs), `${at}: seqAtTime`);
      await store.seek(topic, { kind: "time", timeMs }, now);
      model.seek(model.seqAtTime(timeMs));
      return;
    }
    case "snapshot": {
      const name = snapName(op.k);
      if (model.snapshots.has(name)) {
        assert.equal(await reason(store.createSnapshot(name, topic, now)), "ALREADY_EXISTS", at);
        return;
      }
      const snap = await store.createSnapshot(name, topic, now);
      assert.deepEqual([snap.messages, snap.lastSeq], [model.snapshot(name), model.lastSeq], at);
      return;
    }
    case "deleteSnapshot":
    case "seekSnapshot": {
      const name = snapName(op.k);
      const call =
        op.kind === "deleteSnapshot"
          ? store.deleteSnapshot(name, now)
          : store.seek(topic, { kind: "snapshot", name }, now);
      if (!model.snapshots.has(name)) {
        assert.equal(await reason(call), "SNAPSHOT_NOT_FOUND", at);
        return;
      }
      await call;
      if (op.kind === "deleteSnapshot") model.deleteSnapshot(name);
      else model.seekSnapshot(name);
      return;
    }
    case "sweep":
      {
        const { removed, more } = await store.sweepRetention(now, 10_000);
        assert.deepEqual({ removed, more }, { removed: model.sweep(), more: false }, at);
      }
      return;
  }
}

async function checkCounters(store: Store, topic: string, model: Model, at: string): Promise<void> {
  const c = await store.subscriptionCounters(topic);
  const held = [...model.messages.values()].filter((m) => m.state !== "acked");
  assert.deepEqual(
    [c.unacked, c.inFlight, c.delayed],
    [held.length, model.count("leased"), model.count("delayed")],
    `${at}: subscription counters`,
  );
  const dues = [...model.messages.values()].filter((m) => m.state === "leased" || m.state === "delayed");
  const nextDue = dues.length === 0 ? undefined : Math.min(...dues.map((m) => m.dueMs));
  assert.equal(await store.nextDueMs(topic), nextDue, `${at}: nextDueMs`);
  const stored = [...model.messages.values()].filter((m) => m.stored);
  assert.deepEqual(
    await store.topicCounters(topic),
    {
      messages: stored.length,
      bytes: stored.reduce((n, m) => n + m.bytes, 0),
      lastSeq: model.lastSeq,
      subscriptions: 1,
    },
    `${at}: topic counters`,
  );
  const page = await store.readLog(topic, 1, 1000, Number.MAX_SAFE_INTEGER, model.nowMs);
  assert.deepEqual(
    page.messages.map((m) => m.seq),
    stored.map((m) => m.seq),
    `${at}: the stored log`,
  );
}

export function replayModelCases(factory: StoreFactory): void {
  it("replay model - random seek/snapshot/retention sequences match the model", async (t) => {
    const { store } = await setup(t, factory);
    let run = 0;
    let clock = T0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const topic = `replay-${run++}`;
        await store.createTopic(topicSettings(topic, { retainAckedMs: RETAIN_MS }), clock, subSettings(topic, topic));
        const model = new Model(clock);
        const tokens: Token[] = [];
        for (const [i, op] of ops.entries()) {
          const at = `step ${i} ${JSON.stringify(op)}`;
          await step(store, topic, model, op, tokens, at);
          await checkCounters(store, topic, model, at);
        }
        clock = model.nowMs + 10_000;
        await store.deleteTopic(topic); // so sweeps of later runs see only their own topic
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
}
