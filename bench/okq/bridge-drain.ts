/**
 * The okQ drain with no sockets, to weigh the bridge's own path: one process runs a broker on an
 * LMDB store in a temp dir (default durability), the okQ bridge with the production in-process
 * clients and interceptors (as test/helpers/okq-harness.ts wires them), and the drain's clients
 * over `duplexPair()`: 50
 * connections, 16 QRPOP `EX 60` in flight each, every popped event acked with the next pops (the
 * drain of bench/okq/resp-load.ts). Reports drained msg/s and the process's CPU (user + system,
 * clients included) per drained message, best of `--rounds`. A/B tool, not a suite row:
 *
 * With `--fake-broker` the broker is a stand-in that hands out prepared deliveries and answers
 * acks at once (no store, no disk): what is left is the bridge, the in-process clients, the
 * interceptors and the RPC layer. Each round also says how many Pull and Ack calls the broker got
 * (the bridge joins pipelined and concurrent pops and acks of a queue into one call per loop turn).
 *
 *   node --import tsx bench/okq/bridge-drain.ts [--messages 100000] [--rounds 3] [--fake-broker]
 */
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Duplex, duplexPair } from "node:stream";
import { parseArgs } from "node:util";
import { createOkqBridge } from "../../src/bridges/okq/index.js";
import { type Broker, createBroker } from "../../src/core/index.js";
import type { Delivery } from "../../src/model/index.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { openLmdbStore } from "../../src/store/index.js";
import { silentLogger } from "../../src/util/index.js";
import { recordMetrics } from "../../test/helpers/okq-harness.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    pipeline: { type: "string", default: "16" },
    "fake-broker": { type: "boolean", default: false },
  },
});
const MESSAGES = Number(values.messages);
const CONNECTIONS = Number(values.connections);
const PIPELINE = Number(values.pipeline);

/** `*n\r\n$len\r\narg\r\n…` */
function command(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Counts replies in a stream of okQ replies and collects the popped events' ids. */
class Replies {
  private buf: Buffer = Buffer.alloc(0);
  /** Resolves with the ids (null: a nil or non-event reply) once `count` replies arrived. */
  wait: { count: number; got: (string | null)[]; resolve: (ids: (string | null)[]) => void } | undefined;

  constructor(socket: Duplex) {
    socket.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.read();
    });
  }

  private line(at: number): number {
    return this.buf.indexOf("\r\n", at);
  }

  /** One reply at `at`: [next offset, id or null], or undefined when incomplete. */
  private one(at: number): [number, string | null] | undefined {
    const b = this.buf;
    if (at >= b.length) return undefined;
    const end = this.line(at);
    if (end < 0) return undefined;
    if (b[at] !== 0x2a) return [end + 2, null];
    if (b[at + 1] === 0x2d) return [end + 2, null];
    // An event: *2 $idlen id $datalen data
    let p = end + 2;
    let id: string | null = null;
    for (let k = 0; k < 2; k++) {
      const e = this.line(p);
      if (e < 0) return undefined;
      let len = 0;
      for (let i = p + 1; i < e; i++) len = len * 10 + ((b[i] as number) - 0x30);
      if (e + 2 + len + 2 > b.length) return undefined;
      if (k === 0) id = b.toString("latin1", e + 2, e + 2 + len);
      p = e + 2 + len + 2;
    }
    return [p, id];
  }

  private read(): void {
    let at = 0;
    for (;;) {
      const w = this.wait;
      if (!w) break;
      const r = this.one(at);
      if (!r) break;
      at = r[0];
      w.got.push(r[1]);
      if (w.got.length === w.count) {
        this.wait = undefined;
        w.resolve(w.got);
      }
    }
    this.buf = this.buf.subarray(at);
  }
}

/** A broker that hands out `total` prepared deliveries of 1 KiB, then none, and acks anything at once. */
function fakeBroker(total: number): Broker {
  const data = new Uint8Array(1024).fill(0x78);
  let next = 0;
  const delivery = (i: number): Delivery => ({
    ackId: `1-${i}-1-0`,
    deliveryAttempt: 1,
    message: {
      topic: "okq-bench",
      seq: i + 1,
      id: `e${i}`,
      data,
      attributes: {},
      publishTimeMs: 1_700_000_000_000 + i,
      priority: 0,
      orderingKey: "",
      deliverAtMs: 0,
      expireAtMs: 0,
    },
  });
  const fake = {
    async pull(o: { maxMessages: number }) {
      const out: Delivery[] = [];
      while (out.length < o.maxMessages && next < total) out.push(delivery(next++));
      return out;
    },
    async ack() {},
    async close() {},
  };
  return fake as unknown as Broker;
}

/** A QACK of okq-bench up to its id (the load's ids are ASCII). */
const ACK_PREFIX = "*3\r\n$4\r\nQACK\r\n$9\r\nokq-bench\r\n";

/** Broker calls of the drain: Pulls and the messages they handed out, Acks and the ids they named. */
const calls = { pulls: 0, pulled: 0, acks: 0, acked: 0 };

/**
 * `broker` with its pull and ack counted in {@link calls}: how well the bridge joins pops and
 * acks into broker calls (one per queue per loop turn at best).
 */
function countCalls(broker: Broker): Broker {
  const pull = broker.pull.bind(broker);
  const ack = broker.ack.bind(broker);
  broker.pull = async (request, signal) => {
    const out = await pull(request, signal);
    calls.pulls++;
    calls.pulled += out.length;
    return out;
  };
  broker.ack = async (subscription, targets) => {
    calls.acks++;
    calls.acked += targets.ackIds.length + targets.messageIds.length;
    return ack(subscription, targets);
  };
  return broker;
}

async function round(): Promise<{ perSecond: number; cpuMicros: number; drained: number }> {
  const dir = mkdtempSync(join(tmpdir(), "okq-bridge-drain-"));
  const fake = values["fake-broker"] === true;
  const store = fake ? undefined : await openLmdbStore({ path: dir });
  const broker = countCalls(store ? createBroker({ store }) : fakeBroker(MESSAGES));
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // one listener per connection
  const interceptors = createServerInterceptors({ shutdownSignal: shutdown.signal });
  const clients = createInProcessClients(broker, silentLogger, interceptors);
  const bridge = createOkqBridge({
    clients,
    logger: silentLogger,
    metrics: recordMetrics(),
    shutdownSignal: shutdown.signal,
  });
  const connect = () => {
    const [client, server] = duplexPair();
    bridge.handleConnection(server);
    return client;
  };
  const h = { clients };
  try {
    const data = new Uint8Array(1024).fill(0x78);
    for (let i = 0; i < (fake ? 0 : MESSAGES); i += 1000) {
      if (i === 0) await h.clients.admin.createTopic({ name: "okq-bench", queue: true });
      const messages = Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, k) => ({ id: `e${i + k}`, data }));
      await h.clients.publisher.publish({ topic: "okq-bench", messages });
    }
    const pop = command(["QRPOP", "okq-bench", "EX", "60"]);
    const pops = Buffer.concat(Array.from({ length: PIPELINE }, () => pop));
    const conns = Array.from({ length: CONNECTIONS }, () => {
      const socket = connect();
      return { socket, replies: new Replies(socket) };
    });
    let drained = 0;
    Object.assign(calls, { pulls: 0, pulled: 0, acks: 0, acked: 0 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      conns.map(async ({ socket, replies }) => {
        let acks: Buffer[] = [];
        for (;;) {
          const ids = await new Promise<(string | null)[]>((resolve) => {
            replies.wait = { count: acks.length + PIPELINE, got: [], resolve };
            socket.write(Buffer.concat([...acks, pops]));
          });
          const popped = ids.slice(acks.length).filter((id): id is string => id !== null);
          acks = popped.map((id) => Buffer.from(`${ACK_PREFIX}$${id.length}\r\n${id}\r\n`, "latin1"));
          drained += popped.length;
          if (popped.length === 0) return;
        }
      }),
    );
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { perSecond: (drained / ms) * 1000, cpuMicros: (cpu.user + cpu.system) / drained, drained };
  } finally {
    shutdown.abort();
    await bridge.close(1000);
    await broker.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < Number(values.rounds); i++) {
  const r = await round();
  results.push(r);
  process.stderr.write(
    `round ${i + 1}: ${r.drained} drained, ${Math.round(r.perSecond)} msg/s, ${r.cpuMicros.toFixed(2)} µs CPU/msg; ` +
      `${calls.pulls} Pulls (${calls.pulled} messages), ${calls.acks} Acks (${calls.acked} ids)\n`,
  );
}
const best = Math.min(...results.map((r) => r.cpuMicros));
const median = results.map((r) => r.cpuMicros).sort((a, b) => a - b)[Math.floor(results.length / 2)] as number;
process.stdout.write(`bridge drain: best ${best.toFixed(2)}, median ${median.toFixed(2)} µs CPU/msg\n`);
process.exit(0);
