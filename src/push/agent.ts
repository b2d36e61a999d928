import {
  type Broker,
  type BrokerLimits,
  DEFAULT_LIMITS,
  type PushSettings,
  type PushStats,
  type SubscriptionChange,
  type SubscriptionInfo,
} from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { type Clock, type Logger, silentLogger, systemClock, urlForLog } from "../util/index.js";
import { createHttpSender, type PushSender } from "./sender.js";
import { PushWorker } from "./worker.js";

/** Options of {@link createPushAgent}. */
export interface PushAgentOptions {
  broker: Broker;
  /** The limits the broker runs with (allow-list, lease caps). Default {@link DEFAULT_LIMITS}. */
  limits?: Partial<BrokerLimits>;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: Node's HTTP client ({@link createHttpSender}). */
  sender?: PushSender;
  /** Default: silent. */
  logger?: Logger;
  /** In [0, 1), for backoff jitter. Default Math.random. */
  random?: () => number;
}

/** The server's webhook deliverer: one worker per push subscription. */
export interface PushAgent {
  /** Starts a worker for every push subscription there is, and follows changes from then on. */
  start(): Promise<void>;
  /**
   * Stops every worker: requests in flight may finish for up to `graceMs`, then are aborted;
   * leases not settled are given back at once. Call before closing the broker.
   */
  close(graceMs: number): Promise<void>;
  /** Names of the subscriptions with a running worker (for tests and logs). */
  subscriptions(): string[];
}

type PushSubscription = SubscriptionInfo & { push: PushSettings };

function isPush(sub: SubscriptionInfo | undefined): sub is PushSubscription {
  return sub !== undefined && sub.push !== null;
}

/**
 * Creates the push agent on a broker. It learns push subscriptions from a listing at start and
 * from the core's subscription-change events, registers its stats with GetStats, and drives
 * delivery only through the broker's own operations, so delivery state lives in the store and
 * a restart resumes where it stopped.
 */
export function createPushAgent(options: PushAgentOptions): PushAgent {
  const { broker } = options;
  const logger = options.logger ?? silentLogger;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const deps = {
    broker,
    clock: options.clock ?? systemClock,
    sender: options.sender ?? createHttpSender(),
    logger,
    limits,
    random: options.random ?? Math.random,
  };
  const workers = new Map<string, PushWorker>();
  /** Per subscription name, the reconcile under way (changes of one name apply in order). */
  const pending = new Map<string, Promise<void>>();
  let unsubscribe: (() => void) | undefined;
  let closed = false;

  function stopWorker(name: string): Promise<void> {
    const w = workers.get(name);
    if (!w) return Promise.resolve();
    workers.delete(name);
    return w.stop(0);
  }

  /** Brings the worker of `name` in line with the subscription as it is now. */
  async function reconcile(name: string): Promise<void> {
    if (closed) return;
    let sub: SubscriptionInfo | undefined;
    try {
      sub = await broker.getSubscription(name);
    } catch (e) {
      if (!(e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND")) throw e;
    }
    if (closed) return;
    const current = workers.get(name);
    if (!isPush(sub)) return stopWorker(name);
    if (current && !current.stopped && current.topic === sub.topic) return current.update(sub);
    await stopWorker(name);
    workers.set(name, new PushWorker(deps, sub, (gone) => void enqueue(gone)));
    // Origin and path only: a query may carry a token under any name.
    const endpoint = sub.push.form ? "(form.url of each message)" : urlForLog(sub.push.endpoint);
    logger.info("push delivery started", { subscription: name, endpoint });
  }

  function enqueue(name: string): Promise<void> {
    const previous = pending.get(name) ?? Promise.resolve();
    const next = previous
      .then(() => reconcile(name))
      .catch((e: unknown) => logger.error("push agent could not follow a subscription change", { name, error: e }));
    pending.set(name, next);
    void next.then(() => {
      if (pending.get(name) === next) pending.delete(name);
    });
    return next;
  }

  function onChange(change: SubscriptionChange): void {
    if (closed) return;
    if (change.kind === "subscription") {
      void enqueue(change.name);
      return;
    }
    if (change.kind === "seek") {
      workers.get(change.name)?.restart();
      return;
    }
    for (const w of workers.values()) if (w.topic === change.topic) void enqueue(w.name);
  }

  function stats(name: string): PushStats | undefined {
    return workers.get(name)?.stats();
  }

  return {
    async start() {
      unsubscribe = broker.onSubscriptionChange(onChange);
      broker.setPushStatsSource(stats);
      for (let token = ""; ; ) {
        const page = await broker.listSubscriptions("", 1000, token);
        for (const sub of page.items) if (isPush(sub)) void enqueue(sub.name);
        token = page.nextPageToken;
        if (token === "") break;
      }
      await Promise.all(pending.values());
    },
    async close(graceMs) {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      await Promise.all(pending.values());
      const all = [...workers.values()];
      workers.clear();
      await Promise.all(all.map((w) => w.stop(graceMs)));
      deps.sender.close?.();
      broker.setPushStatsSource(undefined);
    },
    subscriptions: () => [...workers.keys()],
  };
}
