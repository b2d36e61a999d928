/**
 * A client written against another gRPC implementation (@grpc/grpc-js) drives the hot methods
 * (the lean path) and reads errors the gRPC way: status code, message, and the
 * `switchyard.v1.ErrorDetail` in `grpc-status-details-bin`; deadlines go as `grpc-timeout`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

type Method = { parent: { typeName: string }; name: string; input: DescMessage; output: DescMessage };

function call<M extends Method>(
  client: grpc.Client,
  method: M,
  request: MessageInitShape<M["input"]>,
  options: grpc.CallOptions = {},
): Promise<MessageShape<M["output"]>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (m: MessageShape<M["input"]>) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b) as MessageShape<M["output"]>,
      create(method.input, request) as MessageShape<M["input"]>,
      new grpc.Metadata(),
      options,
      (error, value) => (error ? reject(error) : resolve(value as MessageShape<M["output"]>)),
    );
  });
}

/** The reason in a grpc-js error's `grpc-status-details-bin`. */
function reasonOf(e: unknown): string | undefined {
  const error = e as grpc.ServiceError;
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return undefined;
  const headers = new Headers({ "grpc-status": String(error.code), "grpc-status-details-bin": bin.toString("base64") });
  return findTrailerError(headers)?.findDetails(ErrorDetailSchema)[0]?.reason;
}

describe("grpc-js client", () => {
  let s: TestServer;
  let client: grpc.Client;
  let admin: TestClients;
  const P = PublisherService.method;
  const S = SubscriberService.method;

  before(async () => {
    s = await startTestServer();
    admin = createTestClients(s.baseUrl, "connect");
    await admin.admin.createTopic({ name: "jobs", queue: true });
    client = new grpc.Client(s.addresses.rpc as string, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    admin?.close();
    await s?.close();
  });

  it("grpc-js - publish, pull, modify, nack and ack round trip", async () => {
    const published = await call(client, P.publish, {
      topic: "jobs",
      messages: [{ data: Buffer.from("a"), id: "m1" }],
    });
    assert.equal(published.results[0]?.seq, 1n);
    const pulled = await call(client, S.pull, { subscription: "jobs", maxMessages: 5 });
    const ackId = pulled.messages[0]?.ackId as string;
    assert.equal(Buffer.from(pulled.messages[0]?.message?.data ?? []).toString(), "a");
    await call(client, S.modifyAckDeadline, { subscription: "jobs", ackIds: [ackId], ackDeadlineMs: 60_000n });
    await call(client, S.nack, { subscription: "jobs", ackIds: [ackId] });
    const again = await call(client, S.pull, { subscription: "jobs", maxMessages: 5 });
    assert.equal(again.messages[0]?.deliveryAttempt, 2);
    await call(client, S.ack, { subscription: "jobs", ackIds: [again.messages[0]?.ackId as string] });
    const stats = await admin.admin.getStats({ topics: ["jobs"] });
    assert.equal(stats.subscriptions[0]?.backlog, 0n);
  });

  it("grpc-js - errors carry the gRPC code and the ErrorDetail reason", async () => {
    await assert.rejects(call(client, P.publish, { topic: "nope", messages: [{ data: Buffer.from("x") }] }), (e) => {
      assert.equal((e as grpc.ServiceError).code, grpc.status.NOT_FOUND);
      assert.equal(reasonOf(e), "TOPIC_NOT_FOUND");
      return true;
    });
    await assert.rejects(call(client, S.ack, { subscription: "jobs", ackIds: ["bogus"] }), (e) => {
      assert.equal((e as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
      assert.equal(reasonOf(e), "INVALID_ACK_ID");
      return true;
    });
  });

  it("grpc-js - a long-poll Pull is bounded by the client's deadline (grpc-timeout), not by wait_ms", async () => {
    const started = Date.now();
    // The server answers empty 50 ms before the deadline; on a loaded machine the answer may come
    // late, and the client then reports DEADLINE_EXCEEDED itself. Either way the wait followed the
    // deadline, not the 10 s of wait_ms.
    const outcome = await call(
      client,
      S.pull,
      { subscription: "jobs", waitMs: 10_000 },
      { deadline: Date.now() + 500 },
    ).then(
      (res) => res.messages.length,
      (e: grpc.ServiceError) => e.code,
    );
    assert.ok(outcome === 0 || outcome === grpc.status.DEADLINE_EXCEEDED, `outcome ${outcome}`);
    assert.ok(Date.now() - started < 5_000, "the Pull waited past the client's deadline");
  });
});
