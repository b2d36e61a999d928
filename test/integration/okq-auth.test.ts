/**
 * RESP `AUTH` on the okQ bridge with real Redis clients (ioredis, node-redis), in plain TCP and
 * over TLS as Redis 6 serves it; Redis 6's NOAUTH / WRONGPASS / NOPERM words; a refused push or
 * QREGISTER creates no queue.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis, type RedisOptions } from "ioredis";
import { createClient } from "redis";
import type { UserConfig } from "../../src/auth/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { rawClient } from "../helpers/okq-harness.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

const USERS: UserConfig[] = [
  { name: "app", password: "app-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["*"] },
  { name: "default", password: "default-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["*"] },
  { name: "feeder", password: "feeder-pw", tokens: [], roles: ["publisher"], topics: ["jobs"] },
  { name: "root", password: "root-pw", tokens: ["tok-root"], roles: ["admin"], topics: [] },
];

let certificate: TestCertificateFiles;
let server: TestServer;
let okq: { host: string; port: number };
let admin: TestClients;

before(async () => {
  certificate = await writeTestCertificate();
  server = await startTestServer({ config: { users: USERS } });
  okq = server.okq as { host: string; port: number };
  admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-root" });
});
after(async () => {
  admin.close();
  await server.close();
  await certificate.remove();
});

async function withIoredis(
  target: { host: string; port: number },
  options: RedisOptions,
  fn: (r: Redis) => Promise<void>,
) {
  const r = new Redis({
    host: target.host,
    port: target.port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...options,
  });
  try {
    await r.connect();
    await fn(r);
  } finally {
    r.disconnect();
  }
}

/** Pushes, pops and acks as the logged-in user. */
async function round(call: (...args: string[]) => Promise<unknown>, q: string): Promise<void> {
  assert.equal(await call("QLPUSH", q, "a", "first"), "OK");
  assert.deepEqual(await call("QRPOP", q, "EX", "30"), ["a", "first"]);
  assert.equal(await call("QACK", q, "a"), 1);
  assert.equal(await call("QRPOP", q), null);
  assert.deepEqual(await call("QSTATUS", q), [`${q} total: 0 processing: 0 consumers: 0`]);
}

async function rawConnection() {
  const socket = net.connect(okq.port, okq.host);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return rawClient(socket);
}

const cmd = (...args: string[]) => encodeCommand(args);

describe("okq auth", () => {
  it("okq auth - ioredis with username and password (default options, HELLO 3 AUTH) runs okQ commands", async () => {
    await withIoredis(okq, { username: "app", password: "app-pw" }, (r) =>
      round((...a) => r.call(a[0] as string, ...a.slice(1)), "auth-io3"),
    );
  });

  it("okq auth - ioredis RESP2 with a password only logs in as the user named default", async () => {
    await withIoredis(okq, { password: "default-pw", protocol: 2 } as RedisOptions, (r) =>
      round((...a) => r.call(a[0] as string, ...a.slice(1)), "auth-io2"),
    );
  });

  it("okq auth - node-redis with username and password", async () => {
    const c = createClient({
      socket: { host: okq.host, port: okq.port, reconnectStrategy: false },
      username: "app",
      password: "app-pw",
    });
    await c.connect();
    try {
      await round((...a) => c.sendCommand(a), "auth-nr");
    } finally {
      c.destroy();
    }
  });

  it("okq auth - a wrong password fails the client's connect with WRONGPASS", async () => {
    const errors: string[] = [];
    const r = new Redis({ ...okq, username: "app", password: "nope", lazyConnect: true, retryStrategy: () => null });
    r.on("error", (e: Error) => errors.push(e.message));
    await assert.rejects(r.connect());
    r.disconnect();
    assert.deepEqual(errors, ["WRONGPASS invalid username-password pair or user is disabled."]);
  });

  it("okq auth - NOAUTH before AUTH, Redis 6 NOPERM words for a missing role or queue", async () => {
    const c = await rawConnection();
    await c.roundtrip(cmd("QLPUSH", "jobs", "1", "x"), "-NOAUTH Authentication required.\r\n");
    await c.roundtrip(cmd("PING"), "-NOAUTH Authentication required.\r\n");
    await c.roundtrip(cmd("AUTH", "feeder", "feeder-pw"), "+OK\r\n");
    await c.roundtrip(cmd("QLPUSH", "jobs", "1", "x"), "+OK\r\n");
    await c.roundtrip(
      cmd("QLPUSH", "other", "1", "x"),
      "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
    );
    await c.roundtrip(
      cmd("QRPOP", "jobs"),
      "-NOPERM this user has no permissions to run the 'qrpop' command or its subcommand\r\n",
    );
    await c.roundtrip(
      cmd("QREGISTER", "jobs"),
      "-NOPERM this user has no permissions to run the 'qregister' command or its subcommand\r\n",
    );
    await c.roundtrip(
      cmd("QFLUSH", "jobs"),
      "-NOPERM this user has no permissions to run the 'qflush' command or its subcommand\r\n",
    );
    c.socket.destroy();
    // The refused push created nothing: the queue "other" does not exist.
    const err = await admin.admin.getTopic({ name: "other" }).then(
      () => assert.fail("the queue was created"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(err.code, Code.NotFound);
  });

  it("okq auth - RESP over TLS as Redis 6 serves it: ioredis with tls and credentials", async (t) => {
    const tlsServer = await startTestServer({
      config: { users: USERS, tlsCert: certificate.certFile, tlsKey: certificate.keyFile },
    });
    t.after(() => tlsServer.close());
    const target = tlsServer.okq as { host: string; port: number };
    await withIoredis(target, { username: "app", password: "app-pw", tls: { ca: certificate.cert } }, (r) =>
      round((...a) => r.call(a[0] as string, ...a.slice(1)), "auth-tls"),
    );
    // A cleartext client gets no answer it could read: the handshake fails and the connection ends.
    const plain = net.connect(target.port, target.host);
    const c = rawClient(plain);
    await new Promise((resolve) => plain.once("connect", resolve));
    c.send(cmd("PING"));
    await c.closed();
    assert.ok(!c.buffered().toString("latin1").includes("PONG"));
  });
});
