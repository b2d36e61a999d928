import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { registerHealth } from "./health.js";

function setup() {
  const shutdown = new AbortController();
  const transport = createRouterTransport((router) =>
    registerHealth(router, { shutdownSignal: shutdown.signal, services: ["switchyard.v1.AdminService"] }),
  );
  return { shutdown, client: createClient(Health, transport) };
}

async function expectCode(promise: Promise<unknown>, code: Code): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.equal(ConnectError.from(e).code, code, String(e));
    return true;
  });
}

describe("health", () => {
  it("health - Check reports SERVING for the server and known services, NOT_FOUND otherwise", async () => {
    const { client } = setup();
    assert.equal((await client.check({})).status, Status.SERVING);
    assert.equal((await client.check({ service: "switchyard.v1.AdminService" })).status, Status.SERVING);
    await expectCode(client.check({ service: "nope.Service" }), Code.NotFound);
  });

  it("health - Check reports NOT_SERVING once shutdown begins", async () => {
    const { client, shutdown } = setup();
    shutdown.abort(new Error("bye"));
    assert.equal((await client.check({})).status, Status.NOT_SERVING);
  });

  it("health - Watch streams SERVING, then NOT_SERVING and UNAVAILABLE at shutdown", async () => {
    const { client, shutdown } = setup();
    const statuses: Status[] = [];
    const stream = client.watch({});
    const done = (async () => {
      for await (const res of stream) {
        statuses.push(res.status);
        if (statuses.length === 1) shutdown.abort(new Error("bye"));
      }
    })();
    await expectCode(done, Code.Unavailable);
    assert.deepEqual(statuses, [Status.SERVING, Status.NOT_SERVING]);
  });

  it("health - Watch sends a change made while its first answer was on its way", async () => {
    const shutdown = new AbortController();
    let down = false;
    const listeners = new Set<() => void>();
    const transport = createRouterTransport((router) =>
      registerHealth(router, {
        shutdownSignal: shutdown.signal,
        services: [],
        notServing: () => down,
        onChange: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      }),
    );
    const client = createClient(Health, transport);
    const ac = new AbortController();
    const statuses: Status[] = [];
    const done = (async () => {
      for await (const res of client.watch({}, { signal: ac.signal })) {
        statuses.push(res.status);
        if (statuses.length === 1) {
          // The change comes before the stream is read on: it must not be missed.
          down = true;
          for (const l of listeners) l();
        } else ac.abort();
      }
    })();
    await expectCode(done, Code.Canceled);
    assert.deepEqual(statuses, [Status.SERVING, Status.NOT_SERVING]);
    assert.equal(listeners.size, 0, "the stream stopped listening");
    shutdown.abort();
  });

  it("health - Watch of an unknown service sends SERVICE_UNKNOWN and ends when the client aborts", async () => {
    const { client } = setup();
    const ac = new AbortController();
    const statuses: Status[] = [];
    const done = (async () => {
      for await (const res of client.watch({ service: "nope" }, { signal: ac.signal })) {
        statuses.push(res.status);
        ac.abort();
      }
    })();
    await expectCode(done, Code.Canceled);
    assert.deepEqual(statuses, [Status.SERVICE_UNKNOWN]);
  });
});
