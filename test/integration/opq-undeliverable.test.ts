/**
 * An OPQ topic and the other doors: a message published to it without a usable target never
 * blocks it (dropped, or dead-lettered with --opq-max-attempts), and consumers of other doors
 * cannot take its messages from the pushes (a push subscription refuses Pull and Subscribe).
 * Real server on port 0, real HTTP target, real TCP clients.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { reasonOf } from "../../src/bridges/bridge.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { type RawClient, rawClient } from "../helpers/okq-harness.js";
import { opqPush } from "../helpers/opq-client.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type Received, startWebhookTarget, type WebhookTarget } from "../helpers/webhook-target.js";

const messages = (got: Received[]) => got.map((r) => new URLSearchParams(r.body.toString()).get("message"));

/** Polls GetStats until `check` holds for the subscription (a bounded wait, not a timing assertion). */
async function until(c: TestClients, name: string, what: string, check: (s: SubStats) => boolean) {
  for (let i = 0; i < 400; i++) {
    const s = (await c.admin.getStats({ topics: [name] })).subscriptions.find((x) => x.name === name);
    if (s && check(s)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${name}: never ${what}`);
}
type SubStats = Awaited<ReturnType<TestClients["admin"]["getStats"]>>["subscriptions"][number];

describe("opq undeliverable messages and other doors", () => {
  let s: TestServer;
  let target: WebhookTarget;
  let c: TestClients;
  let opq: string;
  const sockets: net.Socket[] = [];
  before(async () => {
    s = await startTestServer({ config: { opqTimeoutMs: 2_000 } });
    target = await startWebhookTarget();
    c = createTestClients(s.baseUrl, "connect");
    opq = `http://${s.addresses.opq}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    c.close();
    await s.close();
    await target.close();
  });

  async function connect(key: "ohpq" | "okq"): Promise<RawClient> {
    const address = s.addresses[key] as string;
    const i = address.lastIndexOf(":");
    const socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return rawClient(socket);
  }

  it("opq - a message published over Connect without a target is dropped (counted), and the topic goes on at once", async () => {
    await opqPush(opq, "mixed", target.url("/mixed"), [["message", "first"]]);
    await target.waitFor("/mixed", 1);
    await c.publisher.publish({
      topic: "mixed",
      messages: [{ data: Buffer.from("no target"), orderingKey: "opq", attributes: { "form.message": "stray" } }],
    });
    await opqPush(opq, "mixed", target.url("/mixed"), [["message", "after"]]);
    assert.deepEqual(messages(await target.waitFor("/mixed", 2)), ["first", "after"]);
    const st = await until(c, "mixed", "drained", (x) => x.backlog === 0n);
    assert.equal(st.deadLettered, 1n);
    assert.equal(st.push?.consecutiveFailures, 0);
  });

  it("opq - Pull, Subscribe, ohpq GET and SUB, okQ QRPOP, RestMQ get of an OPQ topic are refused: its messages are pushed", async () => {
    target.on("/held", () => "hold");
    await opqPush(opq, "pushed", target.url("/held"), [["message", "a"]]);
    await opqPush(opq, "pushed", target.url("/held"), [["message", "b"]]);
    await target.waitFor("/held", 1);
    const refused = (e: unknown) =>
      e instanceof ConnectError && e.code === Code.FailedPrecondition && reasonOf(e) === "PUSH_SUBSCRIPTION";
    await assert.rejects(c.subscriber.pull({ subscription: "pushed", maxMessages: 10 }), refused);
    await assert.rejects(async () => {
      for await (const _ of c.subscriber.subscribe({ subscription: "pushed" })) break;
    }, refused);
    const ohpq = await connect("ohpq");
    await ohpq.roundtrip("GET pushed\nSUB pushed\nPING\n", `${"ERROR queue is push-delivered\n".repeat(2)}PONG\n`);
    const okq = await connect("okq");
    okq.send(encodeCommand(["QRPOP", "pushed"]));
    await okq.expect(
      '-ERR subscription "pushed" is a push subscription: the broker delivers its messages itself (remove its push config to pull)\r\n',
    );
    const restmq = await fetch(`http://${s.addresses.restmq}/q/pushed`);
    assert.equal(restmq.status, 409);
    // Nothing was taken from the pushes: b waits for a, in order.
    target.release(200, "/held");
    target.on("/held", () => 200);
    assert.deepEqual(messages(await target.waitFor("/held", 2)), ["a", "b"]);
    // Peek leases nothing, so it still works.
    const peeked = await c.subscriber.peek({ subscription: "pushed", maxMessages: 10 });
    assert.ok(peeked.messages.length <= 1);
  });
});
