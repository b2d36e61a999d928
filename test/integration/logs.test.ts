/**
 * `switchyard serve` logs as a log shipper reads them: pino JSON lines on stderr, request-scoped
 * fields on RPC calls, and no secret in any line of a run that used them: push secrets, and the
 * users' passwords, hashes and tokens of a config file, given right and wrong on every door.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { hashPassword } from "../../src/auth/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { createTestClients } from "../helpers/clients.js";
import { rawRequest } from "../helpers/http-raw.js";
import { rawClient } from "../helpers/okq-harness.js";
import { openWs } from "../helpers/restmq-live.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";
import { startWebhookTarget } from "../helpers/webhook-target.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clients-logs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Line = Record<string, unknown>;

/** Every stderr line, parsed; fails on a line that is not one JSON object. */
function parseLines(stderr: string): Line[] {
  return stderr
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const parsed = JSON.parse(l) as unknown;
      assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `not a JSON object: ${l}`);
      return parsed as Line;
    });
}

describe("logs", () => {
  it("logs - JSON lines with rpc calls' method, peer and code, and no secret of the run anywhere", async (t) => {
    const secrets = {
      hmac: "hmac-secret-5a1c",
      header: "header-secret-77be",
      password: "cli-password-0d3f",
      token: "cli-token-9e21",
      // In the push endpoint's query: one under a secret-like name, one under a name that is not.
      queryToken: "query-token-3c70",
      querySig: "query-sig-81fd",
    };
    const hookPath = `/hook?access_token=${secrets.queryToken}&sig=${secrets.querySig}`;
    const target = await startWebhookTarget();
    t.after(() => target.close());
    target.on(hookPath, () => 500);
    const cli = await startCli([...testServeArgs(await tempDir(t)), "--log-level", "debug", "--log-format", "json"]);
    t.after(() => cli.stop("SIGKILL"));
    const server = ["--server", cli.baseUrl];
    const asUser = [...server, "--user", "ops", "--password", secrets.password];
    const sy = async (argv: string[], expect = 0) => {
      const run = await runCliInProcess(argv);
      assert.equal(run.code, expect, run.stderr);
      return run;
    };

    await sy(["topics", "create", "orders", ...asUser]);
    await sy([
      "subs",
      "create",
      "orders-hook",
      "--topic",
      "orders",
      "--push-endpoint",
      target.url(hookPath),
      "--push-hmac-secret",
      secrets.hmac,
      "--push-header",
      `Authorization=Bearer ${secrets.header}`,
      "--min-backoff-ms",
      "10",
      "--max-backoff-ms",
      "20",
      ...server,
      "--token",
      secrets.token,
    ]);
    await sy(["pub", "orders", "order-1", ...asUser]);
    await target.waitFor(hookPath, 2);
    await sy(["subs", "update", "orders-hook", "--push-timeout-ms", "3000", ...asUser]);
    await sy(["subs", "get", "orders-hook", "--json", ...asUser]);
    await sy(["topics", "get", "missing", ...server], 4);
    // A Connect client's Subscribe stream (logged when it ends) beside the CLI's unary calls.
    const clients = createTestClients(cli.baseUrl, "connect");
    await clients.admin.createTopic({ name: "jobs", queue: true });
    await clients.publisher.publish({ topic: "jobs", messages: [{ data: Buffer.from("j") }] });
    const stop = new AbortController();
    for await (const res of clients.subscriber.subscribe({ subscription: "jobs" }, { signal: stop.signal })) {
      await clients.subscriber.ack({ subscription: "jobs", ackIds: res.messages.map((m) => m.ackId) });
      break;
    }
    stop.abort();
    clients.close();
    assert.deepEqual(await cli.stop("SIGTERM"), { code: 0, signal: null });

    const stderr = cli.stderr();
    const lines = parseLines(stderr);
    for (const line of lines) {
      assert.ok(["debug", "info", "warn", "error"].includes(String(line.level)), `level: ${JSON.stringify(line)}`);
      assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
      assert.equal(typeof line.msg, "string");
    }
    const rpc = lines.filter((l) => l.msg === "rpc");
    const created = rpc.find((l) => l.method === "switchyard.v1.AdminService/CreateSubscription");
    assert.equal(created?.code, "OK");
    assert.match(String(created?.peer), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof created?.durationMs, "number");
    const missing = rpc.find((l) => l.method === "switchyard.v1.AdminService/GetTopic");
    assert.deepEqual([missing?.code, missing?.reason], ["NotFound", "TOPIC_NOT_FOUND"]);
    const stream = rpc.find((l) => l.method === "switchyard.v1.SubscriberService/Subscribe");
    assert.equal(stream?.messages, 1, "a stream's line counts the responses it sent");
    const started = lines.find((l) => l.msg === "push delivery started" && l.subscription === "orders-hook");
    assert.equal(started?.endpoint, target.url("/hook"), "the endpoint is logged as origin and path only");
    assert.ok(lines.some((l) => l.msg === "SIGTERM received; shutting down (send it again to exit at once)"));

    // Not in any form: as given, or inside the Basic header's base64.
    const basic = Buffer.from(`ops:${secrets.password}`).toString("base64");
    for (const secret of [...Object.values(secrets), basic]) {
      assert.ok(!stderr.includes(secret), `the log holds a secret (${secret})`);
    }
    // Users from a config file, used on every door: the next test.
  });

  it("logs - users' passwords, hash and tokens from a config file, used right and wrong on every door, are in no line", async (t) => {
    const dir = await tempDir(t);
    const s = {
      ops: "ops-password-4e1b",
      token: "ops-token-8c2d",
      hashed: "hashed-password-5f3a",
      wrong: "wrong-password-1d7c",
      wrongToken: "wrong-token-6a9e",
    };
    const hash = await hashPassword(s.hashed, { N: 1024, r: 8, p: 1 });
    const config = join(dir, "switchyard.json");
    const users = [
      { name: "ops", password: s.ops, tokens: [s.token], roles: ["admin", "publisher", "subscriber"], topics: ["*"] },
      { name: "hashed", password_hash: hash, roles: ["publisher", "subscriber"], topics: ["*"] },
    ];
    await writeFile(config, JSON.stringify({ users }));
    const args = ["serve", "--config", config, "--port", "0", "--data-dir", join(dir, "data")];
    for (const door of ["okq", "opq", "restmq", "ohpq", "ohpq-http", "gophermq", "gophermq-metrics"]) {
      args.push(`--${door}-port`, "0");
    }
    const cli = await startCli([...args, "--log-level", "debug", "--log-format", "json"]);
    t.after(() => cli.stop("SIGKILL"));
    const target = await startWebhookTarget();
    t.after(() => target.close());
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    const hostPort = (key: string) => {
      const a = cli.addresses[key] as string;
      return { host: a.slice(0, a.lastIndexOf(":")), port: Number(a.slice(a.lastIndexOf(":") + 1)) };
    };
    const http = (door: string, path: string, authorization: string, body: string, type: string) =>
      rawRequest(`http://${cli.addresses[door]}${path}`, {
        headers: { authorization, "content-type": type },
        body,
      });
    const line = async (door: string, exchanges: [string | Buffer, string][]) => {
      const socket = net.connect(hostPort(door));
      await new Promise((resolve) => socket.once("connect", resolve));
      const c = rawClient(socket);
      for (const [send, expect] of exchanges) await c.roundtrip(send, expect);
      socket.destroy();
    };
    // Every wrong try is followed by a right one, which clears the address's failure count.
    const wrong = createTestClients(cli.baseUrl, "connect", { authorization: basic("ops", s.wrong) });
    await assert.rejects(wrong.admin.listTopics({}), /invalid user name or password/);
    wrong.close();
    const byToken = createTestClients(cli.baseUrl, "connect", { authorization: `Bearer ${s.token}` });
    await byToken.admin.createTopic({ name: "jobs", queue: true });
    byToken.close();
    const grpc = createTestClients(cli.baseUrl, "grpc", { authorization: basic("hashed", s.hashed) });
    await grpc.publisher.publish({ topic: "jobs", messages: [{ data: Buffer.from("rpc") }] });
    grpc.close();
    const badToken = createTestClients(cli.baseUrl, "grpc", { authorization: `Bearer ${s.wrongToken}` });
    await assert.rejects(badToken.admin.listTopics({}), /invalid user name or password/);
    badToken.close();
    await line("okq", [
      [encodeCommand(["AUTH", "ops", s.wrong]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n"],
      [encodeCommand(["AUTH", "hashed", s.hashed]), "+OK\r\n"],
      [encodeCommand(["QLPUSH", "jobs", "okq-1", "resp"]), "+OK\r\n"],
    ]);
    await line("ohpq", [
      [`AUTH ops ${s.wrong}\n`, "ERROR authentication failed\n"],
      [`AUTH ops ${s.ops}\n`, "OK authenticated\n"],
      ["PUB jobs text\n", "OK\n"],
    ]);
    const opqForm = `topic=hooks&url=${encodeURIComponent(target.url("/hook"))}`;
    const form = "application/x-www-form-urlencoded";
    assert.equal((await http("opq", "/opq/push", basic("ops", s.wrong), opqForm, form)).status, 401);
    assert.equal((await http("opq", "/opq/push", `Bearer ${s.token}`, opqForm, form)).status, 201);
    assert.equal((await http("restmq", "/q/jobs", basic("hashed", s.wrong), "value=x", form)).status, 401);
    assert.equal((await http("restmq", "/q/jobs", basic("hashed", s.hashed), "value=x", form)).status, 200);
    const ws = await openWs(cli.addresses.restmq as string, "/ws/jobs", { Cookie: `auth=ops:${s.ops}` });
    ws.ws.close();
    await ws.closed;
    await assert.rejects(openWs(cli.addresses.restmq as string, "/ws/jobs", { Cookie: `auth=ops:${s.wrong}` }), /401/);
    const subscribe = JSON.stringify({ subject: "jobs" });
    const json = "application/json";
    assert.equal((await http("gophermq", "/api/subscribe", basic("ops", s.wrong), subscribe, json)).status, 401);
    assert.equal((await http("gophermq", "/api/subscribe", `Bearer ${s.token}`, subscribe, json)).status, 200);
    await target.waitFor("/hook", 1);
    assert.deepEqual(await cli.stop("SIGTERM"), { code: 0, signal: null });

    const stderr = cli.stderr();
    const lines = parseLines(stderr);
    const failed = lines.filter((l) => l.msg === "login failed");
    assert.ok(failed.length >= 7, `each wrong try is logged (${failed.length})`);
    assert.ok(
      failed.some((l) => l.user === "ops" && typeof l.peer === "string"),
      "with the peer and the user name",
    );
    const secrets = [
      ...Object.values(s),
      hash,
      hash.slice(hash.lastIndexOf("$") + 1),
      ...[
        ["ops", s.ops],
        ["ops", s.wrong],
        ["hashed", s.hashed],
        ["hashed", s.wrong],
      ].map(([u, p]) => Buffer.from(`${u}:${p}`).toString("base64")),
    ];
    for (const secret of secrets) assert.ok(!stderr.includes(secret), `the log holds a secret (${secret})`);
  });

  it("logs - --log-format pretty writes readable text lines", async (t) => {
    const cli = await startCli([...testServeArgs(await tempDir(t)), "--log-format", "pretty"]);
    t.after(() => cli.stop("SIGKILL"));
    assert.deepEqual(await cli.stop("SIGTERM"), { code: 0, signal: null });
    const first = cli.stderr().split("\n")[0] ?? "";
    assert.match(first, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: rpc listener up/);
    assert.ok(!cli.stderr().includes('{"level"'));
  });
});
