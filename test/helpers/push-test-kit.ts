/**
 * Test kit of the push unit tests (not used by the product): a scriptable sender and a core on
 * the in-memory store with a fake clock.
 */
import type { TestContext } from "node:test";
import type { Broker, BrokerLimits, PushSettings } from "../../src/core/index.js";
import type { PushRequest } from "../../src/push/request.js";
import type { PushSender } from "../../src/push/sender.js";
import type { FakeClock } from "../../src/util/index.js";
import { startTestBroker } from "./test-broker.js";

/** One request the fake sender received; the test answers it. */
export interface FakeCall {
  request: PushRequest;
  signal: AbortSignal;
  /** Answers with an HTTP status. */
  respond(status: number): void;
  /** Fails like a network error or timeout. */
  fail(message: string): void;
  /** True once answered, failed or aborted. */
  settled(): boolean;
}

/** A {@link PushSender} whose requests stay open until the test answers them. */
export interface FakeSender extends PushSender {
  calls: FakeCall[];
  /** Requests not answered yet. */
  open(): FakeCall[];
  /** Most requests open at the same time so far. */
  maxConcurrent(): number;
}

export function createFakeSender(): FakeSender {
  const calls: FakeCall[] = [];
  let concurrent = 0;
  let max = 0;
  return {
    calls,
    open: () => calls.filter((c) => !c.settled()),
    maxConcurrent: () => max,
    send(request, { signal }) {
      return new Promise((resolve, reject) => {
        let done = false;
        concurrent++;
        max = Math.max(max, concurrent);
        const finish = (fn: () => void) => {
          if (done) return;
          done = true;
          concurrent--;
          fn();
        };
        signal.addEventListener("abort", () => finish(() => reject(signal.reason)), { once: true });
        calls.push({
          request,
          signal,
          respond: (status) => finish(() => resolve({ status })),
          fail: (message) => finish(() => reject(new Error(message))),
          settled: () => done,
        });
      });
    },
  };
}

/** Lets promises, store calls and timers of the current moment run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A push config with defaults for tests. */
export function pushConfig(overrides: Partial<PushSettings> = {}): PushSettings {
  return {
    endpoint: "http://hooks.test/in",
    headers: {},
    timeoutMs: 1_000,
    anyResponseIsSuccess: false,
    hmacSecret: "",
    maxInFlight: 1,
    wrap: false,
    form: false,
    onlyServerErrorsFail: false,
    ...overrides,
  };
}

/** A core on the memory store with a fake clock; closed after the test. */
export function setupCore(t: TestContext, limits: Partial<BrokerLimits> = {}): { broker: Broker; clock: FakeClock } {
  const { broker, clock } = startTestBroker(t, { limits });
  return { broker, clock };
}

/** UTF-8 bytes. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** UTF-8 text of a request body. */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
