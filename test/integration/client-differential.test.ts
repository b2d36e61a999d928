/**
 * createSwitchyardTransport (src/client/) against connect-node's Connect transport on the real
 * server: the same calls through each give the same answers, for the hot methods (the lean
 * unary path: Publish, Pull, Ack, Nack, ModifyAckDeadline), a cold admin method, and every
 * error reason those return, with its ErrorDetail and metadata.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type DescMessage, type MessageShape, toJsonString } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  AdminService,
  CreateTopicResponseSchema,
  GetSubscriptionResponseSchema,
} from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService, PublishResponseSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { PullResponseSchema, SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { createSwitchyardTransport } from "../../src/client/index.js";
import { connectErrorShape } from "../helpers/connect-error-shape.js";
import { startTestServer } from "../helpers/start-test-server.js";

/** Both transports on their own HTTP/2 session to `baseUrl`, closed after the test. */
function bothTransports(t: TestContext, baseUrl: string): [string, Transport][] {
  const lean = createSwitchyardTransport({ baseUrl });
  const sessionManager = new Http2SessionManager(baseUrl);
  const node = createConnectTransport({ baseUrl, httpVersion: "2", sessionManager, acceptCompression: [] });
  t.after(() => {
    lean.close();
    sessionManager.abort();
  });
  assert.equal(lean.lean, true);
  return [
    ["lean", lean],
    ["node", node],
  ];
}

/** The outcome of one call as a string (proto JSON of the answer, or the error's shape). */
async function outcome<T extends DescMessage>(schema: T, call: Promise<MessageShape<T>>): Promise<string> {
  try {
    return `ok ${toJsonString(schema, await call)}`;
  } catch (e) {
    return `error ${JSON.stringify(connectErrorShape(e))}`;
  }
}

/** Replaces what differs between two equal runs: timestamps, and ack ids by their order. */
function normalizer() {
  const ackIds: string[] = [];
  return (text: string) => {
    let out = text.replace(/"\d{4}-\d\d-\d\dT[0-9:.]+Z"/g, '"<time>"');
    for (const m of out.matchAll(/"ackId":"([^"]+)"/g)) if (!ackIds.includes(m[1]!)) ackIds.push(m[1]!);
    ackIds.forEach((id, i) => {
      out = out.replaceAll(id, `<ack${i}>`);
    });
    return out;
  };
}

const bytes = (n: number, size = 16) => new Uint8Array(size).fill(n);

/** Admin set-up, publishes, pulls, acks, nacks and deadline changes on topic `${p}-t`. */
async function hotScenario(p: string, transport: Transport) {
  const admin = createClient(AdminService, transport);
  const publisher = createClient(PublisherService, transport);
  const subscriber = createClient(SubscriberService, transport);
  const [topic, subscription] = [`${p}-t`, `${p}-s`];
  const norm = normalizer();
  const steps: string[] = [];
  const step = async <T extends DescMessage>(label: string, schema: T, call: Promise<MessageShape<T>>) => {
    steps.push(`${label} ${norm((await outcome(schema, call)).replaceAll(p, "P"))}`);
  };
  await step("createTopic", CreateTopicResponseSchema, admin.createTopic({ name: topic }));
  await admin.createSubscription({ subscription: { name: subscription, topic, ackDeadlineMs: 30_000n } });
  const messages = [1, 2, 3].map((n) => ({ data: bytes(n), id: `m${n}`, attributes: { n: `${n}` } }));
  await step("publish", PublishResponseSchema, publisher.publish({ topic, messages }));
  await step("publish again", PublishResponseSchema, publisher.publish({ topic, messages: messages.slice(0, 1) }));
  const pulled = await subscriber.pull({ subscription, maxMessages: 3, waitMs: 2000 });
  steps.push(`pull ${norm(toJsonString(PullResponseSchema, pulled).replaceAll(p, "P"))}`);
  assert.deepEqual(
    pulled.messages.map((m) => m.message?.data),
    [1, 2, 3].map((n) => bytes(n)),
  );
  const [a0, a1, a2] = pulled.messages.map((m) => m.ackId);
  const settle = async (label: string, call: Promise<unknown>) => {
    try {
      await call;
      steps.push(`${label} ok`);
    } catch (e) {
      steps.push(`${label} error ${norm(JSON.stringify(connectErrorShape(e)).replaceAll(p, "P"))}`);
    }
  };
  await settle("ack", subscriber.ack({ subscription, ackIds: [a0!] }));
  await settle("nack", subscriber.nack({ subscription, ackIds: [a1!] }));
  await settle(
    "modifyAckDeadline",
    subscriber.modifyAckDeadline({ subscription, ackIds: [a2!], ackDeadlineMs: 60_000n }),
  );
  await settle("ack twice", subscriber.ack({ subscription, ackIds: [a0!, a2!] }));
  await settle("nack bad id", subscriber.nack({ subscription, ackIds: ["not-an-ack-id"] }));
  await settle("modify bad id", subscriber.modifyAckDeadline({ subscription, ackIds: ["x"], ackDeadlineMs: 1000n }));
  await step("pull again", PullResponseSchema, subscriber.pull({ subscription, maxMessages: 3, waitMs: 2000 }));
  await step("getSubscription", GetSubscriptionResponseSchema, admin.getSubscription({ name: subscription }));
  return steps;
}

describe("client differential", () => {
  it("client - hot methods and an admin call answer the same through both transports", async (t) => {
    const server = await startTestServer();
    t.after(() => server.close());
    const runs = [];
    for (const [name, transport] of bothTransports(t, server.baseUrl)) runs.push(await hotScenario(name, transport));
    assert.deepEqual(runs[0], runs[1]);
    const [lean] = runs;
    assert.match(lean![1]!, /^publish ok .*"seq":"3","id":"m3"/);
    assert.match(lean!.find((s) => s.startsWith("publish again"))!, /"duplicate":true/);
    assert.match(lean!.find((s) => s.startsWith("ack twice"))!, /FailedPrecondition.*DELIVERY_UNKNOWN/);
    assert.match(lean!.find((s) => s.startsWith("nack bad id"))!, /InvalidArgument.*INVALID_ACK_ID/);
    assert.match(lean!.find((s) => s.startsWith("pull again"))!, /"deliveryAttempt":2/);
  });

  it("client - every error reason of the hot methods comes out the same, ErrorDetail and metadata", async (t) => {
    const server = await startTestServer({ config: { maxMessageBytes: 2048 } });
    t.after(() => server.close());
    const [[, lean], [, node]] = bothTransports(t, server.baseUrl) as [[string, Transport], [string, Transport]];
    await createClient(AdminService, lean).createTopic({ name: "exists" });
    await createClient(AdminService, lean).createSubscription({ subscription: { name: "sub", topic: "exists" } });
    const cases: [string, string, (tr: Transport) => Promise<unknown>][] = [
      [
        "TOPIC_NOT_FOUND",
        "NotFound",
        (tr) => createClient(PublisherService, tr).publish({ topic: "nope", messages: [{ data: bytes(1) }] }),
      ],
      [
        "INVALID_NAME",
        "InvalidArgument",
        (tr) => createClient(PublisherService, tr).publish({ topic: "", messages: [{ data: bytes(1) }] }),
      ],
      [
        "PAYLOAD_TOO_LARGE",
        "ResourceExhausted",
        (tr) => createClient(PublisherService, tr).publish({ topic: "exists", messages: [{ data: bytes(1, 4096) }] }),
      ],
      [
        "BATCH_TOO_LARGE",
        "InvalidArgument",
        (tr) =>
          createClient(PublisherService, tr).publish({
            topic: "exists",
            messages: Array.from({ length: 1001 }, () => ({ data: bytes(1) })),
          }),
      ],
      [
        "SUBSCRIPTION_NOT_FOUND",
        "NotFound",
        (tr) => createClient(SubscriberService, tr).pull({ subscription: "nope", maxMessages: 1 }),
      ],
      [
        "INVALID_ACK_ID",
        "InvalidArgument",
        (tr) => createClient(SubscriberService, tr).ack({ subscription: "sub", ackIds: ["zzz"] }),
      ],
      [
        "SUBSCRIPTION_NOT_FOUND",
        "NotFound",
        (tr) => createClient(SubscriberService, tr).nack({ subscription: "nope", ackIds: ["zzz"] }),
      ],
      [
        "INVALID_ARGUMENT",
        "InvalidArgument",
        (tr) => createClient(SubscriberService, tr).ack({ subscription: "sub", ackIds: [] }),
      ],
      ["ALREADY_EXISTS", "AlreadyExists", (tr) => createClient(AdminService, tr).createTopic({ name: "exists" })],
      ["TOPIC_NOT_FOUND", "NotFound", (tr) => createClient(AdminService, tr).getTopic({ name: "nope" })],
    ];
    for (const [reason, code, call] of cases) {
      const got = [];
      for (const tr of [lean, node]) {
        got.push(await call(tr).then(() => assert.fail(`${reason}: expected an error`), connectErrorShape));
      }
      assert.deepEqual(got[0], got[1], reason);
      assert.equal(got[0]!.code, code, reason);
      assert.equal(got[0]!.details[0]?.reason, reason);
    }
  });
});
