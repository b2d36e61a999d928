/**
 * W1 durable publish: `w1Messages` 1 KiB messages from one connection with at most
 * `maxInFlightMessages` unconfirmed, once with one message per Publish call and once with client-side
 * batching (flush at N messages or after the linger time). Both fill one topic that W2 then drains.
 * Besides throughput and confirm latency, each row states the client process's CPU per Publish
 * call (the bench's client, not the broker, bounds W1 single; BENCHMARKS.md).
 */
import { batchOptions, MIB, measured, perSec, publishMessages, round3, row } from "./common.js";
import type { Workload, WorkloadResult } from "./types.js";

const PAYLOAD_BYTES = 1024;

/** See the module comment. */
export const w1Publish: Workload = {
  id: "W1",
  title: "durable publish, 1 KiB, one connection",
  async run(ctx) {
    const { target, params } = ctx;
    const topic = "w1";
    await target.createTopic(topic, { subscriptions: 1 });
    const results: WorkloadResult[] = [];
    let stored = 0;
    const modes = [
      { name: "W1 single", batch: batchOptions(params, { maxMessages: 1 }) },
      { name: "W1 batched", batch: batchOptions(params) },
    ];
    for (const mode of modes) {
      const { value: run, usage } = await measured(ctx, () =>
        publishMessages(target, topic, {
          count: params.w1Messages,
          sizeBytes: PAYLOAD_BYTES,
          batch: mode.batch,
          deadline: ctx.deadline,
          firstIndex: stored,
        }),
      );
      stored += run.confirmed;
      const lat = run.confirmLatency.summary();
      const msgsPerSec = perSec(run.confirmed, run.elapsedMs);
      results.push(
        row(
          mode.name,
          usage,
          {
            msgsPerSec,
            mbPerSec: round3(((msgsPerSec ?? 0) * PAYLOAD_BYTES) / MIB),
            confirmP50Ms: round3(lat.p50Ms),
            confirmP99Ms: round3(lat.p99Ms),
            confirmP999Ms: round3(lat.p999Ms),
            messagesPerCall: round3(run.confirmed / Math.max(1, run.calls)),
            // The client's own cost (issue 14 asks W1 single to state it): this process's CPU per call.
            clientCpuUsPerCall: round3(((usage.clientCpuPct / 100) * usage.wallMs * 1000) / Math.max(1, run.calls)),
          },
          run.confirmed === params.w1Messages,
          [
            `${run.confirmed}/${params.w1Messages} confirmed${run.failed > 0 ? `, ${run.failed} failed` : ""}`,
            mode.batch.maxMessages === 1
              ? `one message per Publish, ≤${mode.batch.maxInFlightMessages} in flight`
              : `batches flush at ${mode.batch.maxMessages} msgs or ${mode.batch.lingerMs} ms, ≤${mode.batch.maxInFlightMessages} msgs unconfirmed`,
          ],
        ),
      );
      ctx.log(`${mode.name}: ${msgsPerSec} msg/s, confirm p99 ${round3(lat.p99Ms)} ms`);
    }
    ctx.state.filled = { topic, messages: stored, payloadBytes: PAYLOAD_BYTES };
    return results;
  },
};
