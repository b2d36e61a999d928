/**
 * W4 fan-out: `w4Subscriptions` subscriptions on one topic, one consumer each, one batching producer
 * publishing `w4Messages`; deliveries/s from the first publish to the last delivery.
 */
import {
  awaitCounters,
  batchOptions,
  closeAll,
  measured,
  perSec,
  publishMessages,
  round3,
  row,
  startCounter,
} from "./common.js";
import type { Workload } from "./types.js";

/** See the module comment. */
export const w4Fanout: Workload = {
  id: "W4",
  title: "fan-out to several subscriptions",
  async run(ctx) {
    const { target, params } = ctx;
    const topic = "w4";
    const subs = params.w4Subscriptions;
    await target.createTopic(topic, { subscriptions: subs });
    const { value, usage } = await measured(ctx, async () => {
      const counters = [];
      try {
        for (let i = 0; i < subs; i++) counters.push(await startCounter(target, topic, i, params.w4Messages));
        const t0 = performance.now();
        const published = await publishMessages(target, topic, {
          count: params.w4Messages,
          sizeBytes: 1024,
          batch: batchOptions(params),
          deadline: ctx.deadline,
        });
        const complete = await awaitCounters(counters, ctx.deadline);
        const elapsedMs = Math.max(...counters.map((c) => c.lastMs)) - t0;
        const deliveries = counters.reduce((n, c) => n + c.seen.distinct, 0);
        return { complete, elapsedMs, deliveries, published };
      } finally {
        await closeAll(counters.map((c) => c.consumer));
      }
    });
    await target.deleteTopic(topic);
    const deliveriesPerSec = perSec(value.deliveries, value.elapsedMs);
    ctx.log(`W4: ${deliveriesPerSec} deliveries/s over ${subs} subscriptions`);
    return [
      row(
        "W4 fan-out",
        usage,
        {
          deliveriesPerSec,
          publishMsgsPerSec: perSec(value.published.confirmed, value.published.elapsedMs),
          publishConfirmP99Ms: round3(value.published.confirmLatency.summary().p99Ms),
        },
        value.complete,
        [`${value.deliveries}/${subs * params.w4Messages} deliveries, ${subs} subscriptions × 1 consumer`],
      ),
    ];
  },
};
