import { setMaxListeners } from "node:events";
import { BrokerError } from "../errors/index.js";
import type { NewMessage } from "../model/index.js";
import { createLocalNotifier } from "../notify/index.js";
import type { Store } from "../store/index.js";
import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import * as admin from "./admin-ops.js";
import type { Broker } from "./broker.js";
import { type CoreContext, emitSubscriptionChange } from "./context.js";
import { forgetDeadLetterTally } from "./dead-letter-count.js";
import { redrive } from "./dead-letter-ops.js";
import * as delivery from "./delivery-ops.js";
import { createIdleTracker, startIdleSweeper, untrackSubscription } from "./ephemeral.js";
import { createExpirySweeps } from "./expiry-sweep.js";
import { type BrokerLimits, resolveLimits } from "./limits.js";
import { type BrokerMetricsSink, noBrokerMetrics } from "./metrics-sink.js";
import { createPublishBatcher } from "./publish-batcher.js";
import * as replay from "./replay-ops.js";
import { createRetentionSweeper } from "./retention-sweeper.js";
import * as settle from "./settle-ops.js";
import { subscribe } from "./subscribe.js";
import { validateName } from "./validate.js";

/** Options of {@link createBroker}. */
export interface BrokerOptions {
  store: Store;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: {@link DEFAULT_LIMITS}. */
  limits?: Partial<BrokerLimits>;
  /** Default: silent. */
  logger?: Logger;
  /** Where publishes, deliveries, acks and nacks are counted. Default: nowhere. */
  metrics?: BrokerMetricsSink;
}

/** Creates the broker core on a store. The caller owns the store and closes it after the broker. */
export function createBroker(options: BrokerOptions): Broker {
  const clock = options.clock ?? systemClock;
  const shutdown = new AbortController();
  const ctx: CoreContext = {
    store: options.store,
    clock,
    limits: resolveLimits(options.limits),
    logger: options.logger ?? silentLogger,
    metrics: options.metrics ?? noBrokerMetrics,
    notifier: createLocalNotifier(),
    consumers: new Map(),
    streams: new Map(),
    idle: createIdleTracker(clock.now()),
    expirySweeps: createExpirySweeps({ clock, shutdown }),
    deadLetterTally: new Map(),
    deadLetterWarnedMs: new Map(),
    shutdown,
    subscriptionListeners: new Set(),
  };
  ctx.subscriptionListeners.add((change) => forgetDeadLetterTally(ctx.deadLetterTally, change));
  // Every waiting pull links its signal to this one; the count is bounded by the pulls in flight.
  setMaxListeners(0, ctx.shutdown.signal);
  const shuttingDown = () => new BrokerError("SHUTTING_DOWN", "the broker is shutting down");
  const open = () => {
    if (ctx.shutdown.signal.aborted) throw shuttingDown();
  };
  // A plain function, not an async one: the operation's own promise is returned (no second
  // promise and async frame per call), and a refusal is a rejected promise, as before.
  const guard =
    <A extends unknown[], R>(fn: (ctx: CoreContext, ...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (ctx.shutdown.signal.aborted) return Promise.reject(shuttingDown());
      try {
        return fn(ctx, ...args);
      } catch (e) {
        return Promise.reject(e);
      }
    };
  // Created before the operations that arm it (deletes leave background steps to the sweep).
  let sweeper: ReturnType<typeof createRetentionSweeper> | undefined;
  const deleteSubscription = async (c: CoreContext, name: string) => {
    const sub = await admin.getSubscription(c, name);
    await c.store.deleteSubscription(name);
    sweeper?.ensure();
    untrackSubscription(c, name);
    c.notifier.notify(sub.topic);
    emitSubscriptionChange(c, { kind: "subscription", name });
  };
  startIdleSweeper(ctx, ctx.limits.idleSweepIntervalMs, (name) => deleteSubscription(ctx, name));
  const setPaused = async (name: string, paused: boolean) => admin.updateSubscription(ctx, name, { paused });
  const sweep = createRetentionSweeper(ctx);
  sweeper = sweep;
  // The publishes of one turn to one topic share an append (publish-batcher.ts, which validates
  // each call); each is made with the time of its call.
  const batcher = createPublishBatcher(ctx, (topic, messages, nowMs) =>
    admin.appendValidated(ctx, topic, messages, nowMs),
  );
  return {
    // The hottest operation: the batcher's promise itself when the sweep need not hear of it.
    publish(topic, messages) {
      if (ctx.shutdown.signal.aborted) return Promise.reject(shuttingDown());
      const published = batcher.publish(topic, messages);
      // A stored message with a TTL is dropped by the sweep when it expires, leased or not; a
      // client id's dedup window ends in the sweep too.
      if (!needsSweep(messages)) return published;
      return published.then((out) => {
        sweep.ensure();
        return out;
      });
    },
    pull: guard(delivery.pull),
    async *subscribe(request, signal) {
      open();
      yield* subscribe(ctx, request, signal);
    },
    ack: guard(settle.ack),
    nack: guard(settle.nack),
    modifyAckDeadline: guard(settle.modifyAckDeadline),
    peek: guard(delivery.peek),
    createTopic: guard(async (c, spec) => {
      const created = await admin.createTopic(c, spec);
      sweep.noteTopic(created.topic);
      return created;
    }),
    getTopic: guard(admin.getTopic),
    listTopics: guard(admin.listTopics),
    updateTopic: guard(async (c, name, patch) => {
      const updated = await admin.updateTopic(c, name, patch);
      sweep.noteTopic(updated);
      return updated;
    }),
    deleteTopic: guard(async (c, name: string) => {
      validateName("topic", name);
      await c.store.deleteTopic(name);
      sweep.ensure();
      c.notifier.notify(name);
      emitSubscriptionChange(c, { kind: "topic-deleted", topic: name });
    }),
    purgeTopic: guard(async (c, name: string) => {
      validateName("topic", name);
      const purged = await c.store.purgeTopic(name);
      sweep.ensure();
      return purged;
    }),
    createSubscription: guard(async (c, spec) => {
      const created = await admin.createSubscription(c, spec);
      sweep.ensure(); // one from an earlier position counts its backlog in steps
      return created;
    }),
    getSubscription: guard(admin.getSubscription),
    listSubscriptions: guard(admin.listSubscriptions),
    updateSubscription: guard(admin.updateSubscription),
    deleteSubscription: guard(deleteSubscription),
    setPaused: guard((_c, name: string, paused: boolean) => setPaused(name, paused)),
    getStats: guard(admin.getStats),
    redrive: guard(redrive),
    seek: guard(replay.seek),
    async *read(request, signal) {
      open();
      yield* replay.read(ctx, request, signal);
    },
    createSnapshot: guard(replay.createSnapshot),
    listSnapshots: guard(replay.listSnapshots),
    deleteSnapshot: guard(async (c, name: string) => {
      await replay.deleteSnapshot(c, name);
      sweep.ensure();
    }),
    release: guard(settle.release),
    reject: guard(settle.reject),
    onSubscriptionChange(listener) {
      ctx.subscriptionListeners.add(listener);
      return () => ctx.subscriptionListeners.delete(listener);
    },
    setPushStatsSource(source) {
      ctx.pushStats = source;
    },
    async close() {
      // Publishes made before the close reach the store before it closes, as they did unbatched.
      batcher.flush();
      sweep.stop();
      if (!ctx.shutdown.signal.aborted) {
        ctx.shutdown.abort(shuttingDown());
      }
    },
  };
}

/** Whether a publish of `messages` gives the sweep work: a message with a TTL or a client id. */
function needsSweep(messages: readonly NewMessage[]): boolean {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as NewMessage;
    if ((m.ttlMs ?? 0) > 0 || (m.id ?? "") !== "") return true;
  }
  return false;
}
