import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Broker, SubscriptionChange } from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { createSubscriptionTopics } from "./subscription-topics.js";

/** The two things the cache uses of a broker: lookups (counted) and change events. */
function fakeBroker(topics: Map<string, string>) {
  const listeners: ((c: SubscriptionChange) => void)[] = [];
  let lookups = 0;
  const broker = {
    async getSubscription(name: string) {
      lookups++;
      const topic = topics.get(name);
      if (topic === undefined) throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `no subscription ${name}`);
      return { name, topic };
    },
    onSubscriptionChange(listener: (c: SubscriptionChange) => void) {
      listeners.push(listener);
      return () => {};
    },
  } as unknown as Broker;
  const change = (c: SubscriptionChange) => {
    for (const l of listeners) l(c);
  };
  return { broker, lookups: () => lookups, change };
}

describe("subscription topics", () => {
  it("subscription topics - a lookup once, then the topic at once until the subscription changes", async () => {
    const topics = new Map([["orders-sub", "orders"]]);
    const fake = fakeBroker(topics);
    const { topicOf } = createSubscriptionTopics(() => fake.broker);
    const first = topicOf("orders-sub");
    assert.ok(first instanceof Promise);
    assert.equal(await first, "orders");
    assert.equal(topicOf("orders-sub"), "orders"); // no promise, no lookup
    assert.equal(fake.lookups(), 1);
    topics.set("orders-sub", "billing");
    fake.change({ kind: "subscription", name: "orders-sub" });
    const again = topicOf("orders-sub");
    assert.ok(again instanceof Promise);
    assert.equal(await again, "billing");
    assert.equal(fake.lookups(), 2);
  });

  it("subscription topics - an unknown subscription is looked up each time; no broker yet answers undefined at once", async () => {
    const fake = fakeBroker(new Map());
    const { topicOf } = createSubscriptionTopics(() => fake.broker);
    assert.equal(await topicOf("nope"), undefined);
    assert.equal(await topicOf("nope"), undefined);
    assert.equal(fake.lookups(), 2);
    assert.equal(createSubscriptionTopics(() => undefined).topicOf("nope"), undefined);
  });
});
