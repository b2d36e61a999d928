/**
 * The `switchyard` client commands against a real broker (in-process server on port 0, real
 * sockets, LMDB): admin, publish, consume, replay, dead letters, tables and --json.
 * cli-client-process.test.ts runs the binary itself for exit codes, pipes and signals.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { processIo } from "../../src/cli/cli-io.js";
import { connect } from "../../src/cli/client/connection.js";
import { publishCount } from "../../src/cli/commands/pub-count.js";
import { type CliRun, runCliInProcess } from "../helpers/cli-in-process.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let clients: TestClients;

/** Runs a client command against the test server; fails the test on a non-zero exit unless `expect` says. */
async function sy(argv: string[], options: { input?: string; expect?: number } = {}): Promise<CliRun> {
  const run = await runCliInProcess([...argv, "--server", server.baseUrl], { input: options.input });
  const expected = options.expect ?? 0;
  assert.equal(run.code, expected, `switchyard ${argv.join(" ")} exited ${run.code}:\n${run.stderr}${run.stdout}`);
  return run;
}

/** Parses each line of stdout as JSON. */
const jsonLines = (run: CliRun) =>
  run.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  clients = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  clients.close();
  await server.close();
});

describe("cli client", () => {
  it("cli client - topics create, list, get, update, purge and delete (tables and --json)", async () => {
    const created = await sy(["topics", "create", "t-admin", "--queue", "--retain-acked-ms", "60000"]);
    assert.equal(created.stdout, "created topic t-admin and subscription t-admin\n");
    await sy(["topics", "create", "t-admin-2", "--max-messages", "5", "--overflow", "drop-oldest"]);

    const list = await sy(["topics", "list"]);
    const [header, ...rows] = list.stdout.trimEnd().split("\n");
    assert.match(header ?? "", /^NAME\s+QUEUE\s+DEDUP\s+RETAIN_ACKED\s+MAX_MESSAGES\s+MAX_BYTES\s+MAX_AGE\s+OVERFLOW$/);
    const row = rows.find((r) => r.startsWith("t-admin "));
    assert.match(row ?? "", /^t-admin\s+yes\s+window\s+1m0s\s+-\s+-\s+-\s+reject$/);
    assert.match(rows.find((r) => r.startsWith("t-admin-2 ")) ?? "", /^t-admin-2\s+no\s+.*\s5\s+-\s+-\s+drop-oldest$/);

    const listJson = JSON.parse((await sy(["topics", "list", "--json"])).stdout) as { topics: { name: string }[] };
    assert.deepEqual(
      listJson.topics.map((t) => t.name).filter((n) => n.startsWith("t-admin")),
      ["t-admin", "t-admin-2"],
    );

    const get = await sy(["topics", "get", "t-admin-2", "--json"]);
    assert.deepEqual(JSON.parse(get.stdout).maxMessages, "5");
    const updated = await sy(["topics", "update", "t-admin-2", "--max-messages", "9"]);
    assert.match(updated.stdout, /^max messages:\s+9$/m);
    assert.match(updated.stdout, /^overflow:\s+drop-oldest$/m, "fields not named keep their value");
    assert.equal((await clients.admin.getTopic({ name: "t-admin-2" })).topic?.maxMessages, 9n);

    await clients.publisher.publish({
      topic: "t-admin",
      messages: [{ data: Buffer.from("a") }, { data: Buffer.from("b") }],
    });
    assert.equal((await sy(["topics", "purge", "t-admin"])).stdout, "purged 2 messages from t-admin\n");
    assert.deepEqual(JSON.parse((await sy(["topics", "purge", "t-admin", "--json"])).stdout), {});

    assert.equal((await sy(["topics", "delete", "t-admin-2"])).stdout, "deleted topic t-admin-2\n");
    await assert.rejects(clients.admin.getTopic({ name: "t-admin-2" }), /does not exist/);
  });

  it("cli client - subs create with settings, get, update (push merges), pause, resume, purge, delete", async () => {
    await sy(["topics", "create", "t-subs"]);
    await sy([
      "subs",
      "create",
      "s-subs",
      "--topic",
      "t-subs",
      "--start",
      "earliest",
      "--ack-deadline-ms",
      "5000",
      "--filter",
      "region=eu",
      "--push-endpoint",
      "http://127.0.0.1:9/hook",
      "--push-hmac-secret",
      "hmac-in-cli-test",
      "--push-header",
      "Authorization=Bearer abc",
    ]);
    const got = await sy(["subs", "get", "s-subs"]);
    assert.match(got.stdout, /^ack deadline:\s+5s$/m);
    assert.match(got.stdout, /^filter:\s+region=eu$/m);
    assert.match(got.stdout, /^start:\s+earliest$/m);
    assert.match(got.stdout, /^push hmac secret:\s+\(set\)$/m);
    assert.match(got.stdout, /^push headers:\s+Authorization=\(set\)$/m);
    assert.ok(
      !got.stdout.includes("hmac-in-cli-test") && !got.stdout.includes("Bearer abc"),
      "human output hides secrets",
    );

    // Changing one push field keeps the others (the CLI reads the subscription first).
    await sy(["subs", "update", "s-subs", "--push-timeout-ms", "2500", "--ack-deadline-ms", "7000"]);
    const sub = (await clients.admin.getSubscription({ name: "s-subs" })).subscription;
    assert.equal(sub?.ackDeadlineMs, 7000n);
    assert.equal(sub?.push?.timeoutMs, 2500n);
    assert.equal(sub?.push?.endpoint, "http://127.0.0.1:9/hook");
    // The secret is write-only (never returned); the update sent it back as read, which keeps it.
    assert.equal(sub?.push?.hmacSecret, "");
    assert.equal(sub?.push?.hmacSecretSet, true);
    await sy(["subs", "update", "s-subs", "--no-push"]);
    assert.equal((await clients.admin.getSubscription({ name: "s-subs" })).subscription?.push, undefined);

    await sy(["subs", "pause", "s-subs"]);
    const listed = await sy(["subs", "list", "--topic", "t-subs"]);
    assert.match(listed.stdout, /^s-subs\s+t-subs\s+7s\s+-\s+-\s+no\s+yes\s+-$/m);
    const resumed = JSON.parse((await sy(["subs", "resume", "s-subs", "--json"])).stdout) as { paused?: boolean };
    assert.equal(resumed.paused, undefined, "proto3 JSON leaves false out");

    await clients.publisher.publish({
      topic: "t-subs",
      messages: [1, 2, 3].map((i) => ({ data: Buffer.from(`m${i}`), attributes: { region: "eu" } })),
    });
    assert.equal(await backlog("s-subs"), 3n);
    await sy(["subs", "purge", "s-subs"]);
    assert.equal(await backlog("s-subs"), 0n);
    assert.equal((await sy(["subs", "delete", "s-subs"])).stdout, "deleted subscription s-subs\n");
  });

  it("cli client - pub from an argument, a file, stdin and --lines, with attributes, priority and id", async () => {
    await sy(["topics", "create", "t-pub", "--queue"]);
    const one = await sy([
      "pub",
      "t-pub",
      "hello",
      "--attr",
      "k=v",
      "--attr",
      "x=1=2",
      "--priority",
      "7",
      "--id",
      "job-1",
    ]);
    assert.equal(one.stdout, "published seq=1 id=job-1\n");
    const dup = await sy(["pub", "t-pub", "hello", "--id", "job-1", "--json"]);
    assert.deepEqual(JSON.parse(dup.stdout), { results: [{ seq: "1", id: "job-1", duplicate: true }] });

    const dir = await mkdtemp(join(tmpdir(), "clients-cli-"));
    try {
      const file = join(dir, "payload.bin");
      await writeFile(file, Buffer.from([0, 1, 2, 255]));
      await sy(["pub", "t-pub", "--file", file]);
      await sy(["pub", "t-pub"], { input: "from stdin" });
      const lines = await sy(["pub", "t-pub", "--lines", "--batch-size", "2", "--json"], { input: "l1\r\nl2\n\nl3" });
      assert.deepEqual(
        jsonLines(lines).map((r) => r.seq),
        ["4", "5", "6"],
        "one message per non-empty line, in order",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const pulled = await clients.subscriber.pull({ subscription: "t-pub", maxMessages: 10, autoAck: true });
    const byId = pulled.messages.map((m) => m.message);
    const first = byId.find((m) => m?.id === "job-1");
    assert.deepEqual(first?.attributes, { k: "v", x: "1=2" });
    assert.equal(first?.priority, 7);
    assert.deepEqual(
      byId.map((m) => Buffer.from(m?.data ?? []).toString("latin1")),
      ["hello", "\u0000\u0001\u0002\u00ff", "from stdin", "l1", "l2", "l3"],
    );
  });

  it("cli client - pub --count publishes N messages and reports a rate", async () => {
    await sy(["topics", "create", "t-count", "--queue"]);
    const run = await sy(["pub", "t-count", "x", "--count", "250", "--batch-size", "40", "--in-flight", "3"]);
    assert.match(run.stdout, /^published 250 messages to t-count in \d+\.\d\d s \(\d+ msg\/s\)\n$/);
    const stats = await clients.admin.getStats({ topics: ["t-count"] });
    assert.equal(stats.topics[0]?.messages, 250n);
    const json = JSON.parse((await sy(["pub", "t-count", "y", "--count", "10", "--json"])).stdout);
    assert.equal(json.published, 10);
    assert.equal(typeof json.messagesPerSecond, "number");
  });

  it("cli client - pull leases, ack and nack by ack id, peek leases nothing, stats shows it", async () => {
    await sy(["topics", "create", "t-pull", "--queue"]);
    await sy(["pub", "t-pull", "--lines"], { input: "a\nb\nc\n" });
    const peek = await sy(["peek", "t-pull", "--max", "2"]);
    assert.match(peek.stdout, /^SEQ\s+ID\s+ATTEMPT\s+PRIORITY\s+DATA\n1\s+sy-\S+\s+1\s+0\s+a\n2\s+\S+\s+1\s+0\s+b\n$/);

    const pulled = JSON.parse((await sy(["pull", "t-pull", "--max", "2", "--json"])).stdout) as {
      messages: { ackId: string }[];
    };
    assert.equal(pulled.messages.length, 2);
    const stats = await sy(["stats", "t-pull"]);
    assert.match(stats.stdout, /^t-pull\s+t-pull\s+3\s+2\s+0\s+0\s+/m, "backlog (unacked) 3, in flight 2");

    const [a, b] = pulled.messages.map((m) => m.ackId);
    assert.equal((await sy(["ack", "t-pull", a as string])).stdout, "acked 1\n");
    assert.equal((await sy(["nack", "t-pull", b as string, "--error", "try later"])).stdout, "nacked 1\n");
    const table = await sy(["pull", "t-pull", "--ack"]);
    assert.match(table.stdout, /^ACK_ID\s+SEQ/);
    assert.match(table.stdout, /\n\S+\s+2\s+\S+\s+2\s+0\s+b\n/, "the nacked message comes back, attempt 2");
    assert.match(table.stdout, /\n\S+\s+3\s+\S+\s+1\s+0\s+c\n/);
    assert.equal((await clients.admin.getStats({ topics: ["t-pull"] })).subscriptions[0]?.backlog, 0n);
  });

  it("cli client - sub prints and acks exactly --max; --no-ack gives messages back; --json lines", async () => {
    await sy(["topics", "create", "t-sub", "--queue"]);
    await sy(["pub", "t-sub", "--lines"], { input: "one\ntwo\nthree\nfour\nfive\n" });
    const noAck = await sy(["sub", "t-sub", "--max", "2", "--no-ack"]);
    assert.equal(noAck.stdout, "one\ntwo\n");
    const got = await sy(["sub", "t-sub", "--max", "3"]);
    assert.equal(got.stdout, "one\ntwo\nthree\n");
    const stats = (await clients.admin.getStats({ topics: ["t-sub"] })).subscriptions[0];
    assert.equal(stats?.backlog, 2n, "exactly three acked");
    assert.equal(stats?.inFlight, 0n, "nothing left leased");
    const json = jsonLines(await sy(["sub", "t-sub", "--max", "2", "--json"]));
    assert.deepEqual(
      json.map((m) => Buffer.from(String((m.message as { data: string }).data), "base64").toString()),
      ["four", "five"],
    );
    assert.equal(json[0]?.deliveryAttempt, 1, "never leased before: sub --max leases nothing it does not print");
  });

  it("cli client - read from a seq or a time, seek, snapshots", async () => {
    await sy(["topics", "create", "t-read", "--queue", "--retain-acked-ms", "600000"]);
    await sy(["pub", "t-read", "--lines"], { input: "r1\nr2\nr3\n" });
    assert.equal((await sy(["read", "t-read", "--from-seq", "2"])).stdout, "r2\nr3\n");
    assert.equal((await sy(["read", "t-read", "--from-time", "1h", "--max", "1"])).stdout, "r1\n");
    const json = jsonLines(await sy(["read", "t-read", "--json"]));
    assert.deepEqual(
      json.map((m) => m.seq),
      ["1", "2", "3"],
    );

    await sy(["sub", "t-read", "--max", "3"]);
    const snap = await sy(["snapshots", "create", "snap-read", "--subscription", "t-read"]);
    assert.equal(snap.stdout, "created snapshot snap-read of t-read at seq 3\n");
    assert.match((await sy(["snapshots", "list", "t-read"])).stdout, /^snap-read\s+t-read\s+t-read\s+3\s+/m);
    assert.equal((await sy(["seek", "t-read", "--to-seq", "2"])).stdout, "seeked t-read to seq 2\n");
    assert.equal((await sy(["sub", "t-read", "--max", "2"])).stdout, "r2\nr3\n");
    await sy(["seek", "t-read", "--to-seq", "1"]);
    await sy(["seek", "t-read", "--snapshot", "snap-read"]);
    assert.equal((await clients.admin.getStats({ topics: ["t-read"] })).subscriptions[0]?.backlog, 0n);
    assert.equal((await sy(["snapshots", "delete", "snap-read"])).stdout, "deleted snapshot snap-read\n");
    await sy(["seek", "t-read"], { expect: 2 });
  });

  it("cli client - dlq redrive moves dead letters back to their subscription", async () => {
    await sy(["topics", "create", "t-dlq-dead", "--queue"]);
    await sy(["topics", "create", "t-dlq"]);
    await sy(["subs", "create", "s-dlq", "--topic", "t-dlq", "--max-delivery-attempts", "1"]);
    await sy(["subs", "update", "s-dlq", "--dead-letter-topic", "t-dlq-dead"]);
    await sy(["pub", "t-dlq", "poison"]);
    const pulled = JSON.parse((await sy(["pull", "s-dlq", "--json"])).stdout) as { messages: { ackId: string }[] };
    await sy(["nack", "s-dlq", pulled.messages[0]?.ackId as string, "--error", "bad input"]);
    const dead = await sy(["peek", "t-dlq-dead", "--json"]);
    assert.equal(
      JSON.parse(dead.stdout).messages[0].message.attributes["switchyard-dead-letter-last-error"],
      "bad input",
    );
    assert.equal((await sy(["dlq", "redrive", "s-dlq"])).stdout, "redriven 1 dead letters to s-dlq\n");
    assert.equal((await sy(["sub", "s-dlq", "--max", "1"])).stdout, "poison\n");
  });

  it("cli client - errors carry the reason and an exit code that says what failed", async () => {
    const missing = await sy(["topics", "get", "no-such-topic"], { expect: 4 });
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /^switchyard: topic "no-such-topic" does not exist \[TOPIC_NOT_FOUND\]\n/);
    const missingJson = await sy(["subs", "get", "no-such-sub", "--json"], { expect: 4 });
    const error = JSON.parse(missingJson.stderr).error;
    assert.equal(error.code, "not_found");
    assert.equal(error.reason, "SUBSCRIPTION_NOT_FOUND");
    assert.equal(error.exitCode, 4);

    await sy(["topics", "create", "t-err", "--queue"]);
    const exists = await sy(["topics", "create", "t-err"], { expect: 6 });
    assert.match(exists.stderr, /\[ALREADY_EXISTS\]/);
    const badAck = await sy(["ack", "t-err", "not-an-ack-id"], { expect: 5 });
    assert.match(badAck.stderr, /\[INVALID_ACK_ID\]\n {2}failed_ack_ids: not-an-ack-id\n/);
    await sy(["topics", "create", "t-full", "--max-messages", "1", "--queue"]);
    await sy(["pub", "t-full", "1"]);
    assert.match((await sy(["pub", "t-full", "2"], { expect: 7 })).stderr, /\[BACKLOG_FULL\]/);

    const usage = await sy(["pub", "t-err", "x", "--priority", "10"], { expect: 2 });
    assert.match(usage.stderr, /--priority expects an integer from 0 to 9/);
    assert.match((await sy(["topics", "update", "t-err"], { expect: 2 })).stderr, /give at least one setting/);
    assert.match((await sy(["ack", "t-err"], { expect: 2 })).stderr, /give ack ids or --message-id/);
    assert.match(
      (await sy(["pub", "t-err", "x", "--lines", "--count", "2"], { expect: 2 })).stderr,
      /do not go together/,
    );
  });

  it("cli client - connection flags also go before the command; after it they win", async () => {
    await sy(["topics", "create", "t-global", "--queue"]);
    const first = await runCliInProcess(["--server", server.baseUrl, "--json", "pub", "t-global", "one"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).results[0].seq, "1");
    // The flag after the command wins over the one before it (an unreachable address).
    const both = await runCliInProcess([
      "--server",
      "http://127.0.0.1:1",
      "topics",
      "get",
      "t-global",
      "--server",
      server.baseUrl,
    ]);
    assert.equal(both.code, 0, both.stderr);
    const unreachable = await runCliInProcess(["--server", "http://127.0.0.1:1", "topics", "get", "t-global"]);
    assert.equal(unreachable.code, 3, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach the broker at http:\/\/127\.0\.0\.1:1/);
  });

  it("cli client - SIGINT during a waiting call ends it with exit 130", async () => {
    await sy(["topics", "create", "t-wait", "--queue"]);
    let interrupt = () => {};
    const running = runCliInProcess(["pull", "t-wait", "--wait-ms", "60000", "--server", server.baseUrl], {
      onStart: (signal) => {
        interrupt = signal;
      },
    });
    // The long-poll is in flight once the server counts a consumer on the subscription.
    const consumers = async () => (await clients.admin.getStats({ topics: ["t-wait"] })).subscriptions[0]?.consumers;
    for (let i = 0; i < 500 && (await consumers()) !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await consumers(), 1, "the pull is waiting");
    interrupt();
    const run = await running;
    assert.equal(run.code, 130);
    assert.equal(run.stderr, "switchyard: interrupted\n");
    assert.equal(run.stdout, "");
  });
});

async function backlog(subscription: string): Promise<bigint | undefined> {
  const stats = await clients.admin.getStats({});
  return stats.subscriptions.find((s) => s.name === subscription)?.backlog;
}

describe("cli client pub --count", () => {
  it("cli client - pub --count writes progress lines to stderr while it runs", async () => {
    await clients.admin.createTopic({ name: "t-progress", queue: true });
    let stderr = "";
    const io = {
      ...processIo,
      stderr: (t: string) => (stderr += t),
      stdout: () => true,
      isTTY: { stdin: false, stderr: false },
    };
    const cli = connect({ server: server.baseUrl, timeoutMs: 10_000, json: false });
    try {
      const ctx = { io, clients: cli, json: false, signal: new AbortController().signal };
      const data = Buffer.from("p");
      await publishCount(ctx, {
        topic: "t-progress",
        template: {},
        data,
        count: 3000,
        batchSize: 10,
        inFlight: 1,
        progressEveryMs: 5,
      });
    } finally {
      cli.close();
    }
    const lines = stderr.trimEnd().split("\n");
    assert.ok(lines.length >= 1, "at least one progress line");
    for (const line of lines) assert.match(line, /^published \d+\/3000 \(\d+ msg\/s\)$/);
    assert.equal((await clients.admin.getStats({ topics: ["t-progress"] })).topics[0]?.messages, 3000n);
  });
});
