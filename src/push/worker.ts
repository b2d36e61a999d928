/**
 * The delivery loop of one push subscription (README "Push subscriptions (webhooks)"): lease,
 * send, settle. The backoff gate is delivery-gate.ts, the ready list and ordering keys are
 * ready-queue.ts, one request from start to settle is flight.ts, and the judgement of its answer
 * is push-attempt.ts.
 *
 * @module
 */
import {
  type Broker,
  type BrokerLimits,
  type Delivery,
  type PushSettings,
  type PushStats,
  pushLeaseMs,
  type SubscriptionInfo,
} from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { type Clock, hostAllowed, type Logger } from "../util/index.js";
import { DeliveryGate } from "./delivery-gate.js";
import { deliverFlight, type Flight, type FlightContext } from "./flight.js";
import { giveBackLeases } from "./lease-calls.js";
import { ReadyQueue, type Taken } from "./ready-queue.js";
import type { PushSender } from "./sender.js";
import { settledWithin, Wakeup } from "./wakeup.js";

/** What a worker needs from its surroundings (injected; tests pass a fake clock and sender). */
export interface PushWorkerDeps {
  broker: Broker;
  clock: Clock;
  sender: PushSender;
  logger: Logger;
  limits: Pick<BrokerLimits, "maxAckDeadlineMs" | "maxWaitMs" | "pushAllowedHosts">;
  /** In [0, 1): backoff jitter. */
  random: () => number;
}

/** Pause after a failed lease call (store trouble), so a broken store is not hammered. */
const LEASE_ERROR_PAUSE_MS = 1_000;

/**
 * Delivers one push subscription: leases at most `max_in_flight` messages at a time through the
 * core (lease length: request timeout plus a margin), POSTs each, acks on success and nacks on
 * failure. A failure sets the subscription's next attempt time (exponential backoff with jitter)
 * and nothing new goes out before it, so a dead endpoint is never hot-looped and delays only its
 * own subscription. Ordered subscriptions keep one request in flight per ordering key. Waits are
 * the core's long-poll (woken by publishes), local wake-ups and clock timers; never polling.
 */
export class PushWorker {
  private sub: SubscriptionInfo & { push: PushSettings };
  /** Leased, not yet sent (only when the gate closed during a lease, or a key was busy). */
  private readonly ready = new ReadyQueue((d) => this.orderKey(d));
  private readonly flights = new Map<string, Flight>();
  private readonly gate: DeliveryGate;
  private stopping = false;
  private pullController: AbortController | undefined;
  private readonly wakeup: Wakeup;
  /** What its flights need of it (one object for all of them). */
  private readonly flightContext: FlightContext;
  private readonly loop: Promise<void>;

  constructor(
    private readonly deps: PushWorkerDeps,
    sub: SubscriptionInfo & { push: PushSettings },
    /** Called when the subscription turns out to be gone (deleted behind the agent's back). */
    private readonly onGone: (name: string) => void = () => {},
  ) {
    this.sub = sub;
    this.gate = new DeliveryGate(deps.clock, deps.random);
    this.wakeup = new Wakeup(deps.clock);
    this.flightContext = {
      deps,
      subscription: () => this.sub,
      ready: this.ready,
      gate: this.gate,
      record: (ok, status, error) => this.record(ok, status, error),
      giveBack: (ackIds) => this.giveBack(ackIds),
    };
    this.loop = this.run();
  }

  /** The subscription's name. */
  get name(): string {
    return this.sub.name;
  }

  /** The subscription's topic. */
  get topic(): string {
    return this.sub.topic;
  }

  /** True once stopped (by {@link stop}, or on its own when the subscription vanished or the broker closed). */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Requests in flight right now. */
  inFlight(): number {
    return this.flights.size;
  }

  /** A copy of the delivery state, for GetStats. */
  stats(): PushStats {
    return this.gate.stats();
  }

  /**
   * The subscription was moved by a Seek (a replay): the backoff of earlier failures is over, so
   * delivery starts again at once from where the Seek put it (a request in flight finishes first).
   */
  restart(): void {
    this.gate.reset();
    this.pullController?.abort();
    this.wake();
  }

  /** New settings (endpoint, headers, concurrency, pause...): later requests use them. */
  update(sub: SubscriptionInfo & { push: PushSettings }): void {
    this.sub = sub;
    this.pullController?.abort();
    if (sub.paused) void this.giveBack(this.ready.takeAll());
    this.wake();
  }

  /**
   * Stops: no new leases; requests in flight may finish for up to `graceMs`, then are aborted;
   * every lease not settled (aborted requests, messages not sent yet) is given back at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.pullController?.abort();
    this.wake();
    await this.loop;
    if (this.flights.size > 0 && graceMs > 0) {
      await settledWithin(this.deps.clock, Promise.all([...this.flights.values()].map((f) => f.done)), graceMs);
    }
    for (const f of this.flights.values()) {
      f.stopped = true;
      f.controller.abort(new BrokerError("SHUTTING_DOWN", "push delivery stopped"));
    }
    await Promise.all([...this.flights.values()].map((f) => f.done));
    await this.giveBack(this.ready.takeAll());
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.dispatch();
      const closedForMs = this.gate.closedForMs();
      const push = this.sub.push;
      if (closedForMs > 0) {
        await this.sleep(closedForMs);
        continue;
      }
      // A form push names its URL per message: each is checked when it is sent.
      if (!push.form && !hostAllowed(new URL(push.endpoint), this.deps.limits.pushAllowedHosts)) {
        // Created under an older config: nothing is leased, so nothing is lost, until it changes.
        this.gate.noteError(`endpoint host ${new URL(push.endpoint).host} is not in push-allowed-hosts`);
        this.deps.logger.warn("push endpoint not allowed; delivery stopped", { subscription: this.name });
        await this.sleep(Number.POSITIVE_INFINITY);
        continue;
      }
      const room = push.maxInFlight - this.flights.size - this.ready.length;
      if (room <= 0) {
        await this.sleep(Number.POSITIVE_INFINITY);
        continue;
      }
      await this.lease(room);
    }
  }

  /** One long-poll lease of up to `room` messages into the ready list. */
  private async lease(room: number): Promise<void> {
    const controller = new AbortController();
    this.pullController = controller;
    const leaseMs = pushLeaseMs(this.sub.push, this.deps.limits);
    try {
      const got = await this.deps.broker.pull(
        {
          subscription: this.name,
          maxMessages: room,
          waitMs: this.deps.limits.maxWaitMs,
          ackDeadlineMs: leaseMs,
          autoAck: false,
          pushAgent: true,
        },
        controller.signal,
      );
      if (this.sub.paused || this.stopping) {
        // Leased while a pause or stop came in (its abort came too late): give it back now
        // rather than hold it, leased, until a resume.
        await this.giveBack(got.map((d) => d.ackId));
        return;
      }
      const leasedAt = this.deps.clock.now();
      for (const delivery of got) this.ready.push({ delivery, leasedUntilMs: leasedAt + leaseMs });
    } catch (e) {
      if (controller.signal.aborted || this.stopping) return;
      if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") {
        this.stopping = true;
        this.onGone(this.name);
        return;
      }
      if (e instanceof BrokerError && e.reason === "SHUTTING_DOWN") {
        this.stopping = true;
        return;
      }
      this.deps.logger.warn("push lease failed; retrying", { subscription: this.name, error: e });
      await this.sleep(LEASE_ERROR_PAUSE_MS);
    } finally {
      if (this.pullController === controller) this.pullController = undefined;
    }
  }

  /** Sends what is ready while the gate is open, there is room and (ordered) its key is free. */
  private dispatch(): void {
    if (this.stopping || this.sub.paused) return;
    while (this.ready.length > 0) {
      if (this.gate.closedForMs() > 0) return;
      if (this.flights.size >= this.sub.push.maxInFlight) return;
      const next = this.ready.takeNext();
      if (next === undefined) return;
      this.start(next);
    }
  }

  /** The ordering key that serializes this delivery; undefined when it need not wait for any. */
  private orderKey(d: Delivery): string | undefined {
    return this.sub.ordered && d.message.orderingKey !== "" ? d.message.orderingKey : undefined;
  }

  /** Sends a message taken from the ready list; its ordering key stays busy until the request is over. */
  private start({ held, key }: Taken): void {
    const controller = new AbortController();
    const ackId = held.delivery.ackId;
    const flight: Flight = { held, controller, stopped: false, done: Promise.resolve() };
    flight.done = deliverFlight(this.flightContext, flight).finally(() => {
      this.flights.delete(ackId);
      this.ready.keyDone(key);
      this.wake();
      // The loop may sit in a long-poll: what waited for this key or this slot goes now.
      this.dispatch();
    });
    this.flights.set(ackId, flight);
  }

  /** Records an attempt in the gate; a failure also stops a lease under way. */
  private record(ok: boolean, status: number, error: string): void {
    this.gate.record(ok, status, error, this.sub.retry);
    if (ok) return;
    // A lease under way could hand out messages past the gate: stop it; what it got waits.
    this.pullController?.abort();
  }

  private giveBack(ackIds: string[]): Promise<void> {
    return giveBackLeases(this.deps.broker, this.deps.logger, this.name, ackIds);
  }

  private sleep(ms: number): Promise<void> {
    return this.stopping ? Promise.resolve() : this.wakeup.sleep(ms);
  }

  private wake(): void {
    this.wakeup.wake();
  }
}
