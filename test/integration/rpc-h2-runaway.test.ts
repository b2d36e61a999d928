/**
 * Node 20's HTTP/2 code runs away (an endless loop building frames, memory until std::bad_alloc)
 * when a session that sent GOAWAY is destroyed while one stream's request body is still open and
 * another stream is open: seen on the client side (test/fuzz/h2-hostile.fuzz.ts). The broker's
 * server shares that code, and its own paths send GOAWAY and destroy sessions: shutdown (GOAWAY at
 * once, destroy after the grace period), the idle check (a session whose peer stops answering is
 * destroyed after an unanswered PING) and a peer that half-closes its connection. Each is driven
 * here against the broker in a child process, by a client in another child process (this same
 * file, run with `H2_RUNAWAY_CLIENT` set) that holds request bodies open (lean Publish over gRPC
 * and Connect, gRPC-web Publish and a Connect Read on connect-node), some still uploading, beside
 * open server streams (Subscribe, Read follow), which in the stalled cases have responses waiting
 * behind a 64-byte window. Both children are watched: one past 1 GiB RSS is killed and the test
 * fails. None has run away: the broker stays bounded, serves on, and exits cleanly and promptly on
 * SIGTERM (the shutdown cases check that the grace period did end with the streams still open).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReadRequestSchema } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscribeRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import { ROOT, type RunningCli, startCli, testServeArgs } from "../helpers/spawn-cli.js";

const TOPIC = "runaway";
/** A child past this RSS is taken for a runaway and killed. */
const MAX_RSS_BYTES = 1024 * 1024 * 1024;
/** From SIGTERM to the broker's exit at most (grace 300 ms, then destroy). */
const EXIT_WITHIN_MS = 10_000;
const GRACE_MS = 300;
const IDLE_MS = 400;

type Scenario = "shutdown" | "shutdown-stalled" | "shutdown-uploading" | "idle-unanswered" | "half-close";

// ---------------------------------------------------------------- the client (child process)

function envelope(data: Uint8Array, claimedLength = data.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(claimedLength, 1);
  return Buffer.concat([head, data]);
}

/** Opens the streams and holds them; prints `ready`, then acts as the scenario says. */
async function runClient(baseUrl: string, scenario: Scenario): Promise<void> {
  const url = new URL(baseUrl);
  // A proxy in front of the broker that can stop passing bytes (a peer that no longer answers).
  let frozen = false;
  const pairs: net.Socket[] = [];
  const proxy = net.createServer((inbound) => {
    const outbound = net.connect(Number(url.port), url.hostname);
    pairs.push(inbound, outbound);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on("data", (d: Buffer) => {
        if (!frozen) to.write(d);
      });
      from.on("end", () => to.end());
      from.on("error", () => to.destroy());
      from.on("close", () => to.destroy());
    }
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const port = (proxy.address() as net.AddressInfo).port;
  let socket: net.Socket | undefined;
  // But in the plain shutdown, the client stops reading its server streams past a 64-byte window:
  // the broker's responses wait with data pending when their session goes.
  const stalled = scenario !== "shutdown";
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    ...(stalled ? { settings: { initialWindowSize: 64 } } : {}),
    createConnection: () => {
      socket = net.connect(port, "127.0.0.1");
      return socket;
    },
  });
  session.on("error", () => {});
  session.on("goaway", (code) => console.log(`goaway ${code}`));
  session.on("close", () => console.log("session closed"));
  await new Promise<void>((resolve) => session.once("connect", () => resolve()));

  const open = (headers: http2.OutgoingHttpHeaders) => {
    const req = session.request({ ":method": "POST", ...headers });
    req.on("error", () => {});
    if (stalled) req.pause();
    else req.resume();
    return req;
  };
  const grpc = { "content-type": "application/grpc", te: "trailers" };
  const grpcWeb = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  const connectUnary = { "content-type": "application/proto", "connect-protocol-version": "1" };
  const connectStream = { "content-type": "application/connect+proto", "connect-protocol-version": "1" };
  const publish = "/switchyard.v1.PublisherService/Publish";
  const read = "/switchyard.v1.ReplayService/Read";
  // Request bodies left open: a frame that claims 100,000 bytes, of which 100 come.
  const partial = envelope(Buffer.alloc(100, 1), 100_000);
  const uploads = [
    open({ ":path": publish, ...grpc }),
    open({ ":path": publish, ...connectUnary }),
    open({ ":path": publish, ...grpcWeb }),
    open({ ":path": read, ...connectStream }),
  ];
  for (const u of uploads) u.write(partial);
  // Open server streams beside them, their bodies complete.
  const follow = toBinary(
    ReadRequestSchema,
    create(ReadRequestSchema, { topic: TOPIC, from: { case: "fromSeq", value: 1n }, follow: true, maxMessages: 1 }),
  );
  open({ ":path": read, ...grpc }).end(envelope(follow));
  const subscribe = toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { subscription: TOPIC }));
  open({ ":path": "/switchyard.v1.SubscriberService/Subscribe", ...grpc }).end(envelope(subscribe));
  if (scenario === "shutdown-uploading") {
    const timer = setInterval(() => {
      for (const u of uploads) if (!u.closed && u.writable) u.write(Buffer.alloc(64, 2));
    }, 5);
    session.once("close", () => clearInterval(timer));
  }
  // Let the broker take up every stream before acting.
  await new Promise((r) => setTimeout(r, 200));
  if (scenario === "idle-unanswered") frozen = true;
  if (scenario === "half-close") socket?.end();
  console.log("ready");
  // The parent ends this process.
}

// ---------------------------------------------------------------- the test (parent)

/** RSS of a live process in bytes (0 once it is gone). */
async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** Samples the children's RSS every 50 ms; one past {@link MAX_RSS_BYTES} is killed and noted. */
function watchRss(children: Record<string, ChildProcess>): { peaks: Record<string, number>; stop: () => string[] } {
  const peaks: Record<string, number> = {};
  const runaways: string[] = [];
  const timer = setInterval(async () => {
    for (const [name, child] of Object.entries(children)) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      const rss = await rssBytes(child.pid);
      peaks[name] = Math.max(peaks[name] ?? 0, rss);
      if (rss > MAX_RSS_BYTES && !runaways.includes(name)) {
        runaways.push(name);
        child.kill("SIGKILL");
      }
    }
  }, 50);
  return {
    peaks,
    stop() {
      clearInterval(timer);
      return runaways;
    },
  };
}

/** Spawns this file as the client; resolves once it printed `ready`. */
async function startClient(baseUrl: string, scenario: Scenario): Promise<{ child: ChildProcess; out: string[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname], {
    cwd: ROOT,
    env: { ...process.env, H2_RUNAWAY_CLIENT: `${baseUrl} ${scenario}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the client did not get ready in 20 s")), 20_000);
    child.once("exit", () => reject(new Error(`the client exited early: ${out.join("; ")}`)));
    lines.on("line", (line) => {
      out.push(line);
      if (line === "ready") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, out };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
}

async function serves(broker: RunningCli): Promise<void> {
  const admin = createClient(AdminService, createConnectTransport({ baseUrl: broker.baseUrl, httpVersion: "1.1" }));
  const { topics } = await admin.listTopics({});
  assert.deepEqual(
    topics.map((t) => t.name),
    [TOPIC],
  );
}

/** Broker CPU time (user + system) in ms so far, from /proc. */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

async function scenarioRun(scenario: Scenario): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "switchyard-runaway-"));
  const broker = await startCli([
    ...testServeArgs(dataDir),
    "--shutdown-grace-ms",
    String(GRACE_MS),
    "--http2-idle-timeout-ms",
    String(IDLE_MS),
  ]);
  let client: ChildProcess | undefined;
  let watch: ReturnType<typeof watchRss> | undefined;
  try {
    const admin = createClient(AdminService, createConnectTransport({ baseUrl: broker.baseUrl, httpVersion: "1.1" }));
    await admin.createTopic({ name: TOPIC, queue: true });
    // A backlog for the server streams to send (more than a stalled client takes).
    const publisher = createClient(
      PublisherService,
      createConnectTransport({ baseUrl: broker.baseUrl, httpVersion: "1.1" }),
    );
    const data = Buffer.alloc(1000, 0x61);
    await publisher.publish({ topic: TOPIC, messages: Array.from({ length: 100 }, () => ({ data })) });
    const started = await startClient(broker.baseUrl, scenario);
    client = started.child;
    watch = watchRss({ broker: broker.child, client });
    const pid = broker.child.pid as number;
    if (scenario.startsWith("shutdown")) {
      const t0 = Date.now();
      broker.child.kill("SIGTERM");
      const exit = await Promise.race([
        exited(broker.child),
        new Promise<"late">((r) => setTimeout(() => r("late"), EXIT_WITHIN_MS)),
      ]);
      assert.notEqual(exit, "late", `the broker did not exit within ${EXIT_WITHIN_MS} ms`);
      assert.deepEqual(exit, { code: 0, signal: null }, `clean exit:\n${broker.stderr()}`);
      assert.ok(Date.now() - t0 < EXIT_WITHIN_MS);
      // The streams were still open when the grace ended: the sessions were destroyed with them.
      assert.match(broker.stderr(), /grace period over; closing connections/);
    } else {
      // The broker destroys the session (no PING answer / half-closed): it must stay idle and serve.
      await new Promise((r) => setTimeout(r, IDLE_MS * 3 + 300));
      const before = await cpuMs(pid);
      await new Promise((r) => setTimeout(r, 1_000));
      const busy = (await cpuMs(pid)) - before;
      assert.ok(busy < 500, `broker CPU ${busy} ms in an idle second after the session went`);
      await serves(broker);
      assert.ok(started.out.includes("session closed"), `the broker ended the session: ${started.out.join("; ")}`);
      const exit = await broker.stop("SIGTERM", EXIT_WITHIN_MS);
      assert.deepEqual(exit, { code: 0, signal: null }, `clean exit:\n${broker.stderr()}`);
    }
    const runaways = watch.stop();
    assert.deepEqual(runaways, [], `killed past ${MAX_RSS_BYTES} bytes RSS`);
    const peak = watch.peaks.broker ?? 0;
    assert.ok(peak < 512 * 1024 * 1024, `broker peak RSS ${peak} bytes`);
    if (scenario !== "half-close" && scenario !== "idle-unanswered") {
      assert.ok(
        started.out.some((l) => l.startsWith("goaway")),
        `the client got GOAWAY: ${started.out.join("; ")}`,
      );
    }
  } finally {
    watch?.stop();
    client?.kill("SIGKILL");
    if (broker.child.exitCode === null && broker.child.signalCode === null) await broker.stop("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
}

const clientArgs = process.env.H2_RUNAWAY_CLIENT;
if (clientArgs !== undefined) {
  const [baseUrl, scenario] = clientArgs.split(" ") as [string, Scenario];
  await runClient(baseUrl, scenario);
} else {
  for (const scenario of [
    "shutdown",
    "shutdown-stalled",
    "shutdown-uploading",
    "idle-unanswered",
    "half-close",
  ] as const) {
    test(`rpc http2 - ${scenario} with request bodies open beside open streams: no runaway, the broker exits cleanly`, async () => {
      await scenarioRun(scenario);
    });
  }
}
