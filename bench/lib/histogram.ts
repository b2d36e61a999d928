/** Latency percentiles from an HDR histogram (hdr-histogram-js), recorded in microseconds. */
import { build, type Histogram } from "hdr-histogram-js";

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Records latencies given in milliseconds with microsecond resolution (3 significant digits, up to 10 min). */
export class LatencyRecorder {
  readonly #h: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** Records one latency in milliseconds (negative values count as 0, larger than 10 min as 10 min). */
  recordMs(latencyMs: number): void {
    this.#h.recordValue(Math.min(600_000_000, Math.max(1, Math.round(latencyMs * 1000))));
  }

  /** Records the same latency `count` times (a batch confirmed at once). */
  recordManyMs(latencyMs: number, count: number): void {
    this.#h.recordValueWithCount(Math.min(600_000_000, Math.max(1, Math.round(latencyMs * 1000))), count);
  }

  get count(): number {
    return this.#h.totalCount;
  }

  /** p50, p99, p99.9 and max in ms (rounded to µs). */
  summary(): LatencySummary {
    const at = (p: number) => this.#h.getValueAtPercentile(p) / 1000;
    return {
      count: this.#h.totalCount,
      p50Ms: at(50),
      p99Ms: at(99),
      p999Ms: at(99.9),
      maxMs: this.#h.maxValue / 1000,
    };
  }
}
