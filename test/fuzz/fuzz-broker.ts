/**
 * The broker a bridge fuzzer drives: the real core on the in-memory store, the production
 * in-process clients and server interceptors, and a logger that records every error line (a
 * fuzzer asserts that none was logged). One per fuzzer run.
 */
import { type Broker, type BrokerLimits, createBroker } from "../../src/core/index.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { createMemoryStore } from "../../src/store/index.js";
import { type Logger, silentLogger } from "../../src/util/index.js";
import type { FuzzTarget } from "./fuzz-kit.js";

/** What {@link startFuzzBroker} gives a fuzzer. */
export interface FuzzBroker {
  broker: Broker;
  clients: ReturnType<typeof createInProcessClients>;
  /** Aborted by {@link FuzzBroker.close}; a bridge's `shutdownSignal`. */
  shutdownSignal: AbortSignal;
  /** Silent except for errors, which go to {@link FuzzBroker.errors}. */
  logger: Logger;
  /** The error lines logged since the last call (the call empties the list). */
  errors(): string[];
  /** Deletes every topic (a fuzzer's reset between rounds). */
  deleteAllTopics(): Promise<void>;
  /** Stops the broker and its store (after the fuzzer closed its bridge). */
  close(): Promise<void>;
  /**
   * The fuzz target of `property` on this broker: each reset drops every topic (what the cases
   * stored is the broker's data, not a leak), and close stops `bridge` (if given), then the broker.
   */
  target(property: FuzzTarget["property"], bridge?: { close(graceMs: number): Promise<unknown> }): FuzzTarget;
}

/** Starts a {@link FuzzBroker}; `limits` override the broker's defaults. */
export function startFuzzBroker(limits?: Partial<BrokerLimits>): FuzzBroker {
  const store = createMemoryStore();
  const broker = createBroker({ store, ...(limits ? { limits } : {}) });
  const shutdown = new AbortController();
  const clients = createInProcessClients(
    broker,
    silentLogger,
    createServerInterceptors({ shutdownSignal: shutdown.signal }),
  );
  const failures: string[] = [];
  const describe = (_key: string, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message} ${v.stack}` : v);
  const logger: Logger = {
    ...silentLogger,
    error: (message, fields) => failures.push(fields ? `${message} ${JSON.stringify(fields, describe)}` : message),
  };
  const fuzz: FuzzBroker = {
    broker,
    clients,
    shutdownSignal: shutdown.signal,
    logger,
    errors: () => failures.splice(0),
    async deleteAllTopics() {
      const { topics } = await clients.admin.listTopics({});
      for (const t of topics) await clients.admin.deleteTopic({ name: t.name }).catch(() => {});
    },
    async close() {
      shutdown.abort();
      await broker.close();
      await store.close();
    },
    target(property, bridge) {
      return {
        property,
        reset: () => fuzz.deleteAllTopics(),
        close: async () => {
          await bridge?.close(1_000);
          await fuzz.close();
        },
      };
    },
  };
  return fuzz;
}
