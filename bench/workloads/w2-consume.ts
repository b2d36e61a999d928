/**
 * W2 consume + ack: drains the topic W1 filled (or, run alone, a topic it fills first, untimed) with
 * one consumer acking in batches. Switchyard's consumer reads one Subscribe stream (window of
 * 2,000 messages) with one Ack call per received batch.
 */
import { STREAM } from "../targets/switchyard.js";
import {
  awaitCounters,
  batchOptions,
  closeAll,
  MIB,
  measured,
  perSec,
  publishMessages,
  round3,
  row,
  startCounter,
} from "./common.js";
import type { Workload } from "./types.js";

/** How the Switchyard consumer works, for the output. */
export const SWITCHYARD_CONSUMER_NOTE =
  `switchyard consumes with one Subscribe stream per consumer: max_outstanding_messages ` +
  `${STREAM.maxOutstandingMessages}, max_outstanding_bytes ${STREAM.maxOutstandingBytes / 1024 / 1024} MiB, ` +
  `one Ack call per received batch (at most ${STREAM.maxPendingAcks} in flight)`;

/** See the module comment. */
export const w2Consume: Workload = {
  id: "W2",
  title: "consume + ack (drain)",
  async run(ctx) {
    const { target, params } = ctx;
    let filled = ctx.state.filled;
    ctx.state.filled = undefined;
    if (!filled) {
      const topic = "w2";
      await target.createTopic(topic, { subscriptions: 1 });
      const fill = await publishMessages(target, topic, {
        count: params.w1Messages,
        sizeBytes: 1024,
        batch: batchOptions(params),
        deadline: ctx.deadline,
      });
      filled = { topic, messages: fill.confirmed, payloadBytes: 1024 };
    }
    const { topic, messages, payloadBytes } = filled;
    const { value, usage } = await measured(ctx, async () => {
      const t0 = performance.now();
      const counter = await startCounter(target, topic, 0, messages);
      const complete = await awaitCounters([counter], ctx.deadline);
      const elapsedMs = counter.lastMs - t0;
      await closeAll([counter.consumer]);
      return { complete, elapsedMs, counter };
    });
    await target.deleteTopic(topic);
    const msgsPerSec = perSec(value.counter.seen.distinct, value.elapsedMs);
    ctx.log(`W2 drain: ${msgsPerSec} msg/s`);
    return [
      row(
        "W2 drain",
        usage,
        { msgsPerSec, mbPerSec: round3(((msgsPerSec ?? 0) * payloadBytes) / MIB) },
        value.complete,
        [
          `${value.counter.seen.distinct}/${messages} received, ${value.counter.seen.duplicates} redelivered`,
          ...(target.name === "switchyard" ? [SWITCHYARD_CONSUMER_NOTE] : []),
        ],
      ),
    ];
  },
};
