/**
 * W3 end-to-end latency: one producer paced at `w3RatePerSec` (batching as in W1), one consumer
 * acking; publish→receive percentiles over `w3Messages` after `w3WarmupMessages`. Latency runs from
 * each message's scheduled send time, so a producer held back by the broker is not hidden.
 */
import { LatencyRecorder } from "../lib/histogram.js";
import { makePayload, readPayload } from "../lib/payload.js";
import { BatchingPublisher } from "../lib/publish.js";
import { paced, withTimeout } from "../lib/time.js";
import { awaitCounters, batchOptions, closeAll, measured, perSec, round3, row, startCounter } from "./common.js";
import type { Workload } from "./types.js";

/** See the module comment. */
export const w3Latency: Workload = {
  id: "W3",
  title: "end-to-end latency at a fixed rate",
  async run(ctx) {
    const { target, params } = ctx;
    const topic = "w3";
    const warmup = params.w3WarmupMessages;
    const total = warmup + params.w3Messages;
    await target.createTopic(topic, { subscriptions: 1 });
    const latency = new LatencyRecorder();
    const { value, usage } = await measured(ctx, async () => {
      const counter = await startCounter(target, topic, 0, total, (data, receivedMs, firstTime) => {
        const { sentMs, index } = readPayload(data);
        if (firstTime && index >= warmup) latency.recordMs(receivedMs - sentMs);
      });
      const publisher = await target.publisher(topic);
      const batcher = new BatchingPublisher(publisher, batchOptions(params));
      let publishErrors = 0;
      const t0 = performance.now();
      let sent = 0;
      try {
        sent = await paced(total, params.w3RatePerSec, ctx.deadline, (i, scheduledMs) => {
          batcher.send(makePayload(1024, i, scheduledMs)).catch(() => publishErrors++);
        });
        const sendMs = performance.now() - t0;
        await withTimeout(batcher.flush(), ctx.deadline.remainingMs + 10_000, "W3 confirmations");
        const complete = (await awaitCounters([counter], ctx.deadline)) && sent === total;
        return { complete, sent, sendMs, publishErrors, counter };
      } finally {
        await closeAll([publisher, counter.consumer]);
      }
    });
    await target.deleteTopic(topic);
    const lat = latency.summary();
    ctx.log(`W3: p50 ${round3(lat.p50Ms)} ms, p99 ${round3(lat.p99Ms)} ms, p99.9 ${round3(lat.p999Ms)} ms`);
    return [
      row(
        "W3 e2e",
        usage,
        {
          offeredMsgsPerSec: params.w3RatePerSec,
          achievedMsgsPerSec: perSec(value.sent, value.sendMs),
          e2eP50Ms: round3(lat.p50Ms),
          e2eP99Ms: round3(lat.p99Ms),
          e2eP999Ms: round3(lat.p999Ms),
          e2eMaxMs: round3(lat.maxMs),
        },
        value.complete,
        [
          `${lat.count} measured after ${warmup} warm-up; ${value.counter.seen.distinct}/${total} received` +
            (value.publishErrors > 0 ? `, ${value.publishErrors} publish errors` : ""),
        ],
      ),
    ];
  },
};
