/**
 * The lean RPC path on its own (connect-node behind it answers 500 to anything that reaches it):
 * with the server's call context values it hands the failed-login throttle each client's
 * address, so two peers (127.0.0.2, 127.0.0.3) have separate buckets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTestClients } from "../../test/helpers/clients.js";
import { listenLeanOnly } from "../../test/helpers/lean-only-listener.js";
import { createAuthenticator } from "../auth/index.js";
import { createBroker } from "../core/index.js";
import { createLeanRpc } from "../rpc/index.js";
import { createMemoryStore } from "../store/index.js";
import { createFakeClock, silentLogger } from "../util/index.js";
import { callContextValues } from "./call-context.js";
import { createServerInterceptors } from "./interceptors.js";

describe("call context", () => {
  it("call context - the lean path alone gives the login throttle one bucket per client address", async (t) => {
    const clock = createFakeClock();
    const broker = createBroker({ store: createMemoryStore() });
    await broker.createTopic({ name: "orders", queue: true });
    const shutdown = new AbortController();
    const auth = createAuthenticator({
      users: [{ name: "app", password: "app-pw", tokens: [], roles: ["publisher"], topics: ["orders"] }],
      clock,
    });
    const interceptors = createServerInterceptors({ shutdownSignal: shutdown.signal, auth });
    const lean = createLeanRpc({
      broker,
      logger: silentLogger,
      interceptors,
      shutdownSignal: shutdown.signal,
      readMaxBytes: 1024 * 1024,
      contextValues: (peer) => callContextValues(peer),
    });
    const listener = await listenLeanOnly(lean);
    t.after(async () => {
      shutdown.abort();
      await listener.destroy();
      await broker.close();
    });
    const { baseUrl } = listener;
    const publish = async (from: string, password: string) => {
      const authorization = `Basic ${Buffer.from(`app:${password}`).toString("base64")}`;
      const c = createTestClients(baseUrl, "grpc", { authorization, localAddress: from });
      try {
        await c.publisher.publish({ topic: "orders", messages: [{ data: new Uint8Array([1]) }] });
        return "ok";
      } catch (e) {
        const err = ConnectError.from(e);
        assert.equal(err.code, Code.Unauthenticated, err.message);
        return err.rawMessage;
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < 6; i++) assert.equal(await publish("127.0.0.2", "guess"), "invalid user name or password");
    assert.match(await publish("127.0.0.2", "app-pw"), /^too many failed logins from this address/);
    assert.equal(await publish("127.0.0.3", "app-pw"), "ok");
    assert.equal(listener.fellThrough(), 0, "every call was served by the lean path");
  });
});
