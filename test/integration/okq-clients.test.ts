/**
 * The okQ bridge on the real server (port 0, LMDB) with real Redis clients: ioredis (default
 * options, which speak RESP3 since v6; RESP2; no ready check), node-redis (RESP3 default and
 * RESP2). redis-cli and redis-benchmark are driven in test/interop/okq-redis-tools.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis, type RedisOptions } from "ioredis";
import { createClient } from "redis";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let okq: { host: string; port: number };

before(async () => {
  server = await startTestServer();
  assert.ok(server.okq, "the okq listener is on");
  okq = server.okq;
});
after(() => server.close());

async function withIoredis(options: RedisOptions, fn: (r: Redis) => Promise<void>): Promise<void> {
  const r = new Redis({ host: okq.host, port: okq.port, lazyConnect: true, maxRetriesPerRequest: 1, ...options });
  try {
    await r.connect();
    await fn(r);
  } finally {
    r.disconnect();
  }
}

/** One okQ round: push two, jump the queue, pop, ack, redo, peek, status. */
async function okqRound(call: (...args: string[]) => Promise<unknown>, q: string): Promise<void> {
  assert.equal(await call("QLPUSH", q, "a", "first"), "OK");
  assert.equal(await call("QLPUSH", q, "b", "second"), "OK");
  await assert.rejects(call("QLPUSH", q, "a", "dup"), /duplicate event a/);
  assert.equal(await call("QRPUSH", q, "z", "urgent"), "OK");
  assert.deepEqual(await call("QRPEEK", q), ["z", "urgent"]);
  assert.deepEqual(await call("QLPEEK", q), ["b", "second"]);
  assert.deepEqual(await call("QRPOP", q, "EX", "30"), ["z", "urgent"]);
  assert.equal(await call("QACK", q, "z"), 1);
  assert.deepEqual(await call("QRPOP", q), ["a", "first"]);
  assert.equal(await call("QACK", q, "a", "REDO"), 1);
  assert.deepEqual(await call("QRPOP", q, "EX", "0"), ["a", "first"]);
  assert.deepEqual(await call("QRPOP", q, "NOACK"), ["b", "second"]);
  assert.equal(await call("QRPOP", q), null);
  assert.equal(await call("QACK", q, "nope"), 0);
  assert.deepEqual(await call("QSTATUS", q), [`${q} total: 0 processing: 0 consumers: 0`]);
  assert.equal(await call("PING"), "PONG");
}

describe("okq clients", () => {
  it("okq - ioredis with default options (RESP3 via HELLO 3) connects and runs every command", async () => {
    await withIoredis({}, async (r) => {
      await okqRound((...a) => r.call(a[0] as string, ...a.slice(1)), "io3");
      assert.match(String(await r.info()), /loading:0/);
    });
  });

  it("okq - ioredis with RESP2, without ready check or client info", async () => {
    await withIoredis({ protocol: 2, enableReadyCheck: false, disableClientInfo: true }, async (r) => {
      await okqRound((...a) => r.call(a[0] as string, ...a.slice(1)), "io2");
    });
  });

  it("okq - ioredis reads binary contents as buffers", async () => {
    await withIoredis({}, async (r) => {
      const data = Buffer.from([0, 1, 2, 255, 13, 10]);
      assert.equal(await r.call("QLPUSH", "iobin", "x", data), "OK");
      const got = (await r.callBuffer("QRPOP", "iobin", "EX", "0")) as Buffer[];
      assert.deepEqual(got[1], data);
    });
  });

  for (const RESP of [3, 2] as const) {
    it(`okq - node-redis (RESP${RESP}${RESP === 3 ? ", its default" : ""}) sendCommand`, async () => {
      const client = createClient({ socket: { host: okq.host, port: okq.port, reconnectStrategy: false }, RESP });
      client.on("error", () => {});
      await client.connect();
      try {
        await okqRound((...a) => client.sendCommand(a), `nr${RESP}`);
      } finally {
        client.destroy();
      }
    });
  }
});
