import { Counter, Histogram, type Registry } from "prom-client";
import type { GopherMethod } from "./endpoints.js";

/** GopherMQ's own request series, so its dashboards keep working (docs/gophermq.md "Metrics"). */
export interface GophermqMetrics {
  /** A publish, subscribe or fetch request was answered with `code` after `seconds`. */
  request(method: GopherMethod, code: number, seconds: number): void;
}

/** Metrics that go nowhere (unit tests). */
export const noGophermqMetrics: GophermqMetrics = { request() {} };

/**
 * Registers GopherMQ's two series in `registry`, named and labelled as GopherMQ's client_golang
 * code does: `gophermq_client_request_rate{code,method}` (a counter, without `_total`) and
 * `gophermq_request_duration_seconds{code,method}` (a histogram with the default buckets).
 */
export function createGophermqMetrics(registry: Registry): GophermqMetrics {
  const labelNames = ["code", "method"] as const;
  const rate = new Counter({
    name: "gophermq_client_request_rate",
    help: "Client request rate.",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "gophermq_request_duration_seconds",
    help: "Request latencies in seconds.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    request(method, code, seconds) {
      const labels = { code: String(code), method };
      rate.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
