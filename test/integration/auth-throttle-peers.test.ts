/**
 * The failed-login throttle keeps one bucket per client address on every way into the RPC port:
 * the lean unary path (gRPC and Connect on HTTP/2) and connect-node (Connect on HTTP/1.1, and
 * HTTP/2 with `--lean-rpc off`). Two peers are two loopback addresses (127.0.0.2, 127.0.0.3):
 * one guessing passwords is slowed down, the other is not. Injected clock, real server and clients.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { UserConfig } from "../../src/auth/index.js";
import { createFakeClock } from "../../src/util/index.js";
import { createTestClients, type RpcProtocol } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";

const USERS: UserConfig[] = [
  { name: "app", password: "app-pw", tokens: [], roles: ["publisher"], topics: ["orders"] },
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin"], topics: [] },
];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** How a Publish ended: `ok`, or the message of its UNAUTHENTICATED refusal. */
async function publish(baseUrl: string, protocol: RpcProtocol, from: string, password: string): Promise<string> {
  const c = createTestClients(baseUrl, protocol, { authorization: basic("app", password), localAddress: from });
  try {
    await c.publisher.publish({ topic: "orders", messages: [{ data: new Uint8Array([1]) }] });
    return "ok";
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, Code.Unauthenticated, err.message);
    assert.equal(err.findDetails(ErrorDetailSchema)[0]?.reason, "UNAUTHENTICATED");
    return err.rawMessage;
  } finally {
    c.close();
  }
}

const PATHS: { name: string; protocol: RpcProtocol; leanRpc: "on" | "off" }[] = [
  { name: "the lean path, gRPC on HTTP/2", protocol: "grpc", leanRpc: "on" },
  { name: "the lean path, Connect on HTTP/2", protocol: "connect-h2", leanRpc: "on" },
  { name: "connect-node, Connect on HTTP/1.1", protocol: "connect", leanRpc: "on" },
  { name: "connect-node, gRPC on HTTP/2 (--lean-rpc off)", protocol: "grpc", leanRpc: "off" },
];

describe("auth throttle per peer", () => {
  for (const path of PATHS) {
    it(`auth throttle - ${path.name}: two peers have separate buckets`, async (t) => {
      const clock = createFakeClock();
      const server = await startTestServer({ config: { users: USERS, leanRpc: path.leanRpc }, authClock: clock });
      t.after(() => server.close());
      const admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-admin" });
      await admin.admin.createTopic({ name: "orders", queue: true });
      admin.close();
      const [a, b] = ["127.0.0.2", "127.0.0.3"];
      for (let i = 0; i < 6; i++) {
        assert.equal(await publish(server.baseUrl, path.protocol, a, `guess-${i}`), "invalid user name or password");
      }
      const slowed = "too many failed logins from this address; retry in 1 s";
      assert.equal(await publish(server.baseUrl, path.protocol, a, "app-pw"), slowed, "peer A waits");
      assert.equal(await publish(server.baseUrl, path.protocol, b, "app-pw"), "ok", "peer B is not slowed down");
      assert.equal(await publish(server.baseUrl, path.protocol, b, "nope"), "invalid user name or password");
      assert.equal(await publish(server.baseUrl, path.protocol, a, "app-pw"), slowed, "still A's wait");
      clock.advance(1_000);
      assert.equal(await publish(server.baseUrl, path.protocol, a, "app-pw"), "ok");
    });
  }
});
