/**
 * createSwitchyardTransport (src/client/) against connect-node's Connect transport on the real
 * server, beyond plain answers: aborted signals (before and during a call), size
 * limits, a server that is down, response headers, interceptors with auth (users config) and
 * context values, and Subscribe streams through the delegate. Each case runs through both and
 * requires the same outcome.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it, type TestContext } from "node:test";
import {
  createClient,
  createContextKey,
  createContextValues,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { UserConfig } from "../../src/auth/index.js";
import { createSwitchyardTransport, type SwitchyardTransportOptions } from "../../src/client/index.js";
import { connectErrorShape } from "../helpers/connect-error-shape.js";
import { startTestServer } from "../helpers/start-test-server.js";

type Options = Omit<SwitchyardTransportOptions, "baseUrl">;

const USERS: UserConfig[] = [
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin"], topics: [] },
  { name: "app", password: "app-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["orders"] },
];

/** A server (optional) and both transports on it; closes the transports, then the server. */
async function setup(t: TestContext, config: Parameters<typeof startTestServer>[0] = {}) {
  const server = await startTestServer(config);
  const closers: (() => void)[] = [];
  t.after(async () => {
    for (const c of closers) c();
    await server.close();
  });
  return { server, both: (options: Options = {}) => bothTransports(server.baseUrl, options, closers) };
}

function bothTransports(baseUrl: string, options: Options, closers: (() => void)[]): [Transport, Transport] {
  const lean = createSwitchyardTransport({ baseUrl, ...options });
  const sessionManager = new Http2SessionManager(baseUrl);
  const node = createConnectTransport({ ...options, baseUrl, httpVersion: "2", sessionManager, acceptCompression: [] });
  closers.push(
    () => lean.close(),
    () => sessionManager.abort(),
  );
  return [lean, node];
}

/** Runs `call` through both transports; they must fail the same way; returns that failure. */
async function sameError(transports: [Transport, Transport], call: (t: Transport) => Promise<unknown>) {
  const got = [];
  for (const tr of transports) got.push(await call(tr).then(() => assert.fail("expected an error"), connectErrorShape));
  assert.deepEqual(got[0], got[1]);
  return got[0]!;
}

const data = (size: number) => new Uint8Array(size).fill(7);

async function topicWithSub(transport: Transport, topic: string, subscription = `${topic}-s`) {
  await createClient(AdminService, transport).createTopic({ name: topic });
  await createClient(AdminService, transport).createSubscription({ subscription: { name: subscription, topic } });
}

describe("client edges", () => {
  it("client - aborted signals fail alike, before and during a call (Canceled)", async (t) => {
    const { both } = await setup(t);
    const transports = both();
    await topicWithSub(transports[0], "idle");
    const longPull = (tr: Transport, options: object) =>
      createClient(SubscriberService, tr).pull({ subscription: "idle-s", maxMessages: 1, waitMs: 5000 }, options);
    const before = await sameError(transports, (tr) => longPull(tr, { signal: AbortSignal.abort() }));
    assert.deepEqual([before.code, before.message], ["Canceled", "This operation was aborted"]);
    const during = await sameError(transports, (tr) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      return longPull(tr, { signal: controller.signal });
    });
    assert.equal(during.code, "Canceled");
    // The session is still good after all of that.
    for (const tr of transports) await createClient(AdminService, tr).listTopics({});
  });

  it("client - size limits: writeMaxBytes and readMaxBytes fail alike before and after the wire", async (t) => {
    const { both } = await setup(t);
    const [lean] = both();
    await topicWithSub(lean, "big");
    const publish = (tr: Transport) =>
      createClient(PublisherService, tr).publish({ topic: "big", messages: [{ data: data(1024) }] });
    const write = await sameError(both({ writeMaxBytes: 100 }), publish);
    assert.equal(write.code, "ResourceExhausted");
    assert.match(write.message, /larger than configured writeMaxBytes 100/);
    await publish(lean);
    const read = await sameError(both({ readMaxBytes: 16 }), (tr) =>
      createClient(AdminService, tr).getSubscription({ name: "big-s" }),
    );
    assert.equal(read.code, "ResourceExhausted");
    assert.match(read.message, /larger than configured readMaxBytes 16/);
  });

  it("client - a server that is down is Unavailable through both", async (t) => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const closers: (() => void)[] = [];
    t.after(() => {
      for (const c of closers) c();
    });
    const down = await sameError(bothTransports(`http://127.0.0.1:${port}`, {}, closers), (tr) =>
      createClient(AdminService, tr).listTopics({}),
    );
    assert.deepEqual([down.code, down.message], ["Unavailable", `connect ECONNREFUSED 127.0.0.1:${port}`]);
  });

  it("client - response headers and trailers reach onHeader and onTrailer alike", async (t) => {
    const { both } = await setup(t);
    const seen = [];
    for (const tr of both()) {
      const got: Record<string, [string, string][]> = {};
      await createClient(AdminService, tr).listTopics(
        {},
        {
          onHeader: (h) => {
            got.header = [...h.entries()].filter(([k]) => k !== "date");
          },
          onTrailer: (h) => {
            got.trailer = [...h.entries()];
          },
        },
      );
      seen.push(got);
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.equal(Object.fromEntries(seen[0]!.header!)["content-type"], "application/proto");
  });

  it("client - interceptors add the authorization header and see context values, alike", async (t) => {
    const { both } = await setup(t, { config: { users: USERS } });
    const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`;
    const callerKey = createContextKey("nobody", { description: "caller" });
    const seenCallers: string[] = [];
    const auth =
      (authorization: string): Interceptor =>
      (next) =>
      async (req) => {
        seenCallers.push(req.contextValues.get(callerKey));
        req.header.set("authorization", authorization);
        const res = await next(req);
        assert.equal(res.header.get("content-type"), "application/proto");
        return res;
      };
    const admin = both({ interceptors: [auth("Bearer tok-admin")] });
    for (const tr of admin) {
      await createClient(AdminService, tr).createTopic({ name: `orders${tr === admin[0] ? "" : "-2"}` });
    }
    const app = both({ interceptors: [auth(basic("app", "app-pw"))] });
    const contextValues = createContextValues().set(callerKey, "app");
    const published = [];
    for (const tr of app) {
      const res = await createClient(PublisherService, tr).publish(
        { topic: "orders", messages: [{ data: data(8), id: "same" }] },
        { contextValues },
      );
      published.push(res.results.map((r) => r.id));
    }
    assert.deepEqual(published, [["same"], ["same"]]);
    assert.deepEqual(seenCallers, ["nobody", "nobody", "app", "app"]);
    const denied = await sameError(app, (tr) =>
      createClient(PublisherService, tr).publish({ topic: "billing", messages: [{ data: data(8) }] }),
    );
    assert.deepEqual([denied.code, denied.details[0]?.reason], ["PermissionDenied", "PERMISSION_DENIED"]);
    const anonymous = await sameError(both(), (tr) =>
      createClient(PublisherService, tr).publish({ topic: "orders", messages: [{ data: data(8) }] }),
    );
    assert.deepEqual([anonymous.code, anonymous.details[0]?.reason], ["Unauthenticated", "UNAUTHENTICATED"]);
    const wrong = await sameError(both({ interceptors: [auth(basic("app", "nope"))] }), (tr) =>
      createClient(AdminService, tr).listTopics({}),
    );
    assert.equal(wrong.code, "Unauthenticated");
  });

  it("client - Subscribe streams go through the delegate and deliver what was published", async (t) => {
    const { both } = await setup(t);
    const [lean, node] = both();
    const got = [];
    for (const [i, tr] of [lean, node].entries()) {
      await topicWithSub(tr, `stream-${i}`);
      const payloads = [1, 2, 3].map((n) => new Uint8Array([n, i]));
      await createClient(PublisherService, tr).publish({
        topic: `stream-${i}`,
        messages: payloads.map((d) => ({ data: d })),
      });
      const controller = new AbortController();
      const received: Uint8Array[] = [];
      const subscriber = createClient(SubscriberService, tr);
      for await (const res of subscriber.subscribe(
        { subscription: `stream-${i}-s`, maxOutstandingMessages: 10 },
        { signal: controller.signal },
      )) {
        received.push(...res.messages.map((m) => m.message!.data));
        await subscriber.ack({ subscription: `stream-${i}-s`, ackIds: res.messages.map((m) => m.ackId) });
        if (received.length >= 3) break;
      }
      controller.abort();
      assert.deepEqual(received, payloads);
      got.push(received.map((d) => d[0]));
    }
    assert.deepEqual(got[0], got[1]);
  });
});
