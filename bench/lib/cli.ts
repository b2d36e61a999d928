/** Command line of `npm run bench` and the suite's parameters. */
import { parseArgs } from "node:util";
import type { BenchParams } from "../workloads/types.js";

/** Usage text. */
export const BENCH_USAGE = `Usage: npm run bench -- [options]

  --quick            a tiny version of every workload (seconds; for CI, no timing assertions)
  --peers            also run the peer targets (Redis always/everysec, RabbitMQ, NATS JetStream),
                     interleaved over --runs runs, with medians and Switchyard ÷ peer ratios
  --runs N           runs per target (default 3 with --peers, else 1)
  --only LIST        workloads to run, e.g. W1,W3 (W1 W2 W3 W4 W5 BL W1U; W2 fills its own topic without W1;
                     W1U: one Publish per call under h2load, see BENCHMARKS.md)
  --targets LIST     targets to run, e.g. switchyard,nats (default: switchyard, plus every peer with --peers)
  --backlog N        messages of the backlog workload (default 1000000, --quick 3000)
  --timeout-s N      time bound of one workload in seconds (default 300, --quick 30)
  --out FILE         JSON results file (default bench/results/<timestamp>.json)
  -h, --help         this text

Environment: BENCH_BROKER_NODE_FLAGS (extra node flags for the Switchyard broker, e.g. --cpu-prof),
BENCH_BROKER_ARGS (extra broker flags, e.g. "--lean-rpc off"),
BENCH_SWITCHYARD_PROTOCOL (connect, the default, or grpc).
`;

/** Parsed options. */
export interface BenchOptions {
  quick: boolean;
  peers: boolean;
  runs: number;
  /** Workload ids, upper case; null: all. */
  only: string[] | null;
  /** Target names; null: the default set. */
  targets: string[] | null;
  out: string | null;
  help: boolean;
  params: BenchParams;
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, got "${text}"`);
  return n;
}

function list(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Parses `argv` (without node and the script); throws on an unknown or malformed option. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      peers: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string" },
      targets: { type: "string" },
      backlog: { type: "string" },
      "timeout-s": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick ?? false;
  const peers = values.peers ?? false;
  const params = benchParams(quick);
  params.backlogMessages = positiveInt("backlog", values.backlog, params.backlogMessages);
  params.workloadTimeoutMs = positiveInt("timeout-s", values["timeout-s"], params.workloadTimeoutMs / 1000) * 1000;
  return {
    quick,
    peers,
    runs: positiveInt("runs", values.runs, peers ? 3 : 1),
    only: list(values.only)?.map((s) => s.toUpperCase()) ?? null,
    targets: list(values.targets),
    out: values.out ?? null,
    help: values.help ?? false,
    params,
  };
}

/** The suite's sizes: the full run, or a tiny one with `quick`. */
export function benchParams(quick: boolean): BenchParams {
  return {
    quick,
    w1Messages: quick ? 2_000 : 100_000,
    batchMaxMessages: 100,
    batchMaxBytes: 1024 * 1024,
    batchLingerMs: 1,
    maxInFlightMessages: 256,
    w3Messages: quick ? 1_000 : 20_000,
    w3WarmupMessages: quick ? 200 : 5_000,
    w3RatePerSec: 5_000,
    w4Messages: quick ? 500 : 20_000,
    w4Subscriptions: 8,
    w5SizesBytes: [64, 1024, 16 * 1024, 256 * 1024],
    w5BytesPerSize: quick ? 1024 * 1024 : 64 * 1024 * 1024,
    w5MaxMessages: quick ? 500 : 50_000,
    backlogMessages: quick ? 3_000 : 1_000_000,
    workloadTimeoutMs: quick ? 30_000 : 300_000,
  };
}
