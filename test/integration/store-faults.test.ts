/**
 * The store's faults as clients and operators see them, on a real server with real LMDB and
 * sockets: the free-space floor (an injected free-space probe) and the failed state (an injected
 * commit failure). The same with a real fsync failure and a real full disk: test/interop/disk-faults.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import {
  type DiskSpace,
  KvCommitError,
  type KvEngine,
  type LmdbStoreOptions,
  openLmdbStore,
} from "../../src/store/index.js";
import { createTestClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";

const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);

/** The reason and code of a failed call. */
function failure(e: unknown): { code: Code; reason: string; metadata: Record<string, string>; message: string } {
  const err = ConnectError.from(e);
  const detail = err.findDetails(ErrorDetailSchema)[0];
  return { code: err.code, reason: detail?.reason ?? "", metadata: detail?.metadata ?? {}, message: err.rawMessage };
}

async function rejection(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return failure(e);
  }
  assert.fail("expected the call to fail");
}

/** Polls `check` every 20 ms until it is true, at most `ms`. */
async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function healthz(baseUrl: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${baseUrl}/healthz`);
  return { status: res.status, body: await res.text() };
}

describe("store faults", () => {
  it("min-free-disk - below the floor publishes are refused, acks, nacks and purges work, and it resumes by itself", async (t) => {
    const disk: DiskSpace = { availableBytes: 100 * MiB, totalBytes: 1000 * MiB };
    const openStore = (o: LmdbStoreOptions) =>
      openLmdbStore({ ...o, diskSpaceProbe: async () => ({ ...disk }), diskRecheckMs: 20 });
    const s = await startTestServer({ openStore, config: { minFreeDisk: { bytes: 10 * MiB } } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "jobs", queue: true });
    await c.publisher.publish({
      topic: "jobs",
      messages: [1, 2, 3].map((i) => ({ data: text(`m${i}`), id: `m${i}` })),
    });

    // A Watch stream on the publisher service sees each change as it happens.
    const watchStop = new AbortController();
    t.after(() => watchStop.abort());
    const watched: Serving[] = [];
    const watching = (async () => {
      for await (const r of c.health.watch(
        { service: "switchyard.v1.PublisherService" },
        { signal: watchStop.signal },
      )) {
        watched.push(r.status);
      }
    })().catch(() => {});
    await until(async () => watched.length === 1);

    disk.availableBytes = 4 * MiB;
    await until(async () => {
      const r = await c.publisher
        .publish({ topic: "jobs", messages: [{ data: text("x"), id: "probe" }] })
        .then(() => undefined, failure);
      return r?.reason === "INSUFFICIENT_STORAGE";
    });
    const refused = await rejection(c.publisher.publish({ topic: "jobs", messages: [{ data: text("late") }] }));
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.equal(refused.reason, "INSUFFICIENT_STORAGE");
    assert.deepEqual(refused.metadata, { free_bytes: String(4 * MiB), min_free_bytes: String(10 * MiB) });

    assert.equal((await c.health.check({})).status, Serving.SERVING, "the broker serves: consumers drain it");
    assert.equal((await c.health.check({ service: "switchyard.v1.PublisherService" })).status, Serving.NOT_SERVING);
    const low = await healthz(s.baseUrl);
    assert.equal(low.status, 200);
    const said = /low disk space: (\d+) bytes free, below --min-free-disk \(10485760\): publishes refused/.exec(
      low.body,
    );
    // The measured 4 MiB, less what publishes in flight then had reserved (the 1-byte probe: under 1 KiB).
    const free = Number(said?.[1]);
    assert.ok(free <= 4 * MiB && free > 4 * MiB - 1024, low.body);

    // What frees space still works.
    const pulled = await c.subscriber.pull({ subscription: "jobs", maxMessages: 2 });
    assert.equal(pulled.messages.length, 2);
    await c.subscriber.ack({ subscription: "jobs", ackIds: [pulled.messages[0]?.ackId ?? ""] });
    await c.subscriber.nack({ subscription: "jobs", ackIds: [pulled.messages[1]?.ackId ?? ""] });
    await c.admin.purgeTopic({ name: "jobs" });
    assert.equal((await c.subscriber.peek({ subscription: "jobs", maxMessages: 10 })).messages.length, 0);

    // Space returns: health and publishes come back without any client trying first.
    disk.availableBytes = 50 * MiB;
    await until(
      async () => (await c.health.check({ service: "switchyard.v1.PublisherService" })).status === Serving.SERVING,
    );
    assert.deepEqual(await healthz(s.baseUrl), { status: 200, body: "ok\n" });
    await until(async () => watched.length === 3);
    assert.deepEqual(watched, [Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    watchStop.abort();
    await watching;
    const back = await c.publisher.publish({ topic: "jobs", messages: [{ data: text("again"), id: "again" }] });
    assert.equal(back.results[0]?.duplicate, false);
  });

  it("store failed - a failed commit answers STORE_FAILED, refuses writes, reports NOT_SERVING; a restart has every acknowledged publish once", async (t) => {
    let failCommits = false;
    /** Applies each write, then reports its commit as failed while `failCommits` (a failed fsync). */
    const wrapKv = (kv: KvEngine): KvEngine => ({
      write: (fn, options) =>
        kv.write(fn, options).then((v) => {
          if (failCommits) throw new KvCommitError("LMDB failed to commit or sync a write: Input/output error");
          return v;
        }),
      read: (fn) => kv.read(fn),
      close: () => kv.close(),
    });
    const s = await startTestServer({ openStore: (o) => openLmdbStore({ ...o, wrapKv }) });
    let closed = false;
    t.after(() => (closed ? undefined : s.close()));
    const c = createTestClients(s.baseUrl, "grpc");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "jobs", queue: true });
    const acked = await c.publisher.publish({ topic: "jobs", messages: [{ data: text("a"), id: "a" }] });
    assert.equal(acked.results[0]?.seq, 1n);
    const lease = await c.subscriber.pull({ subscription: "jobs", maxMessages: 1 });

    failCommits = true;
    const failed = await rejection(c.publisher.publish({ topic: "jobs", messages: [{ data: text("b"), id: "b" }] }));
    assert.equal(failed.reason, "STORE_FAILED");
    assert.equal(failed.code, Code.Internal, "not UNAVAILABLE: a retry is not known to be safe");
    assert.match(failed.message, /may or may not have been saved/);
    const failure = await s.server.storeFailed;
    assert.match(failure.message, /failed to commit or sync/);

    failCommits = false;
    const refused = await rejection(c.publisher.publish({ topic: "jobs", messages: [{ data: text("c"), id: "c" }] }));
    assert.equal(refused.reason, "STORE_FAILED", "nothing is written after a failure, even when the disk works again");
    const ack = await rejection(c.subscriber.ack({ subscription: "jobs", ackIds: [lease.messages[0]?.ackId ?? ""] }));
    assert.equal(ack.reason, "STORE_FAILED");
    assert.equal((await c.health.check({})).status, Serving.NOT_SERVING);
    assert.equal((await c.health.check({ service: "switchyard.v1.AdminService" })).status, Serving.NOT_SERVING);
    const h = await healthz(s.baseUrl);
    assert.equal(h.status, 503);
    assert.match(h.body, /^store failed: the disk failed to commit or sync a write/);

    // Close ends; the restart runs on what is on disk: "a" once, "c" never.
    c.close();
    const dataDir = s.dataDir;
    await s.server.close();
    const again = await startTestServer({ config: { dataDir } });
    t.after(async () => {
      closed = true;
      await again.close();
    });
    const c2 = createTestClients(again.baseUrl, "connect");
    t.after(() => c2.close());
    const page = await c2.subscriber.peek({ subscription: "jobs", maxMessages: 10 });
    const ids = page.messages.map((m) => m.message?.id ?? "");
    assert.equal(ids.filter((id) => id === "a").length, 1);
    assert.ok(!ids.includes("c"));
    assert.ok(ids.length <= 2, `a and perhaps b (its outcome was unknown): ${ids.join(",")}`);
  });
});
