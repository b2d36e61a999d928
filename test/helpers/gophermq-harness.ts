/**
 * The GopherMQ bridge on a real HTTP socket (port 0) over a broker core with the memory store,
 * wired as the server wires it (in-process clients through the server interceptors), so a test
 * can set bridge options the server's config does not expose (short timeouts, small caps).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import type { BrokerClients } from "../../src/bridges/bridge.js";
import { createGophermqBridge, type GophermqBridge, type GophermqOptions } from "../../src/bridges/gophermq/index.js";
import { createBroker } from "../../src/core/index.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { createMemoryStore } from "../../src/store/index.js";
import { type Clock, type Logger, silentLogger } from "../../src/util/index.js";
import { recordMetrics } from "./okq-harness.js";

/** A running bridge. */
export interface GophermqHarness {
  /** `http://127.0.0.1:port` of the bridge. */
  base: string;
  clients: BrokerClients;
  bridge: GophermqBridge;
}

/** More of the harness: a logger, one clock for the broker and the bridge, a wrapper of the bridge's clients. */
export interface GophermqHarnessExtras {
  logger?: Logger;
  clock?: Clock;
  /** Wraps the clients the bridge gets (to hold a call back); the harness keeps the plain ones. */
  wrapClients?: (clients: BrokerClients) => BrokerClients;
}

/**
 * Starts the bridge with `options`; everything is closed after the test (connections destroyed,
 * then the bridge, the broker and the store).
 */
export async function startGophermqHarness(
  t: TestContext,
  options: GophermqOptions = {},
  extra: GophermqHarnessExtras = {},
): Promise<GophermqHarness> {
  const store = createMemoryStore();
  const broker = createBroker({ store, ...(extra.clock ? { clock: extra.clock } : {}) });
  const shutdown = new AbortController();
  const clients = createInProcessClients(
    broker,
    silentLogger,
    createServerInterceptors({ shutdownSignal: shutdown.signal }),
  );
  const bridge = createGophermqBridge(
    {
      clients: extra.wrapClients ? extra.wrapClients(clients) : clients,
      logger: extra.logger ?? silentLogger,
      metrics: recordMetrics(),
      shutdownSignal: shutdown.signal,
      ...(extra.clock ? { clock: extra.clock } : {}),
    },
    options,
  );
  const server = http.createServer((req, res) => bridge.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    shutdown.abort();
    await bridge.close(1000);
    await broker.close();
    await store.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, clients, bridge };
}
