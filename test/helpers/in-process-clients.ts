/**
 * Broker clients for unit tests of a bridge: a core on the memory store with a fake clock
 * (test-broker.ts), served to typed Connect clients in-process, as the server serves its bridges.
 */
import type { TestContext } from "node:test";
import type { BrokerClients } from "../../src/bridges/bridge.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { silentLogger } from "../../src/util/index.js";
import { startTestBroker, type TestBroker, type TestBrokerOptions } from "./test-broker.js";

/** A test broker and the in-process clients a bridge would get. */
export interface InProcessBroker extends TestBroker {
  clients: BrokerClients;
}

/** Starts a memory-store broker with a fake clock and in-process clients; torn down after the test. */
export function startInProcessBroker(t: TestContext, options: TestBrokerOptions = {}): InProcessBroker {
  const test = startTestBroker(t, options);
  return { ...test, clients: createInProcessClients(test.broker, silentLogger, []) };
}
