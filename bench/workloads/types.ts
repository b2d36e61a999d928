/** What every workload gets and returns. */
import type { ProcUsage, RssSample } from "../lib/proc.js";
import type { Deadline } from "../lib/time.js";
import type { BenchTarget } from "../targets/target.js";

/** Sizes and bounds of one suite run (see `benchParams` in ../lib/cli.ts for the defaults). */
export interface BenchParams {
  quick: boolean;
  /** W1: messages per mode (single, batched). */
  w1Messages: number;
  /** Client-side batches flush at this many messages (or `batchMaxBytes`, or after 1 ms). */
  batchMaxMessages: number;
  batchMaxBytes: number;
  batchLingerMs: number;
  /** Most unconfirmed messages per publisher. */
  maxInFlightMessages: number;
  /** W3: measured messages, warm-up messages before them, producer rate. */
  w3Messages: number;
  w3WarmupMessages: number;
  w3RatePerSec: number;
  /** W4: messages published, subscriptions. */
  w4Messages: number;
  w4Subscriptions: number;
  /** W5: payload sizes, bytes published per size, most messages per size. */
  w5SizesBytes: number[];
  w5BytesPerSize: number;
  w5MaxMessages: number;
  /** Backlog: queued messages. */
  backlogMessages: number;
  /** Time bound of one workload, in ms (its loops stop there; the run marks it incomplete). */
  workloadTimeoutMs: number;
}

/** State a workload leaves for a later one on the same broker (W1's messages for W2). */
export interface SharedState {
  /** A topic whose subscription 0 holds `messages` unconsumed messages of `payloadBytes`. */
  filled?: { topic: string; messages: number; payloadBytes: number };
}

/** What a workload runs against. */
export interface WorkloadContext {
  target: BenchTarget;
  params: BenchParams;
  state: SharedState;
  /** The workload's own time bound. */
  deadline: Deadline;
  /** Prints a progress line. */
  log(line: string): void;
}

/** Numbers of one measured row; names carry their units. `null`: not measured. */
export type Metrics = Record<string, number | null>;

/** One row of results (a workload, or one variant of it). */
export interface WorkloadResult {
  /** Row key, e.g. "W1 single" or "W5 16KiB". */
  row: string;
  metrics: Metrics;
  /** Broker CPU and memory during the row (the samples are dropped unless `rssTimeline`). */
  broker: Omit<ProcUsage, "samples">;
  /** False when a time bound stopped it before every message was done. */
  complete: boolean;
  notes: string[];
  /** Broker RSS over time (the backlog workload). */
  rssTimeline?: RssSample[];
}

/** A workload of the suite. */
export interface Workload {
  /** "W1" … "W5", "BL". */
  id: string;
  title: string;
  run(ctx: WorkloadContext): Promise<WorkloadResult[]>;
}
