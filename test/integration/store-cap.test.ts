/**
 * `--max-store-bytes` on a real server with real LMDB: the free-space gate counts the room left
 * under the cap like free disk, so publishes are refused (INSUFFICIENT_STORAGE) before the data
 * file passes it, while pulls and acks drain the store and publishes resume by themselves.
 * Also: LMDB's map size is no cap (lmdb-js grows the map), so a small map never fails a write.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { validateConfig } from "../../src/config/index.js";
import { createBroker } from "../../src/core/index.js";
import { type LmdbStoreOptions, openLmdbStore } from "../../src/store/index.js";
import { createTestClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";

const MiB = 1024 * 1024;

function reasonOf(e: unknown): { code: Code; reason: string } {
  const err = ConnectError.from(e);
  return { code: err.code, reason: err.findDetails(ErrorDetailSchema)[0]?.reason ?? "" };
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("store cap", () => {
  it("max-store-bytes - publishes are refused before the data file passes the cap; acks drain it and publishes resume", async (t) => {
    const CAP = 32 * MiB;
    const openStore = (o: LmdbStoreOptions) => openLmdbStore({ ...o, diskRecheckMs: 20 });
    const s = await startTestServer({ openStore, config: { maxStoreBytes: CAP, minFreeDisk: { bytes: 4 * MiB } } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "jobs", queue: true });

    const batch = (i: number) => ({
      topic: "jobs",
      messages: [0, 1, 2, 3].map((j) => ({ data: new Uint8Array(256 * 1024).fill(j), id: `m${i}-${j}` })),
    });
    let stored = 0;
    let refused: { code: Code; reason: string } | undefined;
    for (let i = 0; i < 64 && !refused; i++) {
      try {
        await c.publisher.publish(batch(i));
        stored += 4;
      } catch (e) {
        refused = reasonOf(e);
      }
    }
    assert.deepEqual(refused, { code: Code.ResourceExhausted, reason: "INSUFFICIENT_STORAGE" });
    assert.ok(stored >= 40, `most of the cap was usable: ${stored} messages of 256 KiB`);
    const file = await stat(join(s.dataDir, "data.mdb"));
    assert.ok(file.size <= CAP, `the data file (${file.size} bytes) stayed under the cap`);
    assert.equal((await c.health.check({ service: "switchyard.v1.PublisherService" })).status, Serving.NOT_SERVING);

    // Pulls and acks still work, past the floor, and drain everything.
    let acked = 0;
    for (;;) {
      const got = await c.subscriber.pull({ subscription: "jobs", maxMessages: 8 });
      if (got.messages.length === 0) break;
      await c.subscriber.ack({ subscription: "jobs", ackIds: got.messages.map((m) => m.ackId) });
      acked += got.messages.length;
    }
    assert.equal(acked, stored, "every stored message was delivered and acked");

    // The pages the acks freed are reused: publishes resume without a restart.
    await until(async () =>
      c.publisher.publish(batch(1000)).then(
        () => true,
        () => false,
      ),
    );
  });

  it("max-store-bytes - a cap the floor would fill is refused at start; 0 means none", () => {
    assert.throws(
      () => validateConfig({ maxStoreBytes: 32 * MiB, minFreeDisk: { bytes: 64 * MiB } }),
      /--max-store-bytes 33554432 is not above the --min-free-disk floor/,
    );
    assert.throws(() => validateConfig({ maxStoreBytes: MiB }), /at least 16MiB/);
    assert.equal(validateConfig({}).maxStoreBytes, 0);
  });

  it("map size - LMDB's map is no cap: a store opened with a 1 MiB map takes 8 MiB of messages", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "switchyard-map-"));
    t.after(() => rm(path, { recursive: true, force: true }));
    const store = await openLmdbStore({ path, mapSizeBytes: MiB, minFreeDisk: {} });
    const broker = createBroker({ store });
    t.after(async () => {
      await broker.close();
      await store.close();
    });
    await broker.createTopic({ name: "t", queue: true });
    for (let i = 0; i < 32; i++) {
      await broker.publish("t", [{ id: `m${i}`, data: new Uint8Array(256 * 1024).fill(i) }]);
    }
    const got = await broker.peek("t", 100, 0, undefined, { maxBytes: 64 * MiB });
    assert.equal(got.length, 32);
    assert.ok((await stat(join(path, "data.mdb"))).size > 8 * MiB);
  });
});
