/**
 * The `switchyard` binary as a child process against a real broker: exit codes, the
 * environment, piped stdin, credentials on the wire, and SIGINT ending a stream cleanly.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { runCliToExit, spawnCli } from "../helpers/spawn-cli.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let clients: TestClients;

/** The environment of a client run: no SWITCHYARD_* from the outside unless given. */
const env = (extra: Record<string, string> = {}) => ({
  SWITCHYARD_SERVER: undefined,
  SWITCHYARD_USER: undefined,
  SWITCHYARD_PASSWORD: undefined,
  SWITCHYARD_TOKEN: undefined,
  ...extra,
});

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  clients = createTestClients(server.baseUrl, "connect");
  await clients.admin.createTopic({ name: "p-jobs", queue: true });
});
after(async () => {
  clients.close();
  await server.close();
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("cli client process", () => {
  it("cli client - SWITCHYARD_SERVER picks the broker and pub reads piped stdin", async () => {
    const run = await runCliToExit(["pub", "p-jobs"], {
      env: env({ SWITCHYARD_SERVER: server.baseUrl }),
      input: "piped data",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^published seq=1 id=\S+\n$/);
    const got = await clients.subscriber.pull({ subscription: "p-jobs", autoAck: true });
    assert.equal(Buffer.from(got.messages[0]?.message?.data ?? []).toString(), "piped data");
  });

  it("cli client - an unreachable broker exits 3 naming the address; a bad flag exits 2", async () => {
    const port = await closedPort();
    const down = await runCliToExit(["stats", "--server", `127.0.0.1:${port}`], { env: env() });
    assert.equal(down.code, 3);
    assert.match(down.stderr, new RegExp(`cannot reach the broker at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    const bad = await runCliToExit(["stats", "--nope"], { env: env() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--nope'/);
    const missing = await runCliToExit(["topics", "get", "p-none", "--server", server.baseUrl], { env: env() });
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /\[TOPIC_NOT_FOUND\]/);
  });

  it("cli client - --user/--password send HTTP Basic, --token sends Bearer; both at once is a usage error", async () => {
    const seen: (string | undefined)[] = [];
    // A minimal Connect endpoint: records the header and answers an empty ListTopicsResponse.
    const capture = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/proto" }).end());
    });
    await new Promise<void>((resolve) => capture.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
    try {
      const basic = await runCliToExit(["topics", "list", "--server", url, "--user", "ops"], {
        env: env({ SWITCHYARD_PASSWORD: "pw:with:colons" }),
      });
      assert.equal(basic.code, 0, basic.stderr);
      const bearer = await runCliToExit(["topics", "list", "--server", url], {
        env: env({ SWITCHYARD_TOKEN: "tok_1" }),
      });
      assert.equal(bearer.code, 0, bearer.stderr);
      const none = await runCliToExit(["topics", "list", "--server", url], { env: env() });
      assert.equal(none.code, 0, none.stderr);
      assert.deepEqual(seen, [
        `Basic ${Buffer.from("ops:pw:with:colons").toString("base64")}`,
        "Bearer tok_1",
        undefined,
      ]);
      const both = await runCliToExit(
        ["topics", "list", "--server", url, "--user", "a", "--password", "b", "--token", "t"],
        {
          env: env(),
        },
      );
      assert.equal(both.code, 2);
      assert.match(both.stderr, /either --token or --user\/--password/);
      assert.equal(seen.length, 3, "nothing was sent");
    } finally {
      capture.closeAllConnections();
      await new Promise<void>((resolve) => capture.close(() => resolve()));
    }
  });

  it("cli client - sub streams until SIGINT, exits 0, and has acked what it printed", async () => {
    await clients.admin.createTopic({ name: "p-stream", queue: true });
    await clients.publisher.publish({ topic: "p-stream", messages: [{ data: Buffer.from("first") }] });
    const sub = spawnCli(["sub", "p-stream", "--server", server.baseUrl], { env: env() });
    try {
      await waitFor(() => sub.stdout() === "first\n", "the first message");
      await clients.publisher.publish({ topic: "p-stream", messages: [{ data: Buffer.from("second") }] });
      await waitFor(() => sub.stdout() === "first\nsecond\n", "a message published while streaming");
      // The ack of a batch follows its printing: wait for it before interrupting.
      await waitFor(async () => (await stats("p-stream"))?.backlog === 0n, "both acked");
      sub.child.kill("SIGINT");
      assert.deepEqual(await sub.exited, { code: 0, signal: null });
      assert.equal(sub.stderr(), "");
    } finally {
      await sub.stop("SIGKILL");
    }
    const s = await stats("p-stream");
    assert.equal(s?.inFlight, 0n);
    assert.equal(s?.consumers, 0);
  });

  it("cli client - read --follow prints new messages until SIGINT", async () => {
    await clients.admin.createTopic({ name: "p-follow", queue: true });
    await clients.publisher.publish({ topic: "p-follow", messages: [{ data: Buffer.from("old") }] });
    const read = spawnCli(["read", "p-follow", "--follow", "--server", server.baseUrl], { env: env() });
    try {
      await waitFor(() => read.stdout() === "old\n", "the stored message");
      await clients.publisher.publish({ topic: "p-follow", messages: [{ data: Buffer.from("new") }] });
      await waitFor(() => read.stdout() === "old\nnew\n", "the followed message");
      read.child.kill("SIGINT");
      assert.deepEqual(await read.exited, { code: 0, signal: null });
    } finally {
      await read.stop("SIGKILL");
    }
    assert.equal((await stats("p-follow"))?.backlog, 2n, "read leases and acks nothing");
  });
});

async function stats(subscription: string) {
  return (await clients.admin.getStats({})).subscriptions.find((s) => s.name === subscription);
}

/** Polls `done` every 20 ms for up to 15 s. */
async function waitFor(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}
