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
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a?.[k] === b[k]);
}

/** Parses `text` (Prometheus text format 0.0.4) with parse-prometheus-text-format. */
export function parseScrape(text: string): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
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
