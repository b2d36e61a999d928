/**
 * What the W1 single client costs per call against a given server: the bench's own publisher
 * (bench/targets/switchyard.ts `publisherOn`: the generated connect-node client, one HTTP/2
 * session, a signal shared by all calls) publishing one 1 KiB message per Publish call with at
 * most 256 unconfirmed (bench/lib/publish.ts, as W1 single does), against the broker or one of the
 * constant servers of bench/unary/constant-server.ts. Prints calls/s and the CPU per call of this
 * (client) process and of the server process.
 *
 *   node [--cpu-prof --cpu-prof-dir=DIR] --import tsx bench/tools/client-cost.ts \
 *     [--server switchyard|lean-off|volatile|grpc-js|bare] [--protocol connect|grpc] \
 *     [--calls 20000] [--warmup 2000] [--server-args="--end-apart ..."] [--client bench|defaults|defaults-json]
 *     [--in-flight 256] [--base-url http://127.0.0.1:PORT --server-pid PID]
 *
 * `--in-flight` is the window of unconfirmed messages (W1's is 256); the confirm p50 it prints
 * runs from a message's admission to its confirmation, as W1's does.
 *
 * `--server-args` go to the server: the broker's flags (e.g. `--http2-max-concurrent-streams
 * 1000`), or the switches of the bare constant server (`--max-concurrent-streams N`,
 * `--end-apart`; bench/unary/constant-server.ts).
 * `--base-url` calls a server that is already running (and `--server-pid` reports its CPU), for
 * trying server variants that are not in this repository.
 *
 * `--client defaults` swaps the bench's client for one made the way the connect-node docs make
 * one: `createConnectTransport({ baseUrl, httpVersion: "2" })` (binary: connect-node's default)
 * or `createGrpcTransport({ baseUrl })`, default compression settings, no signal;
 * `--client defaults-json` is the same with `useBinaryFormat: false` (JSON).
 *
 * `volatile` is the broker with `--durability none` (the disk out of the way). With `--cpu-prof`
 * the profile covers the whole process; the warm-up is short next to the measured calls. Rank
 * it with bench/tools/cpuprofile-top.ts.
 */
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { makePayload } from "../lib/payload.js";
import { readCpuMs } from "../lib/proc.js";
import { BatchingPublisher } from "../lib/publish.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";
import { publisherOn, type SwitchyardProtocol } from "../targets/switchyard.js";
import type { BenchPublisher } from "../targets/target.js";
import { startConstant, startSwitchyard, UNARY_TOPIC, type UnaryTarget } from "../unary/unary-bench.js";

const SERVERS = ["switchyard", "lean-off", "volatile", "grpc-js", "bare"] as const;
type ServerKind = (typeof SERVERS)[number];

async function startServer(kind: ServerKind, dataDir: string, args: readonly string[]): Promise<UnaryTarget> {
  if (kind === "grpc-js" || kind === "bare") return startConstant(kind, args);
  return startSwitchyard(dataDir, kind !== "lean-off", kind === "volatile" ? "none" : "flush", args);
}

const CLIENTS = ["bench", "defaults", "defaults-json"] as const;
type ClientKind = (typeof CLIENTS)[number];

/** The bench's publisher, or one with connect-node's default options (see the module comment). */
function makePublisher(client: ClientKind, baseUrl: string, protocol: SwitchyardProtocol): BenchPublisher {
  if (client === "bench") return publisherOn(baseUrl, UNARY_TOPIC, undefined, protocol);
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl })
      : createConnectTransport({
          baseUrl,
          httpVersion: "2",
          ...(client === "defaults-json" ? { useBinaryFormat: false } : {}),
        });
  const publisher = createClient(PublisherService, transport);
  return {
    async publish(payloads) {
      await publisher.publish({ topic: UNARY_TOPIC, messages: payloads.map((data) => ({ data })) });
    },
    // Nothing is in flight by now; the session goes when the server stops (or after connect-node's idle timeout).
    close: async () => {},
  };
}

/** Publishes `calls` single-message calls (at most `inFlight` unconfirmed) and waits for every confirmation. */
async function publishCalls(
  client: ClientKind,
  baseUrl: string,
  protocol: SwitchyardProtocol,
  calls: number,
  first: number,
  inFlight: number,
) {
  const publisher = makePublisher(client, baseUrl, protocol);
  const batcher = new BatchingPublisher(publisher, {
    maxMessages: 1,
    maxBytes: 1024 * 1024,
    lingerMs: 1,
    maxInFlightMessages: inFlight,
  });
  let failed = 0;
  const latencies = new Float64Array(calls);
  let confirmed = 0;
  const onConfirm = (ms: number, error?: unknown) => {
    if (error !== undefined) failed++;
    else latencies[confirmed++] = ms;
  };
  try {
    for (let i = 0; i < calls; i++) await batcher.send(makePayload(1024, first + i), onConfirm);
    await batcher.flush();
  } finally {
    await publisher.close();
  }
  const sorted = latencies.subarray(0, confirmed).sort();
  return { failed, confirmP50Ms: sorted[Math.floor(confirmed / 2)] ?? Number.NaN };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: "string", default: "switchyard" },
      protocol: { type: "string", default: "connect" },
      calls: { type: "string", default: "20000" },
      warmup: { type: "string", default: "2000" },
      "base-url": { type: "string" },
      "server-pid": { type: "string" },
      client: { type: "string", default: "bench" },
      "server-args": { type: "string", default: "" },
      "in-flight": { type: "string", default: "256" },
    },
  });
  const kind = values.server as ServerKind;
  if (!SERVERS.includes(kind)) throw new Error(`--server: one of ${SERVERS.join(", ")}`);
  const protocol = values.protocol === "grpc" ? "grpc" : "connect";
  if (kind === "grpc-js" && protocol !== "grpc") throw new Error("grpc-js serves gRPC only");
  const client = values.client as ClientKind;
  if (!CLIENTS.includes(client)) throw new Error(`--client: one of ${CLIENTS.join(", ")}`);
  const calls = Number(values.calls);
  const warmup = Number(values.warmup);
  const inFlight = Number(values["in-flight"]);
  const serverArgs = values["server-args"].split(/\s+/).filter((a) => a !== "");
  const dataDir = makeTempDir("client-cost");
  const external = values["base-url"];
  const server: UnaryTarget = external
    ? { name: external, pid: Number(values["server-pid"] ?? 0), baseUrl: external, protocols: [], stop: async () => {} }
    : await startServer(kind, dataDir, serverArgs);
  const label = external ? `${external} (${values["server-pid"] ?? "?"})` : [kind, ...serverArgs].join(" ");
  try {
    await publishCalls(client, server.baseUrl, protocol, warmup, 0, inFlight);
    const serverCpu0 = readCpuMs(server.pid) ?? Number.NaN;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { failed, confirmP50Ms } = await publishCalls(client, server.baseUrl, protocol, calls, warmup, inFlight);
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const serverCpuMs = (readCpuMs(server.pid) ?? Number.NaN) - serverCpu0;
    const clientUs = (cpu.user + cpu.system) / calls;
    process.stdout.write(
      `${label} ${protocol} (${client} client, ≤${inFlight} in flight): ${calls} calls (${failed} failed), ` +
        `${Math.round((calls * 1000) / elapsedMs)} calls/s, confirm p50 ${confirmP50Ms.toFixed(2)} ms, ` +
        `client ${clientUs.toFixed(1)} µs/call (user ${(cpu.user / calls).toFixed(1)}), ` +
        `server ${((serverCpuMs * 1000) / calls).toFixed(1)} µs/call\n`,
    );
  } finally {
    await server.stop();
    removeDir(dataDir);
  }
}

await main();
