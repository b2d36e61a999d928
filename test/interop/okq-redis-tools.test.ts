/**
 * The okQ bridge driven by Debian's redis-tools (redis-cli and redis-benchmark) against the real
 * server (port 0, LMDB). Part of `npm run test:interop`, whose preflight
 * (scripts/interop-preflight.sh) fails with the apt-get line when a program is missing.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);

let server: TestServer;
let okq: { host: string; port: number };

before(async () => {
  server = await startTestServer();
  assert.ok(server.okq, "the okq listener is on");
  okq = server.okq;
});
after(() => server.close());

describe("okq with redis-tools", () => {
  it("okq - redis-cli pushes, pops and acks", async () => {
    const cli = (...args: string[]) =>
      run("redis-cli", ["-h", okq.host, "-p", String(okq.port), ...args]).then((r) => r.stdout);
    assert.equal(await cli("QLPUSH", "cli", "e1", "hello world"), "OK\n");
    assert.equal(await cli("QRPOP", "cli"), "e1\nhello world\n");
    assert.equal(await cli("QACK", "cli", "e1"), "1\n");
    assert.equal(await cli("QRPOP", "cli"), "\n");
    assert.equal(await cli("QSTATUS", "cli"), "cli total: 0 processing: 0 consumers: 0\n");
    assert.equal(await cli("PING"), "PONG\n");
    assert.equal(await cli("-3", "QRPOP", "cli"), "\n");
    assert.match(await cli("FOO"), /ERR unknown command "FOO"/);
  });

  it("okq - redis-benchmark pipelines pushes; every one is stored", async () => {
    const n = 2000;
    // Two random numbers per id: one __rand_int__ repeats within a few thousand pushes (a
    // duplicate event is an error reply, and redis-benchmark stops at the first one).
    const args = ["-h", okq.host, "-p", String(okq.port), "-c", "4", "-n", String(n), "-P", "16", "-r", "1000000000"];
    const { stdout } = await run("redis-benchmark", [...args, "-q", "QLPUSH", "rb", "__rand_int__-__rand_int__", "x"]);
    assert.match(stdout, /requests per second/);
    const r = new Redis({ host: okq.host, port: okq.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      const status = String(await r.call("QSTATUS", "rb"));
      const total = Number(/total: (\d+)/.exec(status)?.[1]);
      // Every push was answered OK (else redis-benchmark fails); a repeated random id is a
      // duplicate and stores nothing, so the total is n minus the (rare) repeats.
      assert.ok(total > n * 0.99 && total <= n, `QSTATUS after ${n} pushes: ${status}`);
    } finally {
      r.disconnect();
    }
  });
});
