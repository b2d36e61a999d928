/**
 * Backlog: `backlogMessages` 1 KiB messages queued while the subscription's consumer is stalled
 * (connected, not consuming), broker RSS sampled over time; then the broker is restarted (when the
 * target can) and one consumer drains the backlog. Reports fill rate, restart time and drain time.
 */
import { ProcSampler } from "../lib/proc.js";
import { awaitCounters, batchOptions, closeAll, perSec, publishMessages, round3, row, startCounter } from "./common.js";
import type { Workload } from "./types.js";

/** See the module comment. */
export const backlog: Workload = {
  id: "BL",
  title: "backlog with a stalled consumer, drain after restart",
  async run(ctx) {
    const { target, params } = ctx;
    const topic = "backlog";
    const n = params.backlogMessages;
    await target.createTopic(topic, { subscriptions: 1 });
    const sampler = new ProcSampler(() => target.brokerPid, params.quick ? 100 : 1000);
    const t0 = performance.now();
    const at = () => round3((performance.now() - t0) / 1000);
    try {
      const stalled = await target.consumer(topic, 0);
      const fill = await publishMessages(target, topic, {
        count: n,
        sizeBytes: 1024,
        batch: batchOptions(params),
        deadline: ctx.deadline,
      });
      const fillEndMs = performance.now() - t0;
      const fillEndS = at();
      await closeAll([stalled]);
      ctx.log(`backlog: ${fill.confirmed} queued in ${fillEndS} s`);
      let restartMs: number | null = null;
      if (target.restart) {
        const r0 = performance.now();
        await target.restart();
        restartMs = Math.round(performance.now() - r0);
      }
      const restartEndS = at();
      const d0 = performance.now();
      const counter = await startCounter(target, topic, 0, fill.confirmed);
      const complete = (await awaitCounters([counter], ctx.deadline)) && fill.confirmed === n;
      await closeAll([counter.consumer]);
      const drainMs = counter.lastMs - d0;
      const usage = sampler.stop();
      const afterFill = usage.samples.filter((s) => s.tMs <= fillEndMs).at(-1);
      ctx.log(`backlog: drained ${counter.seen.distinct} in ${round3(drainMs / 1000)} s`);
      await target.deleteTopic(topic);
      const result = row(
        "BL backlog",
        usage,
        {
          fillMsgsPerSec: perSec(fill.confirmed, fill.elapsedMs),
          rssAfterFillMiB: afterFill?.rssMiB ?? null,
          anonRssAfterFillMiB: afterFill?.anonMiB ?? null,
          restartMs,
          drainS: round3(drainMs / 1000),
          drainMsgsPerSec: perSec(counter.seen.distinct, drainMs),
        },
        complete,
        [
          `${fill.confirmed}/${n} queued, ${counter.seen.distinct} drained (${counter.seen.duplicates} redelivered)`,
          target.restart
            ? `phases: fill 0–${fillEndS} s, restart –${restartEndS} s, drain –${at()} s`
            : "target cannot restart: drained without a restart",
          "stalled consumer: connected, never consuming",
        ],
      );
      return [{ ...result, rssTimeline: usage.samples }];
    } finally {
      sampler.stop();
    }
  },
};
