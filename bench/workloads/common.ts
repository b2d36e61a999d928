/** Building blocks of the workloads: measured sections, publishing N messages, counting deliveries. */
import { LatencyRecorder } from "../lib/histogram.js";
import { makePayload, readPayload, SeenSet } from "../lib/payload.js";
import { ProcSampler, type ProcUsage } from "../lib/proc.js";
import { BatchingPublisher, type BatchOptions } from "../lib/publish.js";
import { beforeDeadline, type Deadline, withTimeout } from "../lib/time.js";
import type { BenchConsumer, BenchTarget } from "../targets/target.js";
import type { BenchParams, WorkloadContext, WorkloadResult } from "./types.js";

/** 1 MiB, for MB/s (MiB/s) figures. */
export const MIB = 1024 * 1024;

/** Runs `fn` while sampling the broker's CPU and RSS. */
export async function measured<T>(ctx: WorkloadContext, fn: () => Promise<T>): Promise<{ value: T; usage: ProcUsage }> {
  const sampler = new ProcSampler(() => ctx.target.brokerPid);
  try {
    const value = await fn();
    return { value, usage: sampler.stop() };
  } catch (e) {
    sampler.stop();
    throw e;
  }
}

/** A result row from a measured section (the RSS samples are dropped). */
export function row(
  name: string,
  usage: ProcUsage,
  metrics: WorkloadResult["metrics"],
  complete: boolean,
  notes: string[] = [],
): WorkloadResult {
  const { samples: _samples, ...broker } = usage;
  return { row: name, metrics, broker, complete, notes };
}

/** Batching per the suite's parameters; `maxMessages` 1 makes one Publish call per message. */
export function batchOptions(params: BenchParams, overrides: Partial<BatchOptions> = {}): BatchOptions {
  return {
    maxMessages: params.batchMaxMessages,
    maxBytes: params.batchMaxBytes,
    lingerMs: params.batchLingerMs,
    maxInFlightMessages: params.maxInFlightMessages,
    ...overrides,
  };
}

/** What {@link publishMessages} did. */
export interface PublishRun {
  sent: number;
  confirmed: number;
  failed: number;
  calls: number;
  elapsedMs: number;
  /** Admission → confirmation, per message. */
  confirmLatency: LatencyRecorder;
}

/**
 * Publishes `count` payloads of `sizeBytes` (indexes from `firstIndex`) on a new publisher as fast as
 * the window allows, until done or `deadline`; waits for every confirmation (bounded) and closes.
 */
export async function publishMessages(
  target: BenchTarget,
  topic: string,
  options: { count: number; sizeBytes: number; batch: BatchOptions; deadline: Deadline; firstIndex?: number },
): Promise<PublishRun> {
  const publisher = await target.publisher(topic);
  const batcher = new BatchingPublisher(publisher, options.batch);
  const confirmLatency = new LatencyRecorder();
  let confirmed = 0;
  let failed = 0;
  const onConfirm = (latencyMs: number, error?: unknown) => {
    if (error === undefined) {
      confirmed++;
      confirmLatency.recordMs(latencyMs);
    } else failed++;
  };
  const t0 = performance.now();
  let sent = 0;
  try {
    const first = options.firstIndex ?? 0;
    for (; sent < options.count && !options.deadline.expired; sent++) {
      await batcher.send(makePayload(options.sizeBytes, first + sent), onConfirm);
    }
    await withTimeout(batcher.flush(), options.deadline.remainingMs + 10_000, "publish confirmations");
  } finally {
    await publisher.close();
  }
  return { sent, confirmed, failed, calls: batcher.calls, elapsedMs: performance.now() - t0, confirmLatency };
}

/** A consumer counting distinct message indexes until it has `expected` of them. */
export interface Counter {
  seen: SeenSet;
  /** When the last new message arrived (performance.now()). */
  lastMs: number;
  /** Resolves when `expected` distinct messages arrived. */
  done: Promise<void>;
  consumer: BenchConsumer;
}

/**
 * Starts a consumer on subscription `subscriptionIndex` of `topic` that counts distinct messages and
 * calls `onMessage(payload, receivedMs, firstTime)` for each; resolves once it is subscribed.
 */
export async function startCounter(
  target: BenchTarget,
  topic: string,
  subscriptionIndex: number,
  expected: number,
  onMessage?: (data: Uint8Array, receivedMs: number, firstTime: boolean) => void,
): Promise<Counter> {
  const consumer = await target.consumer(topic, subscriptionIndex);
  let resolveDone: () => void = () => {};
  const counter: Counter = {
    seen: new SeenSet(expected),
    lastMs: performance.now(),
    done: new Promise<void>((r) => {
      resolveDone = r;
    }),
    consumer,
  };
  if (expected === 0) resolveDone();
  await consumer.start((messages) => {
    const now = performance.now();
    for (const m of messages) {
      const firstTime = counter.seen.add(readPayload(m.data).index);
      if (firstTime) counter.lastMs = now;
      onMessage?.(m.data, now, firstTime);
    }
    if (counter.seen.distinct >= expected) resolveDone();
  });
  return counter;
}

/** Waits until every counter is done or the deadline passes; true if all finished. */
export function awaitCounters(counters: readonly Counter[], deadline: Deadline): Promise<boolean> {
  return beforeDeadline(Promise.all(counters.map((c) => c.done)), deadline);
}

/** Closes consumers (in parallel, never throwing). */
export async function closeAll(closables: ReadonlyArray<{ close(): Promise<void> }>): Promise<void> {
  await Promise.allSettled(closables.map((c) => c.close()));
}

/** `count` over `elapsedMs`, per second (null if nothing was timed). */
export function perSec(count: number, elapsedMs: number): number | null {
  return elapsedMs > 0 ? Math.round((count / elapsedMs) * 1000) : null;
}

/** Rounds to 3 significant digits for tables and JSON. */
export function round3(x: number | null): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  return x === 0 ? 0 : Number(x.toPrecision(3));
}
