/**
 * A broker core for unit tests: the memory store, a fake clock, and teardown registered on the
 * test. It replaces the construction every core test file used to repeat.
 */
import type { TestContext } from "node:test";
import { type Broker, type BrokerLimits, type BrokerMetricsSink, createBroker } from "../../src/core/index.js";
import { createMemoryStore, type Store } from "../../src/store/index.js";
import { createFakeClock, type FakeClock, type Logger } from "../../src/util/index.js";

/** Options of {@link startTestBroker}. */
export interface TestBrokerOptions {
  /** Limits over the defaults. */
  limits?: Partial<BrokerLimits>;
  /** Default: silent. */
  logger?: Logger;
  /** Where the broker reports what it did. Default: nowhere. */
  metrics?: BrokerMetricsSink;
  /** Wraps the memory store before the broker gets it (to count or fail calls). */
  wrapStore?: (store: Store) => Store;
}

/** A running test broker. */
export interface TestBroker {
  broker: Broker;
  /** The store the broker uses (the wrapped one, with `wrapStore`). */
  store: Store;
  clock: FakeClock;
  /** The fake clock's time at the start. */
  t0: number;
}

/**
 * Creates a broker on a fresh memory store with a fake clock; after the test, closes the broker,
 * then the store.
 */
export function startTestBroker(t: TestContext, options: TestBrokerOptions = {}): TestBroker {
  const base = createMemoryStore();
  const store = options.wrapStore ? options.wrapStore(base) : base;
  const clock = createFakeClock();
  const broker = createBroker({
    store,
    clock,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  t.after(async () => {
    await broker.close();
    await base.close();
  });
  return { broker, store, clock, t0: clock.now() };
}
