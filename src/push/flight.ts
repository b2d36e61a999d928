/**
 * One push request, from a message taken off the ready list to its settle (README "Push
 * subscriptions (webhooks)"): renew a lease that waited, send it (push-attempt.ts), then ack,
 * nack or reject it. Which message goes out when is the worker's business (worker.ts).
 *
 * @module
 */
import {
  type Delivery,
  MAX_NACK_ERROR_BYTES,
  type PushSettings,
  pushLeaseMs,
  type SubscriptionInfo,
} from "../core/index.js";
import type { DeliveryGate } from "./delivery-gate.js";
import { renewLease, reportSettleFailure } from "./lease-calls.js";
import { attemptPush, truncateUtf8 } from "./push-attempt.js";
import type { Held, ReadyQueue } from "./ready-queue.js";
import type { PushWorkerDeps } from "./worker.js";

/** A request on its way. */
export interface Flight {
  held: Held;
  controller: AbortController;
  /** Set when stop aborted it: the lease is given back, not counted as a failure. */
  stopped: boolean;
  done: Promise<void>;
}

/** What a flight needs of the worker that started it (made once per worker, shared by its flights). */
export interface FlightContext {
  /** The worker's surroundings. */
  readonly deps: PushWorkerDeps;
  /** The subscription as it is now (an update may change its settings while a request is out). */
  subscription(): SubscriptionInfo & { push: PushSettings };
  /** The worker's ready list: a failure sends the later messages of its ordering key back. */
  readonly ready: ReadyQueue;
  /** The worker's backoff gate. */
  readonly gate: DeliveryGate;
  /** Records an attempt in the gate; a failure also stops a lease under way. */
  record(ok: boolean, status: number, error: string): void;
  /** Gives leases back at once. Never throws. */
  giveBack(ackIds: string[]): Promise<void>;
}

/** One attempt: extend a lease that waited, POST, then settle. Never throws. */
export async function deliverFlight(ctx: FlightContext, flight: Flight): Promise<void> {
  const { clock } = ctx.deps;
  const { delivery } = flight.held;
  const sub = ctx.subscription();
  const push = sub.push;
  try {
    if (flight.held.leasedUntilMs - clock.now() < push.timeoutMs + 1_000) {
      if (!(await extend(ctx, delivery))) return;
    }
    const result = await attemptPush({
      subscription: sub.name,
      push,
      delivery,
      sender: ctx.deps.sender,
      allowedHosts: ctx.deps.limits.pushAllowedHosts,
      signal: flight.controller.signal,
      stopped: () => flight.stopped,
    });
    if (result.kind === "stopped") {
      await ctx.giveBack([delivery.ackId]);
      return;
    }
    if (result.kind === "undeliverable") {
      await undeliverable(ctx, delivery, result.error);
      return;
    }
    const { ok, status, error } = result;
    ctx.record(ok, status, error);
    if (ok) await ctx.deps.broker.ack(sub.name, { ackIds: [delivery.ackId], messageIds: [] });
    else await fail(ctx, delivery, truncateUtf8(error, MAX_NACK_ERROR_BYTES));
  } catch (e) {
    reportSettleFailure(ctx.deps.logger, sub.name, delivery, e);
  }
}

/** Nacks a failed delivery (the core applies the retry policy); later messages of its key go back too. */
async function fail(ctx: FlightContext, delivery: Delivery, error: string): Promise<void> {
  const behind = ctx.ready.takeKeyOf(delivery);
  // Without a delay: the core applies the retry policy and, on the last attempt, dead-letters it with the error.
  await ctx.deps.broker.nack(ctx.subscription().name, { ackIds: [delivery.ackId], messageIds: [] }, 0, error);
  await ctx.giveBack(behind);
}

/**
 * A message that can never be sent as it is (a form push without a usable target): retrying it
 * would block its subscription forever, so it leaves at once, for the dead-letter topic or
 * dropped (counted as dead-lettered either way), and the next message goes out without a
 * backoff. Only when the dead-letter topic cannot take it does it stay, as a failed attempt.
 */
async function undeliverable(ctx: FlightContext, delivery: Delivery, error: string): Promise<void> {
  const sub = ctx.subscription();
  const left = await ctx.deps.broker.reject(sub.name, [delivery.ackId], error);
  if (left === 0) {
    ctx.record(false, 0, error);
    await ctx.giveBack(ctx.ready.takeKeyOf(delivery));
    return;
  }
  ctx.gate.recordUndeliverable(error);
  ctx.deps.logger.warn("push message cannot be delivered; it left its subscription", {
    subscription: sub.name,
    seq: delivery.message.seq,
    id: delivery.message.id,
    error,
    ...(sub.deadLetterTopic === "" ? { dropped: true } : { dead_letter_topic: sub.deadLetterTopic }),
  });
}

function extend(ctx: FlightContext, delivery: Delivery): Promise<boolean> {
  const sub = ctx.subscription();
  return renewLease(ctx.deps.broker, sub.name, delivery.ackId, pushLeaseMs(sub.push, ctx.deps.limits));
}
