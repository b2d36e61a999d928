/** Medians across runs, Switchyard ÷ peer ratios from the same run, and the Markdown tables. */
import type { Metrics, WorkloadResult } from "../workloads/types.js";

/** The results of one target in one run. */
export interface TargetRun {
  run: number;
  target: string;
  results: WorkloadResult[];
  /** Workloads that threw: id and message. */
  errors: Array<{ workload: string; error: string }>;
}

/** Per target, per row, per metric. */
export type Table = Record<string, Record<string, Metrics>>;

/** What the report prints and stores. */
export interface Summary {
  /** Row keys in first-seen order. */
  rows: string[];
  /** Median over runs per target. */
  medians: Table;
  /** Per peer: median over runs of (reference value ÷ peer value) from the same run. */
  ratios: Table;
  /** Per target and row: true only if every run completed that row. */
  complete: Record<string, Record<string, boolean>>;
}

/** A result's metrics plus the broker's CPU % and peak RSS. */
export function allMetrics(r: WorkloadResult): Metrics {
  return {
    ...r.metrics,
    brokerCpuPct: r.broker.cpuPct,
    brokerPeakRssMiB: r.broker.peakRssMiB,
    clientCpuPct: r.broker.clientCpuPct,
  };
}

/** Median of the non-null values; null if there are none. */
export function median(values: ReadonlyArray<number | null>): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/** Values per target, row and metric, across runs. */
type Samples = Map<string, Map<string, Map<string, Array<number | null>>>>;

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function collect(into: Samples, target: string, row: string, metrics: Metrics): void {
  const rowMap = getOr(
    getOr(into, target, () => new Map()),
    row,
    () => new Map<string, Array<number | null>>(),
  );
  for (const [k, v] of Object.entries(metrics)) getOr(rowMap, k, (): Array<number | null> => []).push(v);
}

function medianTable(samples: Samples): Table {
  const out: Table = {};
  for (const [target, rows] of samples) {
    const t: Record<string, Metrics> = {};
    for (const [row, metrics] of rows) {
      const m: Metrics = {};
      for (const [k, vs] of metrics) m[k] = roundSig(median(vs));
      t[row] = m;
    }
    out[target] = t;
  }
  return out;
}

/** Medians and ratios over every run; `reference` is the target the ratios compare (Switchyard). */
export function summarize(runs: readonly TargetRun[], reference = "switchyard"): Summary {
  const rows: string[] = [];
  const values: Samples = new Map();
  const ratioValues: Samples = new Map();
  const complete: Summary["complete"] = {};
  for (const tr of runs) {
    const ref = runs.find((r) => r.run === tr.run && r.target === reference);
    for (const result of tr.results) {
      if (!rows.includes(result.row)) rows.push(result.row);
      collect(values, tr.target, result.row, allMetrics(result));
      const done = complete[tr.target] ?? {};
      done[result.row] = (done[result.row] ?? true) && result.complete;
      complete[tr.target] = done;
      const refResult = ref?.results.find((r) => r.row === result.row);
      if (tr.target === reference || !refResult) continue;
      const refMetrics = allMetrics(refResult);
      const ratios: Metrics = {};
      for (const [k, v] of Object.entries(allMetrics(result))) {
        const mine = refMetrics[k];
        ratios[k] = mine === null || mine === undefined || v === null || v === 0 ? null : mine / v;
      }
      collect(ratioValues, tr.target, result.row, ratios);
    }
  }
  return { rows, medians: medianTable(values), ratios: medianTable(ratioValues), complete };
}

/** Rounds to 3 significant digits (integers ≥ 1000 to units). */
export function roundSig(x: number | null): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  if (Math.abs(x) >= 1000) return Math.round(x);
  return x === 0 ? 0 : Number(x.toPrecision(3));
}

/** `12,345` / `1.23` / `–`. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined) return "–";
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : String(roundSig(x));
}

const UNITS: Array<[suffix: string, unit: string]> = [
  ["UsPerCall", "µs/call"],
  ["MsgsPerSec", "msg/s"],
  ["MbPerSec", "MB/s"],
  ["DeliveriesPerSec", "deliveries/s"],
  ["MiB", "MiB"],
  ["Pct", "%"],
  ["Ms", "ms"],
  ["S", "s"],
];

/** `publishMbPerSec` → ["publish", "MB/s"]; `msgsPerSec` → ["", "msg/s"]; `confirmP99Ms` → ["confirm p99", "ms"]. */
export function metricLabel(key: string): [label: string, unit: string] {
  for (const [suffix, unit] of UNITS) {
    const lower = suffix[0]!.toLowerCase() + suffix.slice(1);
    if (key === lower) return ["", unit];
    if (key.endsWith(suffix)) return [words(key.slice(0, -suffix.length)), unit];
  }
  return [words(key), ""];
}

function words(camel: string): string {
  return camel
    .replace(/P999$/, "P99.9")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
}

function metricText(key: string, value: number | null | undefined): string {
  const [label, unit] = metricLabel(key);
  return [label, formatNumber(value), unit].filter((s) => s !== "").join(" ");
}

const BROKER_KEYS = new Set(["brokerCpuPct", "brokerPeakRssMiB", "clientCpuPct"]);

function mdTable(header: string[], lines: string[][]): string {
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [row(header), row(header.map(() => "---")), ...lines.map(row)].join("\n");
}

/** One target's medians as a compact Markdown table (one line per row). */
export function renderTargetTable(summary: Summary, target: string): string {
  const medians = summary.medians[target] ?? {};
  const lines = summary.rows
    .filter((r) => medians[r])
    .map((r) => {
      const m = medians[r] as Metrics;
      const results = Object.entries(m)
        .filter(([k]) => !BROKER_KEYS.has(k))
        .map(([k, v]) => metricText(k, v))
        .join(", ");
      const done = summary.complete[target]?.[r] === false ? "no (time bound)" : "yes";
      const cpu = `${formatNumber(m.brokerCpuPct)} / ${formatNumber(m.clientCpuPct)}`;
      return [r, results, cpu, formatNumber(m.brokerPeakRssMiB), done];
    });
  return mdTable(["workload", "results", "CPU % broker / client", "broker peak RSS MiB", "complete"], lines);
}

/** Every target's medians side by side plus Switchyard ÷ peer ratios, one line per row and metric. */
export function renderComparisonTable(summary: Summary, targets: readonly string[], reference = "switchyard"): string {
  const peers = targets.filter((t) => t !== reference && summary.ratios[t]);
  const header = ["workload", "metric", ...targets, ...peers.map((p) => `${reference} ÷ ${p}`)];
  const lines: string[][] = [];
  for (const r of summary.rows) {
    const keys = new Set(targets.flatMap((t) => Object.keys(summary.medians[t]?.[r] ?? {})));
    for (const k of keys) {
      const [label, unit] = metricLabel(k);
      lines.push([
        r,
        [label || "throughput", unit && `(${unit})`].join(" ").trim(),
        ...targets.map((t) => formatNumber(summary.medians[t]?.[r]?.[k])),
        ...peers.map((p) => formatNumber(summary.ratios[p]?.[r]?.[k])),
      ]);
    }
  }
  return mdTable(header, lines);
}
