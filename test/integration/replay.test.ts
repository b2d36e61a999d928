/**
 * Replay and retention end to end over Connect (HTTP/1.1), gRPC (h2c) and gRPC-web against the
 * real server with LMDB: Seek by seq, time and snapshot; snapshots; Read from a seq or time, with
 * follow and cancel; retain_acked; max_messages with reject and drop_oldest; bad input.
 * Every Read stream is cancelled through an AbortController (breaking out of a for-await does not end a Connect stream).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { ReadRequestSchema } from "../../gen/switchyard/v1/replay_pb.js";
import { OverflowPolicy } from "../../gen/switchyard/v1/types_pb.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined }> {
  const err = await call.then(
    () => assert.fail("expected the call to fail"),
    (e: unknown) => ConnectError.from(e),
  );
  return { code: err.code, reason: err.findDetails(ErrorDetailSchema)[0]?.reason };
}

/** Resolves once `predicate` holds; bounded. */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

type ReadInit = MessageInitShape<typeof ReadRequestSchema>;

/** A Read stream consumed in the background; `abort()` cancels it. */
function openRead(c: TestClients, req: ReadInit) {
  const controller = new AbortController();
  const got: string[] = [];
  const state = {
    got,
    error: undefined as ConnectError | undefined,
    abort: () => controller.abort(),
    done: Promise.resolve(),
  };
  state.done = (async () => {
    for await (const res of c.replay.read(req, { signal: controller.signal }))
      got.push(...res.messages.map((m) => str(m.data)));
  })().catch((e: unknown) => {
    state.error = ConnectError.from(e);
  });
  return state;
}

/** Reads a finite stream to its end. */
async function readAll(c: TestClients, req: ReadInit): Promise<string[]> {
  const r = openRead(c, req);
  try {
    await r.done;
  } finally {
    r.abort();
  }
  if (r.error) throw r.error;
  return r.got;
}

for (const protocol of PROTOCOLS) {
  describe(`replay over ${protocol}`, () => {
    let s: TestServer;
    let c: TestClients;
    before(async () => {
      s = await startTestServer();
      c = createTestClients(s.baseUrl, protocol);
    });
    after(async () => {
      c.close();
      await s.close();
    });

    const publish = (topic: string, ...data: string[]) =>
      c.publisher.publish({ topic, messages: data.map((d) => ({ data: text(d) })) });
    const pullAll = async (subscription: string, autoAck = true) =>
      (await c.subscriber.pull({ subscription, maxMessages: 100, autoAck })).messages.map((m) => str(m.message?.data));
    const stats = async (subscription: string) => {
      const res = await c.admin.getStats({});
      return res.subscriptions.find((x) => x.name === subscription);
    };

    it(`replay - ${protocol}: retain_acked lets Seek replay acked messages by seq and by time`, async () => {
      await c.admin.createTopic({ name: "r1", queue: true, retainAckedMs: 60_000n });
      await publish("r1", "a", "b");
      await sleep(20); // publish times are milliseconds: make "c" later than "b"
      const cutoff = Date.now();
      await sleep(5);
      await publish("r1", "c");
      assert.deepEqual(await pullAll("r1"), ["a", "b", "c"]);
      assert.deepEqual(await pullAll("r1"), [], "acked");
      await c.replay.seek({ subscription: "r1", target: { case: "seq", value: 2n } });
      const again = await c.subscriber.pull({ subscription: "r1", maxMessages: 100 });
      assert.deepEqual(
        again.messages.map((m) => [str(m.message?.data), m.deliveryAttempt]),
        [
          ["b", 1],
          ["c", 1],
        ],
      );
      await c.subscriber.ack({ subscription: "r1", ackIds: again.messages.map((m) => m.ackId) });
      await c.replay.seek({ subscription: "r1", target: { case: "time", value: timestampFromMs(cutoff) } });
      assert.deepEqual(await pullAll("r1"), ["c"]);
      await c.replay.seek({ subscription: "r1", target: { case: "seq", value: 4n } });
      assert.equal((await stats("r1"))?.backlog, 0n);
    });

    it(`replay - ${protocol}: snapshots capture and restore the ack state; create, list, delete and errors`, async () => {
      await c.admin.createTopic({ name: "s1", queue: true });
      await publish("s1", "a", "b");
      const created = await c.replay.createSnapshot({ name: "s1-before", subscription: "s1" });
      assert.deepEqual(
        [created.snapshot?.name, created.snapshot?.topic, created.snapshot?.lastSeq, created.snapshot?.messages],
        ["s1-before", "s1", 2n, 2n],
      );
      assert.deepEqual(await pullAll("s1"), ["a", "b"]);
      await publish("s1", "c");
      await c.replay.seek({ subscription: "s1", target: { case: "snapshot", value: "s1-before" } });
      assert.deepEqual(await pullAll("s1"), ["a", "b", "c"], "the captured seqs plus everything after");

      const dup = await failure(c.replay.createSnapshot({ name: "s1-before", subscription: "s1" }));
      assert.deepEqual(dup, { code: Code.AlreadyExists, reason: "ALREADY_EXISTS" });
      const noSub = await failure(c.replay.createSnapshot({ name: "x", subscription: "nope" }));
      assert.deepEqual(noSub, { code: Code.NotFound, reason: "SUBSCRIPTION_NOT_FOUND" });
      const badName = await failure(c.replay.createSnapshot({ name: "", subscription: "s1" }));
      assert.deepEqual(badName, { code: Code.InvalidArgument, reason: "INVALID_NAME" });
      const ctrl = await failure(c.replay.createSnapshot({ name: "a\nb", subscription: "s1" }));
      assert.deepEqual(ctrl, { code: Code.InvalidArgument, reason: "INVALID_NAME" });
      const noSnap = await failure(c.replay.seek({ subscription: "s1", target: { case: "snapshot", value: "nope" } }));
      assert.deepEqual(noSnap, { code: Code.NotFound, reason: "SNAPSHOT_NOT_FOUND" });

      await c.replay.createSnapshot({ name: "s1-after", subscription: "s1" });
      const listed = await c.replay.listSnapshots({ subscription: "s1" });
      assert.deepEqual(
        listed.snapshots.map((x) => x.name),
        ["s1-after", "s1-before"],
      );
      const page = await c.replay.listSnapshots({ subscription: "s1", pageSize: 1 });
      assert.deepEqual(
        page.snapshots.map((x) => x.name),
        ["s1-after"],
      );
      const next = await c.replay.listSnapshots({ subscription: "s1", pageSize: 1, pageToken: page.nextPageToken });
      assert.deepEqual(
        next.snapshots.map((x) => x.name),
        ["s1-before"],
      );
      await c.replay.deleteSnapshot({ name: "s1-before" });
      const gone = await failure(c.replay.deleteSnapshot({ name: "s1-before" }));
      assert.deepEqual(gone, { code: Code.NotFound, reason: "SNAPSHOT_NOT_FOUND" });
      await c.replay.deleteSnapshot({ name: "s1-after" });
      assert.deepEqual((await c.replay.listSnapshots({ subscription: "s1" })).snapshots, []);
    });

    it(`replay - ${protocol}: Read from a seq and from a time, without leases`, async () => {
      await c.admin.createTopic({ name: "l1", queue: true });
      await publish("l1", "a", "b");
      await sleep(20);
      const cutoff = Date.now();
      await sleep(5);
      await publish("l1", "c", "d");
      assert.deepEqual(await readAll(c, { topic: "l1" }), ["a", "b", "c", "d"]);
      assert.deepEqual(await readAll(c, { topic: "l1", from: { case: "fromSeq", value: 3n }, maxMessages: 1 }), [
        "c",
        "d",
      ]);
      assert.deepEqual(await readAll(c, { topic: "l1", from: { case: "fromTime", value: timestampFromMs(cutoff) } }), [
        "c",
        "d",
      ]);
      assert.equal((await stats("l1"))?.inFlight, 0n, "Read leases nothing");
      assert.deepEqual(await pullAll("l1"), ["a", "b", "c", "d"]);
    });

    it(`replay - ${protocol}: Read with follow is woken by a publish and ended by the client`, async () => {
      await c.admin.createTopic({ name: "f1" });
      await c.admin.createSubscription({ subscription: { name: "f1-sub", topic: "f1" } });
      await publish("f1", "first");
      const r = openRead(c, { topic: "f1", follow: true });
      try {
        await until(() => r.got.length === 1, "the stored message");
        await publish("f1", "second", "third");
        await until(() => r.got.length === 3, "the new messages");
        assert.deepEqual(r.got, ["first", "second", "third"]);
      } finally {
        r.abort();
      }
      await r.done;
      assert.equal(r.error?.code, Code.Canceled);
      // The server ended its side: the topic is served as before.
      assert.deepEqual(await readAll(c, { topic: "f1", from: { case: "fromSeq", value: 3n } }), ["third"]);
    });

    it(`replay - ${protocol}: the server's sweep removes acked messages once retain_acked_ms has passed`, async () => {
      await c.admin.createTopic({ name: "ret", queue: true, retainAckedMs: 200n });
      await publish("ret", "a", "b");
      assert.deepEqual(await pullAll("ret"), ["a", "b"]);
      const stored = async () => (await c.admin.getStats({ topics: ["ret"] })).topics[0]?.messages;
      // The sweep runs about once a second; the bound here only keeps a broken sweep from hanging the test.
      const deadline = Date.now() + 15_000;
      while ((await stored()) !== 0n) {
        assert.ok(Date.now() < deadline, "the retained messages were never swept");
        await sleep(50);
      }
      await c.replay.seek({ subscription: "ret", target: { case: "seq", value: 1n } });
      assert.deepEqual(await pullAll("ret"), [], "nothing left to replay");
    });

    it(`replay - ${protocol}: max_messages with reject is RESOURCE_EXHAUSTED (BACKLOG_FULL) and stores nothing`, async () => {
      await c.admin.createTopic({ name: "lim-r", queue: true, maxMessages: 2n });
      await publish("lim-r", "a", "b");
      const full = await failure(publish("lim-r", "c"));
      assert.deepEqual(full, { code: Code.ResourceExhausted, reason: "BACKLOG_FULL" });
      const topicStats = (await c.admin.getStats({ topics: ["lim-r"] })).topics[0];
      assert.deepEqual([topicStats?.messages, topicStats?.lastSeq], [2n, 2n]);
      assert.deepEqual(await pullAll("lim-r"), ["a", "b"]);
      await publish("lim-r", "c");
      assert.deepEqual(await pullAll("lim-r"), ["c"]);
    });

    it(`replay - ${protocol}: max_messages with drop_oldest drops from every subscription, counters exact`, async () => {
      await c.admin.createTopic({ name: "lim-d", queue: true, maxMessages: 2n, overflow: OverflowPolicy.DROP_OLDEST });
      await c.admin.createSubscription({ subscription: { name: "lim-d-2", topic: "lim-d" } });
      await publish("lim-d", "a", "b");
      const leased = await c.subscriber.pull({ subscription: "lim-d", maxMessages: 1 });
      await publish("lim-d", "c");
      const dropped = await failure(
        c.subscriber.ack({ subscription: "lim-d", ackIds: [leased.messages[0]?.ackId ?? ""] }),
      );
      assert.equal(dropped.reason, "DELIVERY_UNKNOWN", "the leased oldest message is gone");
      for (const name of ["lim-d", "lim-d-2"]) {
        const st = await stats(name);
        assert.deepEqual([st?.backlog, st?.inFlight], [2n, 0n], name);
      }
      assert.deepEqual(await pullAll("lim-d"), ["b", "c"]);
      assert.deepEqual(await pullAll("lim-d-2"), ["b", "c"]);
      const topicStats = (await c.admin.getStats({ topics: ["lim-d"] })).topics[0];
      assert.deepEqual([topicStats?.messages, topicStats?.bytes, topicStats?.lastSeq], [0n, 0n, 3n]);
    });

    it(`replay - ${protocol}: bad input gets stable reasons and changes nothing`, async () => {
      await c.admin.createTopic({ name: "bad", queue: true });
      await c.admin.createTopic({ name: "bad-other", queue: true });
      await publish("bad", "keep");
      await c.replay.createSnapshot({ name: "bad-other-snap", subscription: "bad-other" });
      const cases: [() => Promise<unknown>, Code, string][] = [
        [() => c.replay.seek({ subscription: "bad" }), Code.InvalidArgument, "INVALID_ARGUMENT"],
        [
          () => c.replay.seek({ subscription: "bad", target: { case: "seq", value: 0n } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.replay.seek({ subscription: "bad", target: { case: "seq", value: 99n } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.replay.seek({ subscription: "bad", target: { case: "seq", value: 1n << 60n } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          // Another topic's snapshot is answered as a missing one (its topic is not revealed).
          () => c.replay.seek({ subscription: "bad", target: { case: "snapshot", value: "bad-other-snap" } }),
          Code.NotFound,
          "SNAPSHOT_NOT_FOUND",
        ],
        [
          () => c.replay.seek({ subscription: "", target: { case: "seq", value: 1n } }),
          Code.InvalidArgument,
          "INVALID_NAME",
        ],
        [
          () => c.replay.seek({ subscription: "nope", target: { case: "seq", value: 1n } }),
          Code.NotFound,
          "SUBSCRIPTION_NOT_FOUND",
        ],
        [() => readAll(c, { topic: "bad", maxMessages: 5000 }), Code.InvalidArgument, "INVALID_ARGUMENT"],
        [() => readAll(c, { topic: "nope" }), Code.NotFound, "TOPIC_NOT_FOUND"],
        [() => c.admin.createTopic({ name: "bad-2", maxAgeMs: 1n << 60n }), Code.InvalidArgument, "INVALID_ARGUMENT"],
        [() => c.replay.listSnapshots({ subscription: "nope" }), Code.NotFound, "SUBSCRIPTION_NOT_FOUND"],
      ];
      for (const [call, code, reason] of cases) assert.deepEqual(await failure(call()), { code, reason }, String(call));
      assert.deepEqual(await pullAll("bad"), ["keep"]);
      assert.equal((await c.admin.getStats({ topics: ["bad"] })).topics[0]?.lastSeq, 1n);
    });
  });
}
