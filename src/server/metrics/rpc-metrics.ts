import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { Counter, type Registry } from "prom-client";
import { leanProtocolKey } from "../../rpc/lean/index.js";
import { withUnaryHook } from "../../rpc/lean/unary-hooks.js";
import { inProcessKey } from "../in-process-marker.js";
import { TalliedHistogram, type TalliedSeries } from "./tallied-histogram.js";

/**
 * The protocol of a request: `in-process` for the bridges' calls (marked by their transport, not
 * by anything a request carries), else from the content type: `grpc`, `grpc-web` or `connect`.
 */
export function protocolOf(req: { readonly header: Headers; readonly contextValues: ContextValues }): string {
  const { contextValues } = req;
  // The lean path says so itself (and is never in-process): its request headers and other context
  // values are made only when something reads them.
  const lean = contextValues.get(leanProtocolKey);
  if (lean !== undefined) return lean;
  if (contextValues.get(inProcessKey)) return "in-process";
  const type = req.header.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Lower-case snake names of the canonical codes, as `code` label values (`ok` for success). */
function codeName(e: unknown): string {
  const code = ConnectError.from(e).code;
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The server interceptor that measures every RPC: `switchyard_rpc_request_duration_seconds`
 * (a histogram per protocol, service and method; until the answer for unary calls, until the
 * first response for streams) and `switchyard_rpc_requests_total` (per protocol, service, method
 * and code; streams are counted when they end).
 */
export function createRpcMetricsInterceptor(registry: Registry): Interceptor {
  // Observed once per call: the label set is found per call below, not hashed by prom-client.
  const duration = new TalliedHistogram(
    "switchyard_rpc_request_duration_seconds",
    "Time to answer an RPC (to the first response of a stream), per protocol, service and method.",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registry,
  );
  // Counted per label set here and added to the counter when it is read (its `collect`, before
  // every scrape): prom-client hashes and checks a label object on every `inc`.
  const tallies: Tally[] = [];
  new Counter({
    name: "switchyard_rpc_requests_total",
    help: "RPCs finished, per protocol, service, method and code.",
    labelNames: ["protocol", "service", "method", "code"] as const,
    registers: [registry],
    collect() {
      for (const t of tallies) {
        if (t.pending === 0) continue;
        this.inc(t.labels, t.pending);
        t.pending = 0;
      }
    },
  });
  interface Tally {
    readonly labels: { protocol: string; service: string; method: string; code: string };
    pending: number;
  }
  // The series of each label set are kept (the label sets are bounded: protocols × methods × codes).
  interface Series {
    duration: TalliedSeries;
    codes: Map<string, Tally>;
    labels: { protocol: string; service: string; method: string };
    /** The tally of code `ok`, once made (most calls succeed: no lookup for them). */
    ok: Tally | undefined;
  }
  // Found by the method's descriptor, then the protocol: no key string made per call. (A Map, not
  // a WeakMap, which is slower to read: the descriptors are the services' own, made once.)
  const series = new Map<DescMethod, Map<string, Series>>();
  const seriesOf = (protocol: string, method: DescMethod): Series => {
    let byProtocol = series.get(method);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      series.set(method, byProtocol);
    }
    let s = byProtocol.get(protocol);
    if (s === undefined) {
      const labels = { protocol, service: method.parent.typeName, method: method.name };
      s = { duration: duration.child(labels), codes: new Map(), labels, ok: undefined };
      byProtocol.set(protocol, s);
    }
    return s;
  };
  const count = (s: Series, code: string) => {
    if (code === "ok" && s.ok !== undefined) {
      s.ok.pending++;
      return;
    }
    let tally = s.codes.get(code);
    if (!tally) {
      tally = { labels: { ...s.labels, code }, pending: 0 };
      s.codes.set(code, tally);
      tallies.push(tally);
      if (code === "ok") s.ok = tally;
    }
    tally.pending++;
  };
  const observe = (s: Series, startedMs: number) => s.duration.observe((performance.now() - startedMs) / 1000);
  const interceptor: Interceptor = (next) => async (req) => {
    const s = seriesOf(protocolOf(req), req.method);
    const started = performance.now();
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (e) {
      observe(s, started);
      count(s, codeName(e));
      throw e;
    }
    if (!res.stream) {
      observe(s, started);
      count(s, "ok");
      return res;
    }
    // For a stream, next() returns before the handler has produced anything: the latency is taken
    // at its first response, or when it ends if it sends none.
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        let code = "canceled"; // the consumer stopped reading
        let observed = false;
        try {
          for await (const m of messages) {
            if (!observed) {
              observed = true;
              observe(s, started);
            }
            yield m;
          }
          code = "ok";
        } catch (e) {
          code = codeName(e);
          throw e;
        } finally {
          if (!observed) observe(s, started);
          count(s, code);
        }
      })(),
    };
  };
  // A unary call on the lean path: the same duration and count, without the interceptor's steps.
  return withUnaryHook<number>(interceptor, {
    before: () => performance.now(),
    after(started, call, failed, error) {
      const s = seriesOf(call.protocolName, call.method);
      observe(s, started);
      count(s, failed ? codeName(error) : "ok");
      return error;
    },
  });
}
