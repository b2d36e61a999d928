import type { Registry } from "prom-client";

/** One label set of a {@link TalliedHistogram}: observe into it directly. */
export interface TalliedSeries {
  /** Counts one observation (a finite number, in the histogram's unit). */
  observe(value: number): void;
}

/** The fields of one exported sample, as prom-client's registry reads them. */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  /** Always none (no exemplars); present as in prom-client's samples: null on buckets. */
  exemplar: null | undefined;
}

class Series implements TalliedSeries {
  /** Observations per bucket (not cumulative); past the last bound only `count` counts them. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const { bounds, counts } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram whose label sets are made once ({@link child}) and then observed with
 * no work but a bucket search and three additions. prom-client's own `Histogram` builds a label
 * object and hashes it on every `observe`, even through `labels(...)`, which cost about 1 % of a
 * unary call's CPU (BENCHMARKS.md, "Unary calls without per-call timers"). The exported samples
 * are the ones prom-client's `Histogram` exports for the same observations: `_bucket` (cumulative,
 * with `le`, then `+Inf`), `_sum` and `_count` per label set (tallied-histogram.test.ts compares
 * the two registries' text). It registers in a prom-client registry like any metric.
 */
export class TalliedHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series: Series[] = [];

  /** `bounds`: the bucket upper bounds, ascending. */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** A new label set (call once per set and keep it: each call makes a new series). */
  child(labels: Readonly<Record<string, string>>): TalliedSeries {
    const s = new Series({ ...labels }, this.bounds);
    this.series.push(s);
    return s;
  }

  /** The samples with the label sets kept apart (what prom-client's registry formats). */
  async getForPromString() {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series) {
      // As prom-client, a label set appears once it has an observation (and again after a reset).
      if (s.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i] as number;
        values.push({
          labels: { le: this.bounds[i] as number },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: bucket,
          exemplar: null,
        });
      }
      values.push({
        labels: { le: "+Inf" },
        sharedLabels: s.labels,
        value: s.count,
        metricName: bucket,
        exemplar: null,
      });
      const { sum, count, labels } = s;
      values.push({
        labels: {},
        sharedLabels: labels,
        value: sum,
        metricName: `${this.name}_sum`,
        exemplar: undefined,
      });
      values.push({
        labels: {},
        sharedLabels: labels,
        value: count,
        metricName: `${this.name}_count`,
        exemplar: undefined,
      });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The samples with every label set on its sample (prom-client's `get`, for JSON and merges). */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  /** Zeroes every label set (prom-client's `reset` forgets them; their children then count anew). */
  reset(): void {
    for (const s of this.series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
