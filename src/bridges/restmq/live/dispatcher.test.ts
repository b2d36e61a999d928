/**
 * The live dispatcher on a real core (memory store, fake clock) through in-process clients, with
 * consumers over a fake transport. Races are made deterministic by holding the answer of the
 * dispatcher's Pull back (after the broker leased) while the test changes the world.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import {
  answerGate,
  type InProcessBroker,
  refuseMethods,
  startInProcessBroker,
} from "../../../../test/helpers/in-process-clients.js";
import { waitUntil } from "../../../../test/helpers/restmq-live.js";
import { silentLogger } from "../../../util/index.js";
import type { BrokerClients } from "../../bridge.js";
import { pyJson } from "../py-json.js";
import { QueueLocks } from "../queue-locks.js";
import { elementOf } from "../queue-ops.js";
import { createSettingsStore, ROUNDROBIN, type SettingsStore } from "../settings.js";
import { type EndReason, LiveConsumer, type LiveElement } from "./consumer.js";
import { Presence } from "./presence.js";

/** A consumer whose output is flushed at once (always ready) unless `stalled`. */
class FakeConsumer extends LiveConsumer {
  readonly values: string[] = [];
  endedAs: EndReason | undefined;
  stalled = false;
  constructor(queue: string, clients: BrokerClients) {
    super(queue, clients, { highWaterBytes: 1000, maxBufferedBytes: 10_000 });
  }
  protected frame(e: LiveElement): string {
    return e.json;
  }
  protected transmit(frame: string, flushed: () => void): void {
    this.values.push((JSON.parse(frame) as { value: string }).value);
    if (!this.stalled) flushed();
  }
  protected close(reason: EndReason): void {
    this.endedAs = reason;
  }
}

interface Setup extends InProcessBroker {
  presence: Presence;
  settings: SettingsStore;
  attach(queue: string, clients?: BrokerClients): FakeConsumer;
  publish(queue: string, ...values: string[]): Promise<void>;
  /** Messages of `queue` not acked: available (with their next delivery attempt) and leased. */
  state(queue: string): Promise<{ available: [string, number][]; inFlight: number }>;
}

async function setup(t: TestContext, interceptors: Interceptor[] = []): Promise<Setup> {
  const broker = startInProcessBroker(t, { interceptors });
  const { clients } = broker;
  const shutdown = new AbortController();
  const settings = createSettingsStore(clients, "settings");
  await settings.ready();
  const presence = new Presence(
    {
      clients,
      settings,
      locks: new QueueLocks(),
      logger: silentLogger,
      shutdownSignal: shutdown.signal,
      render(queue, m) {
        const e = elementOf(queue, m);
        return { key: e.key, json: pyJson({ key: e.key, value: e.value }) };
      },
      batch: 10,
      pullWaitMs: 30_000,
      leaseMs: 60_000,
    },
    { maxConsumers: 100 },
  );
  t.after(async () => {
    shutdown.abort();
    await presence.closeAll(5_000);
  });
  return {
    ...broker,
    presence,
    settings,
    attach(queue, own = clients) {
      const c = new FakeConsumer(queue, own);
      presence.reserve()?.attach(c);
      return c;
    },
    async publish(queue, ...values) {
      await clients.publisher.publish({ topic: queue, messages: values.map((v) => ({ data: Buffer.from(v) })) });
    },
    async state(queue) {
      const { messages } = await clients.subscriber.peek({ subscription: queue, maxMessages: 100 });
      const { subscriptions } = await clients.admin.getStats({ topics: [queue] });
      return {
        available: messages.map((m) => [Buffer.from(m.message?.data ?? []).toString(), m.deliveryAttempt]),
        inFlight: Number(subscriptions[0]?.inFlight ?? -1n),
      };
    },
  };
}

describe("restmq live dispatcher", () => {
  it("restmq - the last consumer leaving while a batch is leased gives the batch back at once", async (t) => {
    const gate = answerGate("Pull");
    const s = await setup(t, [gate.interceptor]);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    const c = s.attach("q");
    await s.publish("q", "x");
    await gate.held(); // the broker leased "x"; its answer is on the way
    c.end("gone");
    gate.open();
    await s.presence.closeAll(5_000);
    assert.deepEqual(c.values, []);
    assert.deepEqual(await s.state("q"), { available: [["x", 2]], inFlight: 0 }, "available again, not hidden");
  });

  it("restmq - a stop while a batch is leased gives it back; start delivers it", async (t) => {
    const gate = answerGate("Pull");
    const s = await setup(t, [gate.interceptor]);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    const c = s.attach("q");
    await s.publish("q", "x");
    await gate.held();
    await s.settings.set("q", { status: 0 });
    gate.open();
    await waitUntil(async () => (await s.state("q")).inFlight === 0, "the batch to be given back");
    assert.deepEqual(c.values, []);
    assert.deepEqual((await s.state("q")).available, [["x", 2]]);
    await s.settings.set("q", { status: 1 });
    await waitUntil(() => c.values.length === 1, "the element after start");
    assert.deepEqual(c.values, ["x"]);
  });

  it("restmq - a stop ends the wait at once and leases nothing while stopped", async (t) => {
    const gate = answerGate("Pull", false);
    const s = await setup(t, [gate.interceptor]);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    const c = s.attach("q");
    await s.settings.set("q", { status: 0 });
    await s.publish("q", "a", "b");
    assert.deepEqual(await s.state("q"), {
      available: [
        ["a", 1],
        ["b", 1],
      ],
      inFlight: 0,
    });
    assert.equal(gate.calls(), 0, "no Pull while stopped");
    assert.deepEqual(c.values, []);
  });

  it("restmq - round-robin with one ready consumer leases a whole batch per Pull", async (t) => {
    const gate = answerGate("Pull", false);
    const s = await setup(t, [gate.interceptor]);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    await s.settings.set("q", { policy: ROUNDROBIN });
    await s.publish("q", ...Array.from({ length: 10 }, (_, i) => `e${i}`));
    const c = s.attach("q");
    await waitUntil(() => c.values.length === 10, "10 elements");
    assert.equal(gate.calls(), 1, "one Pull for the batch");
    // The elements reach the consumer before the dispatcher's Ack is answered.
    await waitUntil(async () => (await s.state("q")).inFlight === 0, "the batch's ack");
    assert.deepEqual(await s.state("q"), { available: [], inFlight: 0 });
  });

  it("restmq - round-robin skips a consumer that was behind when the batch came, without dropping it", async (t) => {
    const s = await setup(t);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    await s.settings.set("q", { policy: ROUNDROBIN });
    const behind = s.attach("q");
    behind.stalled = true;
    await s.publish("q", "x".repeat(1500)); // takes `behind` past its high-water mark if it gets it
    const fresh = s.attach("q");
    await waitUntil(() => behind.values.length + fresh.values.length === 1, "the first element");
    await s.publish("q", ...Array.from({ length: 6 }, (_, i) => `e${i}`));
    await waitUntil(() => behind.values.length + fresh.values.length === 7, "7 elements");
    assert.equal(behind.values.length, 1, "the stalled consumer got only the element it was ready for");
    assert.equal(behind.isEnded(), false, "not dropped as slow");
  });

  it("restmq - the dispatcher pulls and acks with the bridge's clients, not the consumer's", async (t) => {
    const s = await setup(t);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    // This user may look (Peek) but not lease or settle: the shared Pull is not theirs to make.
    const user = s.clientsWith([refuseMethods("Pull", "Ack", "ModifyAckDeadline")]);
    const c = s.attach("q", user);
    await s.publish("q", "x");
    await waitUntil(() => c.values.length === 1, "the element");
    assert.equal(c.isEnded(), false);
    // The element reaches the consumer before the dispatcher's Ack is answered.
    await waitUntil(async () => (await s.state("q")).inFlight === 0, "the element's ack");
    assert.deepEqual(await s.state("q"), { available: [], inFlight: 0 });
  });

  it("restmq - a consumer whose user may no longer read the queue is ended at the next access check", async (t) => {
    const s = await setup(t);
    await s.clients.admin.createTopic({ name: "q", queue: true });
    let refused = false;
    const revocable: Interceptor = (next) => async (req) => {
      if (refused) return refuseMethods(req.method.name)(next)(req);
      return next(req);
    };
    const user = s.attach("q", s.clientsWith([revocable]));
    const server = s.attach("q");
    await s.presence.recheckAccess();
    assert.equal(user.isEnded(), false);
    refused = true;
    await s.presence.recheckAccess();
    assert.equal(user.endedAs, "denied");
    assert.equal(server.isEnded(), false, "the bridge's own clients are not checked");
  });

  it("restmq - a consumer of a queue that does not exist makes nothing, and is fed once the queue is made", async (t) => {
    const s = await setup(t);
    const c = s.attach("later");
    const { topics } = await s.clients.admin.getStats({});
    assert.deepEqual(
      topics.map((x) => x.name).filter((n) => n !== "settings"),
      [],
      "no queue was made for the consumer",
    );
    await s.clients.admin.createTopic({ name: "later", queue: true });
    s.presence.queueCreated("later");
    await s.publish("later", "first");
    await waitUntil(() => c.values.length === 1, "the first element");
    assert.deepEqual(c.values, ["first"]);
  });

  it("restmq - reservations hold the consumer cap while checks run; a released place is free again", (t) => {
    const presence = new Presence({ settings: { onChange: () => () => true } } as never, { maxConsumers: 2 });
    t.after(() => presence.closeAll(0));
    const a = presence.reserve();
    const b = presence.reserve();
    assert.ok(a && b);
    assert.equal(presence.reserve(), undefined, "a third would overshoot");
    a.release();
    a.release();
    const c = presence.reserve();
    assert.ok(c, "the released place");
    assert.equal(presence.reserve(), undefined);
    assert.equal(presence.size(), 0, "reserved places are no consumers yet");
  });
});
