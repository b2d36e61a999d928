import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from "parse-prometheus-text-format";

export type { ParsedFamily, ParsedSample };

/** Parsed Prometheus text (a real exposition-format parser), by family name. */
export interface Scrape {
  families: Map<string, ParsedFamily>;
  /** The family, or a failed assertion's error when it is missing. */
  family(name: string): ParsedFamily;
  /** The sample of `name` whose labels are exactly `labels`, or undefined. */
  sample(name: string, labels?: Record<string, string>): ParsedSample | undefined;
  /** The numeric value of that sample (counters and gauges); NaN when it is missing. */
  value(name: string, labels?: Record<string, string>): number;
  /** The histogram series of `name` with exactly `labels` (besides `le`), or undefined. */
  histogram(name: string, labels?: Record<string, string>): Histogram | undefined;
}

/** One histogram series. */
export interface Histogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound, in the order written (`+Inf` last). */
  buckets: Array<[le: string, count: number]>;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a?.[k] === b[k]);
}

/**
 * parse-prometheus-text-format folds a histogram's samples into one and drops their labels, so
 * histograms are read from a second parse of the same text in which each histogram family's
 * HELP/TYPE lines are left out: its `_bucket`, `_sum` and `_count` samples then parse as plain
 * labelled samples.
 */
function histogramsAsSamples(text: string, families: Map<string, ParsedFamily>): Map<string, ParsedFamily> {
  const histograms = new Set([...families.values()].filter((f) => f.type === "HISTOGRAM").map((f) => f.name));
  const lines = text.split("\n").filter((l) => {
    const m = /^# (?:HELP|TYPE) (\S+)/.exec(l);
    return !(m && histograms.has(m[1] as string));
  });
  // Untyped, each label set's `_bucket`, `_sum` and `_count` runs parse as families of their own: join them.
  const byName = new Map<string, ParsedFamily>();
  for (const f of parsePrometheusTextFormat(lines.join("\n"))) {
    const seen = byName.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else byName.set(f.name, f);
  }
  return byName;
}

/** Parses `text` (Prometheus text format 0.0.4) with parse-prometheus-text-format. */
export function parseScrape(text: string): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const plain = histogramsAsSamples(text, families);
  const find = (fams: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) =>
    fams.get(name)?.metrics.filter((m) => {
      const { le: _le, ...rest } = m.labels ?? {};
      return sameLabels(rest, labels);
    }) ?? [];
  const family = (name: string) => {
    const f = families.get(name);
    if (!f) throw new Error(`no metric family ${name} in the scrape`);
    return f;
  };
  const sample = (name: string, labels: Record<string, string> = {}) =>
    families.get(name)?.metrics.find((m) => sameLabels(m.labels, labels));
  return {
    families,
    family,
    sample,
    value: (name, labels = {}) => Number(sample(name, labels)?.value ?? Number.NaN),
    histogram(name, labels = {}) {
      if (families.get(name)?.type !== "HISTOGRAM") return undefined;
      const count = find(plain, `${name}_count`, labels)[0];
      const sum = find(plain, `${name}_sum`, labels)[0];
      if (!count || !sum) return undefined;
      const buckets = find(plain, `${name}_bucket`, labels).map(
        (b) => [b.labels?.le ?? "", Number(b.value)] as [string, number],
      );
      return { count: Number(count.value), sum: Number(sum.value), buckets };
    },
  };
}

/** GETs `url` and parses the body; fails unless the answer is 200 with the exposition content type. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url, { headers: { connection: "close" } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scrape ${url}: HTTP ${res.status}: ${text}`);
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/plain; version=0.0.4")) throw new Error(`scrape ${url}: content-type ${type}`);
  return parseScrape(text);
}
