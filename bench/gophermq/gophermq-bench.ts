/**
 * The GopherMQ bridge benchmark: a Switchyard broker process with `--gophermq-port 0` (default
 * `--durability flush`), loaded over keep-alive HTTP/1.1 by a small client in this process:
 * GopherMQ publishes (each answered after its commit and sync) beside Connect Publish calls of one
 * message each at the same concurrency on the same broker, then one subscriber's fetches draining
 * the backlog beside Connect Pull (auto-ack) of the same size. `--gophermq-max-pending` is lifted
 * so the publish phase measures the broker, not GopherMQ's overflow rule.
 */
import * as http from "node:http";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { startBrokerProcess } from "../lib/broker-process.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

/** One measured row. */
export interface GophermqRow {
  phase: string;
  messages: number;
  perSecond: number;
  errors: number;
}

/** Sizes of a run. */
export interface GophermqBenchParams {
  messages: number;
  connections: number;
  payloadBytes: number;
}

export function gophermqBenchParams(quick: boolean): GophermqBenchParams {
  return { messages: quick ? 500 : 20_000, connections: quick ? 4 : 32, payloadBytes: 1024 };
}

/** POSTs JSON on a keep-alive agent; resolves with the status and body. */
function post(agent: http.Agent, url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.end(body);
  });
}

/** Runs `total` operations over `connections` concurrent workers; returns the rate and errors. */
async function load(total: number, connections: number, op: () => Promise<boolean>) {
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < total) {
        next++;
        if (!(await op().catch(() => false))) errors++;
      }
    }),
  );
  return { perSecond: (total / (performance.now() - start)) * 1000, errors };
}

/** Runs the GopherMQ benchmark; returns the rows and a Markdown section. */
export async function runGophermqBench(options: {
  quick: boolean;
  log: (l: string) => void;
}): Promise<{ rows: GophermqRow[]; markdown: string }> {
  const p = gophermqBenchParams(options.quick);
  const dir = makeTempDir("gophermq");
  const rows: GophermqRow[] = [];
  const notes: string[] = [];
  const broker = await startBrokerProcess(dir, ["--gophermq-port", "0", "--gophermq-max-pending", "1000000000"]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: p.connections });
  const rpcAgent = new http.Agent({ keepAlive: true, maxSockets: p.connections });
  try {
    const base = `http://${broker.addresses.gophermq}`;
    const transport = createConnectTransport({
      baseUrl: broker.baseUrl,
      httpVersion: "1.1",
      nodeOptions: { agent: rpcAgent },
    });
    const admin = createClient(AdminService, transport);
    const publisher = createClient(PublisherService, transport);
    const subscriber = createClient(SubscriberService, transport);
    const data = "x".repeat(p.payloadBytes);
    const sub = await post(agent, `${base}/api/subscribe`, JSON.stringify({ subject: "bench" }));
    const id = (JSON.parse(sub.body) as { id: string }).id;
    const body = JSON.stringify({ subject: "bench", data });
    const gPub = await load(p.messages, p.connections, async () => {
      return (await post(agent, `${base}/api/publish`, body)).status === 200;
    });
    rows.push({ phase: "GopherMQ publish (1 message per request)", messages: p.messages, ...gPub });
    await admin.createTopic({ name: "bench-connect", queue: true });
    const payload = Buffer.from(data);
    const cPub = await load(p.messages, p.connections, async () => {
      await publisher.publish({ topic: "bench-connect", messages: [{ data: payload }] });
      return true;
    });
    rows.push({ phase: "Connect Publish (1 message per call)", messages: p.messages, ...cPub });
    // Drain: one subscriber, fetch after fetch (each up to the bridge's per-fetch cap).
    let fetched = 0;
    let fetchErrors = 0;
    const start = performance.now();
    while (fetched < p.messages) {
      const res = await post(agent, `${base}/api/fetch`, JSON.stringify({ subject: "bench", id }));
      const got = res.status === 200 ? (JSON.parse(res.body) as { data: string[] }).data.length : 0;
      if (res.status !== 200) fetchErrors++;
      if (got === 0) break;
      fetched += got;
    }
    const fetchRate = (fetched / (performance.now() - start)) * 1000;
    rows.push({
      phase: "GopherMQ fetch (drain one subscriber)",
      messages: fetched,
      perSecond: fetchRate,
      errors: fetchErrors,
    });
    let pulled = 0;
    const pullStart = performance.now();
    while (pulled < p.messages) {
      const got = await subscriber.pull({ subscription: "bench-connect", maxMessages: 1000, autoAck: true });
      if (got.messages.length === 0) break;
      pulled += got.messages.length;
    }
    const pullRate = (pulled / (performance.now() - pullStart)) * 1000;
    rows.push({
      phase: "Connect Pull (auto-ack, up to 1000 per call)",
      messages: pulled,
      perSecond: pullRate,
      errors: 0,
    });
  } catch (e) {
    notes.push(`failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    options.log(`  gophermq bench ${notes[notes.length - 1]}`);
  } finally {
    agent.destroy();
    rpcAgent.destroy();
    await broker.stop().catch(() => undefined);
    removeDir(dir);
  }
  for (const r of rows) options.log(`  ${r.phase}: ${Math.round(r.perSecond)} msg/s, ${r.errors} errors`);
  return { rows, markdown: renderGophermq(rows, p, notes) };
}

function renderGophermq(rows: readonly GophermqRow[], p: GophermqBenchParams, notes: readonly string[]): string {
  const out = [
    `\n### GopherMQ bridge (HTTP JSON): ${p.messages} messages of ${p.payloadBytes} B, ${p.connections} connections\n`,
    "| phase | messages | msg/s | errors |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map(
      (r) => `| ${r.phase} | ${r.messages} | ${Math.round(r.perSecond).toLocaleString("en-US")} | ${r.errors} |`,
    ),
  ];
  const [gPub, cPub] = rows;
  if (gPub && cPub) out.push(`\nGopherMQ publish ÷ Connect Publish = ${(gPub.perSecond / cPub.perSecond).toFixed(2)}`);
  for (const n of notes) out.push(`\n${n}`);
  return `${out.join("\n")}\n`;
}
