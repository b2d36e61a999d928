import type { Clock, Logger, TimerHandle } from "../../util/index.js";
import { type BrokerClients, reasonOf } from "../bridge.js";
import type { SubscriberRegistry } from "./subscribers.js";

/** Subjects looked at per cleanup round. */
const MAX_SUBJECTS_PER_ROUND = 1000;

/** What {@link createTopicCleanup} needs. */
export interface TopicCleanupDeps {
  registry: SubscriberRegistry;
  clients: () => BrokerClients;
  logger: Logger;
  clock: Clock;
  /** Time between rounds. */
  intervalMs: number;
  /** Aborted at shutdown: no more rounds. */
  shutdownSignal: AbortSignal;
}

/**
 * Deletes the topics the bridge created for subjects nobody uses any more (docs/gophermq.md
 * "Bounds"), so a client subscribing to ever new subjects does not grow the catalog without end.
 * A round takes the subjects whose subscribers all expired, and deletes each topic that has no
 * subscription and no message left. A subscribe to a subject waits for that subject's cleanup
 * ({@link TopicCleanup.beforeSubscribe}), and a cleanup skips a subject being subscribed to.
 */
export interface TopicCleanup {
  /** Marks a subscribe to `subject` in progress and waits for any cleanup of it; call `done` after. */
  beforeSubscribe(subject: string): Promise<{ done(): void }>;
  /** One round now (tests; the timer runs them otherwise). */
  round(): Promise<void>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

/** Creates the cleanup and starts its timer. */
export function createTopicCleanup(deps: TopicCleanupDeps): TopicCleanup {
  const subscribing = new Map<string, number>();
  const cleaning = new Map<string, Promise<void>>();
  let running: Promise<void> | undefined;
  let timer: TimerHandle | undefined;
  let stopped = false;

  async function cleanOne(subject: string): Promise<void> {
    const clients = deps.clients();
    try {
      const stats = await clients.admin.getStats({ topics: [subject] });
      const messages = Number(stats.topics[0]?.messages ?? 0);
      if (stats.subscriptions.length > 0 || messages > 0) return; // in use through another door: later
      if (subscribing.has(subject)) return;
      await clients.admin.deleteTopic({ name: subject });
      deps.registry.dropCreated(subject);
    } catch (e) {
      const reason = reasonOf(e);
      if (reason === "TOPIC_NOT_FOUND") deps.registry.dropCreated(subject);
      else if (reason !== "SHUTTING_DOWN")
        deps.logger.warn("gophermq: could not delete an unused topic", { subject, error: e });
    }
  }

  async function round(): Promise<void> {
    for (const subject of deps.registry.idleSubjects(MAX_SUBJECTS_PER_ROUND)) {
      if (stopped || deps.shutdownSignal.aborted) return;
      if (subscribing.has(subject)) continue;
      const work = cleanOne(subject);
      cleaning.set(subject, work);
      await work;
      cleaning.delete(subject);
    }
  }

  /** One round at a time: a round asked for while one runs joins it. */
  const runRound = (): Promise<void> => {
    running ??= round()
      .catch((e: unknown) => deps.logger.warn("gophermq: topic cleanup failed", { error: e }))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const arm = () => {
    if (stopped || deps.shutdownSignal.aborted) return;
    timer = deps.clock.setTimer(() => void runRound().then(arm), deps.intervalMs);
  };
  deps.shutdownSignal.addEventListener("abort", () => {
    stopped = true;
    if (timer !== undefined) deps.clock.clearTimer(timer);
  });
  arm();

  return {
    async beforeSubscribe(subject) {
      subscribing.set(subject, (subscribing.get(subject) ?? 0) + 1);
      await cleaning.get(subject);
      return {
        done() {
          const n = (subscribing.get(subject) ?? 1) - 1;
          if (n > 0) subscribing.set(subject, n);
          else subscribing.delete(subject);
        },
      };
    },
    round: runRound,
    async stop() {
      stopped = true;
      if (timer !== undefined) deps.clock.clearTimer(timer);
      await running;
    },
  };
}
