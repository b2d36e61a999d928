/** Shared fixtures of the store conformance suite: settings builders, records, assertions. */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { BrokerError, type Reason } from "../../../src/errors/index.js";
import type {
  AppendRecord,
  LeasedRecord,
  Store,
  SubscriptionSettings,
  TopicSettings,
} from "../../../src/store/index.js";

/** What a backend under test provides: a fresh store, a way to reopen its data, and teardown. */
export interface StoreHarness {
  store: Store;
  /** Opens a new store on the same data (call `store.close()` first). */
  reopen(): Promise<Store>;
  /** Closes every store it opened and removes its data. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreHarness>;

/** The suite's epoch: every test passes explicit times from here on. */
export const T0 = 1_700_000_000_000;

/** Opens a harness and registers its cleanup with the test. */
export async function setup(t: TestContext, factory: StoreFactory): Promise<StoreHarness> {
  const h = await factory();
  t.after(() => h.cleanup());
  return h;
}

export function topicSettings(name: string, overrides: Partial<TopicSettings> = {}): TopicSettings {
  return {
    name,
    queue: false,
    dedupWindowMs: 60_000,
    dedupScope: "window",
    retainAckedMs: 0,
    maxMessages: 0,
    maxBytes: 0,
    maxAgeMs: 0,
    overflow: "reject",
    ...overrides,
  };
}

export function subSettings(
  name: string,
  topic: string,
  overrides: Partial<SubscriptionSettings> = {},
): SubscriptionSettings {
  return {
    name,
    topic,
    ackDeadlineMs: 10_000,
    maxDeliveryAttempts: 0,
    deadLetterTopic: "",
    retry: { minBackoffMs: 0, maxBackoffMs: 0 },
    start: { kind: "earliest" },
    filter: {},
    ordered: false,
    paused: false,
    expireAfterIdleMs: 0,
    push: null,
    ...overrides,
  };
}

/** A record with data `"<id>"` and no options unless overridden. */
export function rec(id: string, overrides: Partial<AppendRecord> = {}): AppendRecord {
  return {
    id,
    data: Buffer.from(id),
    attributes: {},
    priority: 0,
    orderingKey: "",
    deliverAtMs: 0,
    expireAtMs: 0,
    ...overrides,
  };
}

/** `n` plain records with ids `<prefix>1..<prefix>n`. */
export function recs(n: number, prefix = "m"): AppendRecord[] {
  return Array.from({ length: n }, (_, i) => rec(`${prefix}${i + 1}`));
}

/** A topic with one subscription of the same name that starts at the earliest message. */
export async function createQueue(
  store: Store,
  name: string,
  topic: Partial<TopicSettings> = {},
  sub: Partial<SubscriptionSettings> = {},
): Promise<void> {
  await store.createTopic(topicSettings(name, topic), T0, subSettings(name, name, sub));
}

/** Leases with the usual options: lease of 1 s unless told otherwise. */
export function lease(
  store: Store,
  subscription: string,
  max: number,
  nowMs: number,
  leaseMs = 1000,
): Promise<LeasedRecord[]> {
  return store.lease(subscription, { max, leaseMs, nowMs, autoAck: false });
}

export function seqsOf(records: readonly LeasedRecord[]): number[] {
  return records.map((r) => r.message.seq);
}

export function attemptsOf(records: readonly LeasedRecord[]): number[] {
  return records.map((r) => r.attempt);
}

export function tokensOf(records: readonly LeasedRecord[]): string[] {
  return records.map((r) => r.token);
}

/** Rejects with a BrokerError of this reason. */
export async function expectReason(promise: Promise<unknown>, reason: Reason): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof BrokerError, `expected a BrokerError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return true;
  });
}

/** Byte equality of a stored payload with what was appended. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "data"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${what}: bytes differ`);
}
