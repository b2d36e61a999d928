/**
 * The README's RestMQ curl session, run with Debian's curl against the real server (port 0, LMDB).
 * Part of `npm run test:interop` (scripts/interop-preflight.sh checks that curl is installed).
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { bridgeMetric, waitUntil } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);

let server: TestServer;
let R: string;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  R = `http://${server.addresses.restmq}`;
});
after(() => server.close());

const curl = async (...args: string[]) => (await run("curl", ["-s", ...args])).stdout;

describe("restmq with curl", () => {
  it("restmq - the README's curl session answers as shown", async () => {
    assert.equal(await curl("-d", "value=hello", `${R}/q/jobs`), "jobs:1\r\n");
    assert.equal(await curl("-d", "value=in an hour&ttl=3600", `${R}/q/jobs`), "jobs:2\r\n");
    assert.equal(await curl(`${R}/q/jobs`), '{"count": 0, "key": "jobs:1", "value": "hello"}\r\n');
    assert.match(await curl("-i", `${R}/q/empty`), /^HTTP\/1\.1 204 No Content\r\n/);
    assert.equal(
      await curl("-d", 'body={"cmd":"add","queue":"jobs","value":"x"}', `${R}/queue`),
      '{"queue": "jobs", "value": "x", "key": "jobs:3"}',
    );
    assert.equal(
      await curl("-d", 'body={"cmd":"get","queue":"jobs"}', `${R}/queue`),
      '{"queue": "jobs", "count": 1, "value": "in an hour", "key": "jobs:2"}',
    );
    assert.equal(
      await curl("-d", 'body={"cmd":"take","queue":"jobs"}', `${R}/queue`),
      '{"queue": "jobs", "value": "in an hour", "key": "jobs:2"}',
    );
    assert.equal(await curl("-d", "policy=roundrobin", `${R}/p/jobs`), "OK\r\n");
    assert.equal(await curl("-d", "status=stop", `${R}/control/jobs`), '{"stat": {"queue": "jobs", "status": 0}}\r\n');
    assert.match(await curl(`${R}/stats/`), /^\{"count": 1, "queues": \{"jobs": \{.*"len": 1\}\}, "redis": ".*"\}$/);
    assert.equal(await curl("-X", "DELETE", `${R}/q/jobs`), '{"queue": "jobs", "status": 1}\r\n');
  });

  it("restmq - curl -N follows a comet stream", async () => {
    const child = spawn("curl", ["-s", "-N", `${R}/c/stream`]);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    try {
      await waitUntil(
        async () => (await bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"')) === 1,
        "curl's comet consumer",
      );
      await curl("-d", "value=one", `${R}/q/stream`);
      await curl("-d", "value=two", `${R}/q/stream`);
      await waitUntil(() => out.split("\r\n").length >= 3, "two comet lines from curl");
      assert.equal(out, '{"key": "stream:1", "value": "one"}\r\n{"key": "stream:2", "value": "two"}\r\n');
      await curl("-X", "DELETE", `${R}/q/stream`);
      await exited;
      assert.ok(out.endsWith("null\r\n"), out);
    } finally {
      child.kill();
    }
  });
});
