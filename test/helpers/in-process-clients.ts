/**
 * Broker clients for unit tests of a bridge: a core on the memory store with a fake clock
 * (test-broker.ts), served to typed Connect clients in-process, as the server serves its bridges.
 */
import type { TestContext } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { BrokerClients } from "../../src/bridges/bridge.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { silentLogger } from "../../src/util/index.js";
import { startTestBroker, type TestBroker, type TestBrokerOptions } from "./test-broker.js";

/** A test broker and the in-process clients a bridge would get. */
export interface InProcessBroker extends TestBroker {
  clients: BrokerClients;
  /** More in-process clients of the same broker whose calls run through `interceptors` (e.g. a user's). */
  clientsWith(interceptors: Interceptor[]): BrokerClients;
}

/** Options of {@link startInProcessBroker}. */
export interface InProcessBrokerOptions extends TestBrokerOptions {
  /** Server-side interceptors of the main clients (e.g. to hold an answer back). */
  interceptors?: Interceptor[];
}

/** Starts a memory-store broker with a fake clock and in-process clients; torn down after the test. */
export function startInProcessBroker(t: TestContext, options: InProcessBrokerOptions = {}): InProcessBroker {
  const test = startTestBroker(t, options);
  const clientsWith = (interceptors: Interceptor[]) => createInProcessClients(test.broker, silentLogger, interceptors);
  return { ...test, clients: clientsWith(options.interceptors ?? []), clientsWith };
}

/**
 * An interceptor that refuses the RPCs `refused` names (e.g. `Seek`) with PERMISSION_DENIED and
 * its ErrorDetail, as the broker's auth interceptor answers a user without the right.
 */
export function refuseMethods(...refused: string[]): Interceptor {
  return (next) => async (req) => {
    if (refused.includes(req.method.name)) {
      throw new ConnectError("permission denied", Code.PermissionDenied, undefined, [
        { desc: ErrorDetailSchema, value: { reason: "PERMISSION_DENIED" } },
      ]);
    }
    return next(req);
  };
}

/** A gate that holds the answers (or errors) of one RPC back until it is opened (to widen a race window). */
export interface AnswerGate {
  readonly interceptor: Interceptor;
  /** Resolves when a call of the method has its answer and is held at the gate. */
  held(): Promise<void>;
  /** Lets held and later answers through. */
  open(): void;
  /** Calls of the method that got an answer (held or not). */
  calls(): number;
}

/** Creates an {@link AnswerGate} for `method` (e.g. `Pull`); it starts open unless `closed`. */
export function answerGate(method: string, closed = true): AnswerGate {
  let isOpen = !closed;
  let release: () => void = () => {};
  let opened = new Promise<void>((r) => {
    release = r;
  });
  let signalHeld: () => void = () => {};
  let heldOnce = new Promise<void>((r) => {
    signalHeld = r;
  });
  let calls = 0;
  return {
    interceptor: (next) => async (req) => {
      if (req.method.name !== method) return next(req);
      // An error answer is held back too.
      const answer = await next(req).then(
        (res) => ({ res }),
        (error: unknown) => ({ error }),
      );
      calls++;
      if (!isOpen) {
        signalHeld();
        await opened;
      }
      if ("error" in answer) throw answer.error;
      return answer.res;
    },
    held: () => heldOnce,
    open() {
      isOpen = true;
      release();
      opened = Promise.resolve();
      heldOnce = Promise.resolve();
      signalHeld = () => {};
    },
    calls: () => calls,
  };
}
