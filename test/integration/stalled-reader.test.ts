/**
 * A stalled reader must not make the server buffer more than its window. The real server runs
 * as a child process (so its memory is its own), a large backlog is published, and a Subscribe
 * stream is opened over raw HTTP/2 and never read: HTTP/2 flow control stops the server's
 * writes, connect-node awaits each write, and the stream's window stops further leases. The
 * server's anonymous RSS (heap and buffers, not LMDB's file-backed map) is sampled while the
 * backlog doubles behind the stalled stream; it must stay flat.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscribeRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";

const MESSAGE_BYTES = 2048;
const BATCH = 500;
/** Each round publishes this many messages (80 MiB of payload). */
const ROUND_MESSAGES = 40_000;
const WINDOW_MESSAGES = 1000;
const WINDOW_BYTES = 4 * 1024 * 1024;
/** Generous: the window is 4 MiB; anything near the backlog's 80 MiB per round would fail. */
const MAX_GROWTH_BYTES = 48 * 1024 * 1024;

function rssAnonBytes(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "RssAnon in /proc/<pid>/status");
  return Number(m[1]) * 1024;
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

test("stalled reader - a Subscribe stream nobody reads holds its window; server memory stays flat as the backlog grows", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-stall-"));
  const server = await startCli([...testServeArgs(dataDir), "--durability", "commit"]);
  t.after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const pid = server.child.pid as number;
  const transport = createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" });
  const admin = createClient(AdminService, transport);
  const publisher = createClient(PublisherService, transport);
  await admin.createTopic({ name: "big", queue: true });
  const payload = new Uint8Array(MESSAGE_BYTES).fill(120);
  const publishRound = async () => {
    for (let sent = 0; sent < ROUND_MESSAGES; sent += BATCH) {
      await publisher.publish({ topic: "big", messages: Array.from({ length: BATCH }, () => ({ data: payload })) });
    }
  };
  await publishRound();
  const before = rssAnonBytes(pid);

  // The stalled reader: a gRPC Subscribe over raw h2c whose response is never read.
  const session = http2.connect(server.baseUrl);
  t.after(() => session.destroy());
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": "/switchyard.v1.SubscriberService/Subscribe",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.pause();
  const body = toBinary(
    SubscribeRequestSchema,
    create(SubscribeRequestSchema, {
      subscription: "big",
      maxOutstandingMessages: WINDOW_MESSAGES,
      maxOutstandingBytes: BigInt(WINDOW_BYTES),
    }),
  );
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  Buffer.from(body).copy(frame, 5);
  stream.end(frame);

  // The stream takes its window, then the backlog doubles behind it.
  const inFlight = async () => (await admin.getStats({ topics: ["big"] })).subscriptions[0]?.inFlight ?? -1n;
  const deadline = Date.now() + 10_000;
  while ((await inFlight()) === 0n) {
    assert.ok(Date.now() < deadline, "the stream never leased anything");
    await new Promise((r) => setTimeout(r, 20));
  }
  await publishRound();
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssAnonBytes(pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  const peak = Math.max(...samples);
  const held = await inFlight();
  const stats = await admin.getStats({ topics: ["big"] });
  t.diagnostic(
    `backlog ${stats.subscriptions[0]?.backlog} messages (${mib(Number(stats.topics[0]?.bytes ?? 0n))}); ` +
      `stream holds ${held}; server RssAnon before ${mib(before)}, peak after ${mib(peak)}, ` +
      `growth ${mib(peak - before)}`,
  );
  assert.ok(held > 0n && held <= BigInt(WINDOW_MESSAGES), `the stream holds at most its window, got ${held}`);
  assert.ok(held * BigInt(MESSAGE_BYTES) <= BigInt(WINDOW_BYTES) + BigInt(MESSAGE_BYTES), "and at most its bytes");
  assert.equal(stats.subscriptions[0]?.backlog, BigInt(2 * ROUND_MESSAGES));
  assert.ok(peak - before < MAX_GROWTH_BYTES, `server anonymous memory grew ${mib(peak - before)}`);
});
