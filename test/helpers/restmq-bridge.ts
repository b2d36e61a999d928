/**
 * The RestMQ bridge alone on a real HTTP listener (port 0), over a memory-store broker with a fake
 * clock and in-process clients: for unit tests that need what the server does not configure yet
 * (the auth seam with a fake authenticator, small bounds). Integration tests use the real server.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import { noMetrics } from "../../src/bridges/bridge.js";
import {
  createRestmqBridge,
  type RestmqAuth,
  type RestmqBridge,
  type RestmqOptions,
} from "../../src/bridges/restmq/index.js";
import { BrokerError } from "../../src/errors/index.js";
import { silentLogger } from "../../src/util/index.js";
import { type InProcessBroker, startInProcessBroker } from "./in-process-clients.js";

/** A running bridge. */
export interface RestmqBridgeHarness extends InProcessBroker {
  bridge: RestmqBridge;
  /** `host:port` of its listener. */
  address: string;
}

/** Options of {@link startRestmqBridge}. */
export interface RestmqBridgeHarnessOptions {
  options?: RestmqOptions;
  /**
   * Users by name, each with the server-side interceptors its calls run through (e.g.
   * `refuseMethods("Seek")`); given, the bridge has auth on with HTTP Basic `name:secret`.
   */
  users?: Record<string, Interceptor[]>;
  /** Server-side interceptors of the bridge's own clients (e.g. an answer gate). */
  interceptors?: Interceptor[];
}

function fakeAuth(broker: InProcessBroker, users: Record<string, Interceptor[]>): RestmqAuth<string> {
  const check = async (user: string, password: string) => {
    if (!Object.hasOwn(users, user) || password !== "secret") throw new BrokerError("UNAUTHENTICATED", "who?");
    return user;
  };
  return {
    authenticator: {
      enabled: true,
      async fromHttpBasic(header) {
        const m = /^Basic (.+)$/.exec(header ?? "");
        const [user = "", password = ""] = Buffer.from(m?.[1] ?? "", "base64")
          .toString()
          .split(":");
        return check(user, password);
      },
      login: (user, password) => check(user, password),
    },
    clientsAs: (user) => broker.clientsWith(users[user] ?? []),
  };
}

/** Starts the bridge on 127.0.0.1:0; everything is closed after the test. */
export async function startRestmqBridge(
  t: TestContext,
  o: RestmqBridgeHarnessOptions = {},
): Promise<RestmqBridgeHarness> {
  const broker = startInProcessBroker(t, { interceptors: o.interceptors ?? [] });
  const shutdown = new AbortController();
  const bridge = createRestmqBridge(
    {
      clients: broker.clients,
      logger: silentLogger,
      metrics: noMetrics,
      shutdownSignal: shutdown.signal,
      ...(o.users ? { auth: fakeAuth(broker, o.users) as RestmqAuth } : {}),
    },
    o.options,
  );
  const server = http.createServer((req, res) => bridge.handle(req, res));
  server.on("upgrade", (req, socket, head) => bridge.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    shutdown.abort();
    await bridge.close(2_000);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { ...broker, bridge, address: `127.0.0.1:${port}` };
}

/** The `Authorization` header of a harness user. */
export function basic(user: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:secret`).toString("base64")}` };
}
