import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import type { Stats } from "../../core/index.js";
import { createLabelBudget } from "./label-budget.js";
import { registerStatsMetrics } from "./stats-metrics.js";

type Sub = Stats["subscriptions"][number];

function sub(name: string, topic: string, extra: Partial<Sub> = {}): Sub {
  return {
    name,
    topic,
    backlog: 0,
    inFlight: 0,
    delayed: 0,
    consumers: 0,
    oldestUnackedAgeMs: 0,
    paused: false,
    deadLettered: 0,
    ...extra,
  };
}

/** The samples of one family as `labels → value`, via prom-client's own JSON view. */
async function samples(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `no ${name}`);
  return new Map(metric.values.map((v) => [JSON.stringify(v.labels), v.value]));
}

describe("metrics stats gauges", () => {
  it("metrics stats - per topic and subscription; push series only for push subscriptions; label values escaped", async () => {
    const registry = new Registry();
    const stats: Stats = {
      topics: [{ name: 'a"b\\c\nd', messages: 3, bytes: 30, lastSeq: 7, subscriptions: 2 }],
      subscriptions: [
        sub("jobs", 'a"b\\c\nd', { backlog: 3, inFlight: 1, oldestUnackedAgeMs: 1500, paused: true }),
        sub("hook", 'a"b\\c\nd', {
          push: { lastStatus: 503, consecutiveFailures: 2, nextAttemptTimeMs: 0, lastAttemptTimeMs: 0, lastError: "" },
        }),
      ],
    };
    registerStatsMetrics(registry, { stats: async () => stats, topics: createLabelBudget(10), maxSubscriptions: 10 });
    const topic = 'a"b\\c\nd';
    assert.deepEqual(await samples(registry, "switchyard_topic_last_seq"), new Map([[JSON.stringify({ topic }), 7]]));
    const backlog = await samples(registry, "switchyard_subscription_backlog");
    assert.equal(backlog.get(JSON.stringify({ subscription: "jobs", topic })), 3);
    const age = await samples(registry, "switchyard_subscription_oldest_unacked_age_seconds");
    assert.equal(age.get(JSON.stringify({ subscription: "jobs", topic })), 1.5);
    assert.equal(
      (await samples(registry, "switchyard_subscription_paused")).get(JSON.stringify({ subscription: "jobs", topic })),
      1,
    );
    assert.deepEqual(
      await samples(registry, "switchyard_push_last_status"),
      new Map([[JSON.stringify({ subscription: "hook", topic }), 503]]),
    );
    const text = await registry.metrics();
    assert.ok(text.includes('switchyard_topic_messages{topic="a\\"b\\\\c\\nd"} 3'), text);
  });
});
