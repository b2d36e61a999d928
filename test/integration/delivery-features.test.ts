/**
 * Ordered subscriptions, attribute filters, priority and ephemeral subscriptions end to end: the
 * real server on port 0 with LMDB, generated clients over Connect, gRPC and gRPC-web.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const protocol of PROTOCOLS) {
  describe(`delivery features over ${protocol}`, () => {
    let s: TestServer;
    let c: TestClients;
    let other: TestClients;
    before(async () => {
      s = await startTestServer();
      c = createTestClients(s.baseUrl, protocol);
      other = createTestClients(s.baseUrl, protocol);
    });
    after(async () => {
      c.close();
      other.close();
      await s.close();
    });

    it(`ordered - ${protocol}: one in flight per key, no head-of-line blocking, the next after the ack`, async () => {
      await c.admin.createTopic({ name: "orders" });
      await c.admin.createSubscription({
        subscription: {
          name: "orders-sub",
          topic: "orders",
          ordered: true,
          start: { at: { case: "earliest", value: true } },
        },
      });
      await c.publisher.publish({
        topic: "orders",
        messages: [
          { data: text("u1-created"), orderingKey: "user-1" },
          { data: text("u1-paid"), orderingKey: "user-1" },
          { data: text("u2-created"), orderingKey: "user-2" },
          { data: text("u1-shipped"), orderingKey: "user-1" },
          { data: text("u2-paid"), orderingKey: "user-2" },
        ],
      });
      const first = await c.subscriber.pull({ subscription: "orders-sub", maxMessages: 10 });
      assert.deepEqual(
        first.messages.map((m) => str(m.message?.data)),
        ["u1-created", "u2-created"],
      );
      // Another consumer waits: both keys are in flight.
      const waiting = other.subscriber.pull({ subscription: "orders-sub", maxMessages: 10, waitMs: 10_000 });
      await sleep(50);
      await c.subscriber.ack({ subscription: "orders-sub", ackIds: [first.messages[1]?.ackId as string] });
      const next = await waiting;
      assert.deepEqual(
        next.messages.map((m) => str(m.message?.data)),
        ["u2-paid"],
        "the ack of user-2's head frees exactly its next message",
      );
      const sub = await c.admin.getSubscription({ name: "orders-sub" });
      assert.equal(sub.subscription?.ordered, true);
    });

    it(`filter - ${protocol}: subscriptions see only matching messages; stats count what each holds`, async () => {
      await c.admin.createTopic({ name: "events" });
      await c.admin.createSubscription({
        subscription: { name: "events-eu", topic: "events", filter: { region: "eu" } },
      });
      await c.admin.createSubscription({
        subscription: { name: "events-eu-vip", topic: "events", filter: { region: "eu", tier: "vip" } },
      });
      await c.publisher.publish({
        topic: "events",
        messages: [
          { data: text("eu"), attributes: { region: "eu" } },
          { data: text("us"), attributes: { region: "us", tier: "vip" } },
          { data: text("eu-vip"), attributes: { region: "eu", tier: "vip" } },
        ],
      });
      const eu = await c.subscriber.pull({ subscription: "events-eu", maxMessages: 10 });
      assert.deepEqual(
        eu.messages.map((m) => str(m.message?.data)),
        ["eu", "eu-vip"],
      );
      const vip = await c.subscriber.pull({ subscription: "events-eu-vip", maxMessages: 10 });
      assert.deepEqual(
        vip.messages.map((m) => str(m.message?.data)),
        ["eu-vip"],
      );
      const stats = await c.admin.getStats({ topics: ["events"] });
      assert.equal(stats.topics[0]?.messages, 2n, "the us message matched no subscription and was not kept");
      const err = await c.admin
        .updateSubscription({
          subscription: { name: "events-eu", topic: "events", filter: { region: "us" } },
          updateMask: { paths: ["filter"] },
        })
        .then(
          () => assert.fail("a filter change must be refused"),
          (e: unknown) => ConnectError.from(e),
        );
      assert.equal(err.code, Code.InvalidArgument);
      assert.equal(err.findDetails(ErrorDetailSchema)[0]?.reason, "INVALID_ARGUMENT");
      const kept = await c.admin.getSubscription({ name: "events-eu" });
      assert.deepEqual(kept.subscription?.filter, { region: "eu" });
    });

    it(`ephemeral - ${protocol}: an unused subscription with expire_after_idle_ms deletes itself`, async () => {
      await c.admin.createTopic({ name: "live" });
      await c.admin.createSubscription({ subscription: { name: "live-tmp", topic: "live", expireAfterIdleMs: 300n } });
      await c.admin.createSubscription({ subscription: { name: "live-keep", topic: "live" } });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const names = (await c.admin.listSubscriptions({ topic: "live" })).subscriptions.map((x) => x.name);
        if (!names.includes("live-tmp")) {
          assert.deepEqual(names, ["live-keep"]);
          break;
        }
        if (Date.now() > deadline) assert.fail("the idle ephemeral subscription was not deleted within 10 s");
        await sleep(50);
      }
      const err = await c.subscriber.pull({ subscription: "live-tmp" }).then(
        () => assert.fail("pull on a deleted subscription must fail"),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.NotFound);
    });
  });
}
