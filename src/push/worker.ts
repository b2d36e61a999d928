import {
  type Broker,
  type BrokerLimits,
  type Delivery,
  MAX_NACK_ERROR_BYTES,
  type PushSettings,
  type PushStats,
  pushLeaseMs,
  type SubscriptionInfo,
} from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { type Clock, hostAllowed, type Logger } from "../util/index.js";
import { pushBackoffMs } from "./backoff.js";
import { buildFormRequest, UndeliverableError } from "./form-request.js";
import { buildPushRequest } from "./request.js";
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

/** A leased delivery, with the time its lease ends. */
interface Held {
  delivery: Delivery;
  leasedUntilMs: number;
}

/** A request on its way. */
interface Flight {
  held: Held;
  controller: AbortController;
  /** Set when stop aborted it: the lease is given back, not counted as a failure. */
  stopped: boolean;
  done: Promise<void>;
}

/** The first `maxBytes` bytes of `text` as UTF-8, cut at a character boundary. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  return bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
}

/**
 * Whether an HTTP answer counts as delivered: 2xx; with `onlyServerErrorsFail` anything below
 * 500; with `anyResponseIsSuccess` any answer at all (the legacy OPQ rule).
 */
export function isSuccess(push: PushSettings, status: number): boolean {
  if (push.anyResponseIsSuccess) return true;
  if (push.onlyServerErrorsFail) return status < 500;
  return status >= 200 && status < 300;
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
  private readonly ready: Held[] = [];
  private readonly flights = new Map<string, Flight>();
  private readonly busyKeys = new Set<string>();
  private nextAttemptMs = 0;
  private readonly state: PushStats = {
    lastStatus: 0,
    consecutiveFailures: 0,
    nextAttemptTimeMs: 0,
    lastAttemptTimeMs: 0,
    lastError: "",
  };
  private stopping = false;
  private pullController: AbortController | undefined;
  private readonly wakeup: Wakeup;
  private readonly loop: Promise<void>;

  constructor(
    private readonly deps: PushWorkerDeps,
    sub: SubscriptionInfo & { push: PushSettings },
    /** Called when the subscription turns out to be gone (deleted behind the agent's back). */
    private readonly onGone: (name: string) => void = () => {},
  ) {
    this.sub = sub;
    this.wakeup = new Wakeup(deps.clock);
    this.loop = this.run();
  }

  get name(): string {
    return this.sub.name;
  }

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
    const now = this.deps.clock.now();
    return { ...this.state, nextAttemptTimeMs: this.nextAttemptMs > now ? this.nextAttemptMs : 0 };
  }

  /**
   * The subscription was moved by a Seek (a replay): the backoff of earlier failures is over, so
   * delivery starts again at once from where the Seek put it (a request in flight finishes first).
   */
  restart(): void {
    this.state.consecutiveFailures = 0;
    this.nextAttemptMs = 0;
    this.pullController?.abort();
    this.wake();
  }

  /** New settings (endpoint, headers, concurrency, pause...): later requests use them. */
  update(sub: SubscriptionInfo & { push: PushSettings }): void {
    this.sub = sub;
    this.pullController?.abort();
    if (sub.paused) void this.giveBack(this.ready.splice(0).map((h) => h.delivery.ackId));
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
    await this.giveBack(this.ready.splice(0).map((h) => h.delivery.ackId));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.dispatch();
      const now = this.deps.clock.now();
      const push = this.sub.push;
      if (this.nextAttemptMs > now) {
        await this.sleep(this.nextAttemptMs - now);
        continue;
      }
      // A form push names its URL per message: each is checked when it is sent.
      if (!push.form && !hostAllowed(new URL(push.endpoint), this.deps.limits.pushAllowedHosts)) {
        // Created under an older config: nothing is leased, so nothing is lost, until it changes.
        this.state.lastError = `endpoint host ${new URL(push.endpoint).host} is not in push-allowed-hosts`;
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
    for (let i = 0; i < this.ready.length; ) {
      if (this.nextAttemptMs > this.deps.clock.now()) return;
      if (this.flights.size >= this.sub.push.maxInFlight) return;
      const held = this.ready[i] as Held;
      const key = this.orderKey(held.delivery);
      if (key !== undefined && this.busyKeys.has(key)) {
        i++;
        continue;
      }
      this.ready.splice(i, 1);
      this.start(held, key);
    }
  }

  /** The ordering key that serializes this delivery; undefined when it need not wait for any. */
  private orderKey(d: Delivery): string | undefined {
    return this.sub.ordered && d.message.orderingKey !== "" ? d.message.orderingKey : undefined;
  }

  private start(held: Held, key: string | undefined): void {
    const controller = new AbortController();
    const ackId = held.delivery.ackId;
    if (key !== undefined) this.busyKeys.add(key);
    const flight: Flight = { held, controller, stopped: false, done: Promise.resolve() };
    flight.done = this.deliver(flight).finally(() => {
      this.flights.delete(ackId);
      if (key !== undefined) this.busyKeys.delete(key);
      this.wake();
      // The loop may sit in a long-poll: what waited for this key or this slot goes now.
      this.dispatch();
    });
    this.flights.set(ackId, flight);
  }

  /** One attempt: extend a lease that waited, POST, then settle. Never throws. */
  private async deliver(flight: Flight): Promise<void> {
    const { clock, sender, logger } = this.deps;
    const { delivery } = flight.held;
    const sub = this.sub;
    const push = sub.push;
    try {
      if (flight.held.leasedUntilMs - clock.now() < push.timeoutMs + 1_000) {
        if (!(await this.extend(delivery))) return;
      }
      let ok = false;
      let status = 0;
      let error = "";
      try {
        const request = push.form
          ? buildFormRequest(push, delivery, this.deps.limits.pushAllowedHosts)
          : buildPushRequest(sub.name, push, delivery);
        status = (await sender.send(request, { timeoutMs: push.timeoutMs, signal: flight.controller.signal })).status;
        ok = isSuccess(push, status);
        if (!ok) error = `HTTP ${status}`;
      } catch (e) {
        if (flight.stopped) {
          await this.giveBack([delivery.ackId]);
          return;
        }
        if (e instanceof UndeliverableError) {
          await this.undeliverable(delivery, truncateUtf8(e.message, MAX_NACK_ERROR_BYTES));
          return;
        }
        error = e instanceof Error ? e.message : String(e);
      }
      this.record(ok, status, error);
      if (ok) await this.deps.broker.ack(sub.name, { ackIds: [delivery.ackId], messageIds: [] });
      else await this.fail(delivery, truncateUtf8(error, MAX_NACK_ERROR_BYTES));
    } catch (e) {
      if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") return;
      if (e instanceof BrokerError && (e.reason === "DELIVERY_UNKNOWN" || e.reason === "LEASE_EXPIRED")) {
        // A Seek moved the subscription past it, or its lease ran out meanwhile: nothing to settle.
        logger.info("push delivery was settled elsewhere meanwhile", { subscription: sub.name, reason: e.reason });
        return;
      }
      logger.warn("push settle failed; the lease will expire and the message goes out again", {
        subscription: sub.name,
        seq: delivery.message.seq,
        error: e,
      });
    }
  }

  private record(ok: boolean, status: number, error: string): void {
    const now = this.deps.clock.now();
    this.state.lastStatus = status;
    this.state.lastAttemptTimeMs = now;
    this.state.lastError = error;
    if (ok) {
      this.state.consecutiveFailures = 0;
      this.nextAttemptMs = 0;
      return;
    }
    this.state.consecutiveFailures++;
    this.nextAttemptMs = now + pushBackoffMs(this.state.consecutiveFailures, this.sub.retry, this.deps.random);
    // A lease under way could hand out messages past the gate: stop it; what it got waits.
    this.pullController?.abort();
  }

  /** Nacks a failed delivery (the core applies the retry policy); later messages of its key go back too. */
  private async fail(delivery: Delivery, error: string): Promise<void> {
    const behind = this.takeBehind(delivery);
    // Without a delay: the core applies the retry policy and, on the last attempt, dead-letters it with the error.
    await this.deps.broker.nack(this.name, { ackIds: [delivery.ackId], messageIds: [] }, 0, error);
    await this.giveBack(behind);
  }

  /** Takes the ready messages of the delivery's ordering key out of the ready list (they must wait for it). */
  private takeBehind(delivery: Delivery): string[] {
    const key = this.orderKey(delivery);
    const behind: string[] = [];
    if (key === undefined) return behind;
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const h = this.ready[i] as Held;
      if (this.orderKey(h.delivery) === key) {
        behind.unshift(h.delivery.ackId);
        this.ready.splice(i, 1);
      }
    }
    return behind;
  }

  /**
   * A message that can never be sent as it is (a form push without a usable target): retrying it
   * would block its subscription forever, so it leaves at once, for the dead-letter topic or
   * dropped (counted as dead-lettered either way), and the next message goes out without a
   * backoff. Only when the dead-letter topic cannot take it does it stay, as a failed attempt.
   */
  private async undeliverable(delivery: Delivery, error: string): Promise<void> {
    const sub = this.sub;
    const left = await this.deps.broker.reject(sub.name, [delivery.ackId], error);
    if (left === 0) {
      this.record(false, 0, error);
      await this.giveBack(this.takeBehind(delivery));
      return;
    }
    this.state.lastStatus = 0;
    this.state.lastAttemptTimeMs = this.deps.clock.now();
    this.state.lastError = error;
    this.deps.logger.warn("push message cannot be delivered; it left its subscription", {
      subscription: sub.name,
      seq: delivery.message.seq,
      id: delivery.message.id,
      error,
      ...(sub.deadLetterTopic === "" ? { dropped: true } : { dead_letter_topic: sub.deadLetterTopic }),
    });
  }

  /** Renews the lease of a delivery that waited; false when it is no longer ours. */
  private async extend(delivery: Delivery): Promise<boolean> {
    try {
      await this.deps.broker.modifyAckDeadline(
        this.name,
        [delivery.ackId],
        pushLeaseMs(this.sub.push, this.deps.limits),
      );
      return true;
    } catch (e) {
      if (e instanceof BrokerError && (e.reason === "LEASE_EXPIRED" || e.reason === "DELIVERY_UNKNOWN")) return false;
      throw e;
    }
  }

  private async giveBack(ackIds: string[]): Promise<void> {
    if (ackIds.length === 0) return;
    try {
      await this.deps.broker.release(this.name, ackIds);
    } catch (e) {
      if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") return;
      this.deps.logger.warn("could not give back push leases; they expire on their own", {
        subscription: this.name,
        error: e,
      });
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.stopping ? Promise.resolve() : this.wakeup.sleep(ms);
  }

  private wake(): void {
    this.wakeup.wake();
  }
}
