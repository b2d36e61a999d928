/**
 * W5 payload scaling: for each payload size, publish `w5BytesPerSize` bytes (at most `w5MaxMessages`
 * messages) with batching, then drain them with one consumer; MB/s of each phase. Unconfirmed bytes
 * are bounded to 16 MiB (so 64 messages of 256 KiB) besides the message window.
 */
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
import type { Workload, WorkloadResult } from "./types.js";

const MAX_IN_FLIGHT_BYTES = 16 * MIB;

/** "64B", "1KiB", "256KiB". */
export function sizeLabel(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024}KiB` : `${bytes}B`;
}

/** See the module comment. */
export const w5Payload: Workload = {
  id: "W5",
  title: "payload size scaling",
  async run(ctx) {
    const { target, params } = ctx;
    const results: WorkloadResult[] = [];
    for (const sizeBytes of params.w5SizesBytes) {
      if (ctx.deadline.expired) break;
      const topic = `w5-${sizeLabel(sizeBytes).toLowerCase()}`;
      const count = Math.max(1, Math.min(params.w5MaxMessages, Math.floor(params.w5BytesPerSize / sizeBytes)));
      const window = Math.max(4, Math.min(params.maxInFlightMessages, Math.floor(MAX_IN_FLIGHT_BYTES / sizeBytes)));
      await target.createTopic(topic, { subscriptions: 1 });
      const { value, usage } = await measured(ctx, async () => {
        const published = await publishMessages(target, topic, {
          count,
          sizeBytes,
          batch: batchOptions(params, { maxInFlightMessages: window }),
          deadline: ctx.deadline,
        });
        const t0 = performance.now();
        const counter = await startCounter(target, topic, 0, published.confirmed);
        const complete = (await awaitCounters([counter], ctx.deadline)) && published.confirmed === count;
        await closeAll([counter.consumer]);
        return { published, complete, consumeMs: counter.lastMs - t0, consumed: counter.seen.distinct };
      });
      await target.deleteTopic(topic);
      const pubPerSec = perSec(value.published.confirmed, value.published.elapsedMs) ?? 0;
      const conPerSec = perSec(value.consumed, value.consumeMs) ?? 0;
      const name = `W5 ${sizeLabel(sizeBytes)}`;
      results.push(
        row(
          name,
          usage,
          {
            publishMsgsPerSec: pubPerSec,
            publishMbPerSec: round3((pubPerSec * sizeBytes) / MIB),
            consumeMsgsPerSec: conPerSec,
            consumeMbPerSec: round3((conPerSec * sizeBytes) / MIB),
          },
          value.complete,
          [`${value.published.confirmed}/${count} published, ${value.consumed} consumed; ≤${window} unconfirmed`],
        ),
      );
      ctx.log(
        `${name}: publish ${round3((pubPerSec * sizeBytes) / MIB)} MB/s, consume ${round3((conPerSec * sizeBytes) / MIB)} MB/s`,
      );
    }
    return results;
  },
};
