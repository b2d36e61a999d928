import { BrokerError } from "../errors/index.js";
import type { Delivery, SubscribeRequest, SubscriptionInfo } from "../model/index.js";
import type { LeaseReport } from "../store/index.js";
import { linkSignals } from "../util/index.js";
import { getSubscription } from "./admin-ops.js";
import type { CoreContext } from "./context.js";
import { countingDeadLetters } from "./dead-letter-count.js";
import { afterLease } from "./dead-letter-ops.js";
import { abortError, refuseIfPush, toDelivery } from "./delivery-ops.js";
import { markUsed } from "./ephemeral.js";
import { reportDelivered } from "./metrics-sink.js";
import { Outstanding, registerStream, unregisterStream } from "./outstanding.js";
import { validateRange } from "./validate.js";
import { waitForAny } from "./wait.js";

/**
 * Messages one lease step takes at most. A response (up to a quarter of the window, 500 of the
 * bench's 2,000) is leased in steps of this many, each in its own event-loop turn, and sent as
 * one: a step (reading, leasing and copying 1 KiB messages at some 3 µs each) holds the main
 * thread about half a millisecond instead of the whole response's worth. What waits behind the
 * main thread's tasks waits less: the Acks' transactions, whose callbacks lmdb-js runs there
 * while its write thread waits, and their answers (W2's mean Ack, measured in the broker with
 * bench/tools/latency-probe.mjs: 15 → 7 ms). A store that does not report a lease's bytes
 * (LeaseReport.bytes) gets responses of one step.
 */
export const LEASE_STEP_MESSAGES = 128;

/** Resolves in the check phase of this event-loop turn, after the I/O its poll phase found. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Makes leased messages available again at once (a stream ended without acking them). */
async function giveBack(ctx: CoreContext, subscription: string, topic: string, ackIds: string[]): Promise<void> {
  if (ackIds.length === 0) return;
  try {
    const now = ctx.clock.now();
    await ctx.store.nack(subscription, { tokens: ackIds, messageIds: [] }, now, now);
    ctx.notifier.notify(topic);
  } catch (e) {
    if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") return; // deleted with it
    // The leases still expire on their own; nothing is lost, only delayed.
    ctx.logger.warn("could not release a closed stream's messages", { subscription, cause: e });
  }
}

/**
 * Streaming delivery with flow control (SubscriberService.Subscribe in proto/switchyard/v1/subscriber.proto). Yields batches
 * of leased messages while the stream's window has room; the window frees up as its messages
 * are acked, nacked or their leases end. Woken by publishes (notifier), by settles on its own
 * ack ids, and by timers for due messages and lease deadlines; never polls. When the stream
 * ends (abort, return, error, shutdown), what it holds unacked is available again at once.
 */
export async function* subscribe(
  ctx: CoreContext,
  req: SubscribeRequest,
  signal: AbortSignal,
): AsyncGenerator<Delivery[], void, undefined> {
  const { limits, clock, store, notifier } = ctx;
  let sub = await getSubscription(ctx, req.subscription);
  refuseIfPush(sub);
  validateRange("max_outstanding_messages", req.maxOutstandingMessages, 0, limits.maxStreamMessages);
  validateRange("max_outstanding_bytes", req.maxOutstandingBytes, 0, limits.maxStreamBytes);
  validateRange("ack_deadline_ms", req.ackDeadlineMs ?? 0, 0, limits.maxAckDeadlineMs);
  const { name, topic } = sub;
  const window = new Outstanding(
    name,
    req.maxOutstandingMessages || limits.defaultStreamMessages,
    req.maxOutstandingBytes || limits.defaultStreamBytes,
    clock,
    limits.maxMessageBytes,
  );
  const link = linkSignals(signal, ctx.shutdown.signal);
  const linked = link.signal;
  let ended: Promise<void> | undefined;
  let closed = false;
  let detached = false;
  // The stream stops counting as a consumer and drops its registrations once, on abort or at
  // the end, whichever comes first.
  const detach = () => {
    if (detached) return;
    detached = true;
    unregisterStream(ctx, window);
    notifier.forget(window.channel);
    markUsed(ctx, name);
    const n = (ctx.consumers.get(name) ?? 1) - 1;
    if (n > 0) ctx.consumers.set(name, n);
    else ctx.consumers.delete(name);
  };
  // On abort the stream ends for the broker at once, even while the generator sits at a `yield`
  // that its transport may never resume (a write blocked on flow control when the connection
  // is cut: test/fuzz/h2-hostile.fuzz.ts found such gRPC-web streams staying attached).
  const end = () => {
    closed = true;
    ended ??= giveBack(ctx, name, topic, window.takeAll());
    detach();
    return ended;
  };
  // The topic version read before a lease that drained the subscription (LeaseReport): until it
  // changes, the lease right after the batch it delivered would find nothing, so the stream
  // waits at once instead (due times and lease deadlines still wake it, by nextDueMs).
  let drainedAt: number | undefined;
  const report: LeaseReport = { drained: false };
  /**
   * Leases one response of at most `max` messages and `maxBytes` in steps of
   * {@link LEASE_STEP_MESSAGES}, each in its own event-loop turn; each step's messages join the
   * window as they come. `drained`: a step found the subscription drained (LeaseReport).
   */
  const leaseResponse = async (
    sub: SubscriptionInfo,
    max: number,
    maxBytes: number,
    leaseMs: number,
  ): Promise<{ got: Delivery[]; drained: boolean }> => {
    const got: Delivery[] = [];
    let bytes = 0;
    let drained = false;
    for (;;) {
      const nowMs = clock.now();
      const step = Math.min(max - got.length, LEASE_STEP_MESSAGES);
      report.drained = false;
      report.bytes = undefined;
      const leased = await countingDeadLetters(ctx, sub, () =>
        store.lease(name, {
          max: step,
          maxBytes: maxBytes - bytes,
          maxBytesStrict: got.length > 0,
          leaseMs,
          nowMs,
          autoAck: false,
          report,
        }),
      );
      const part = leased.map(toDelivery);
      if (closed) {
        // What earlier steps took is in the window, which the end gave back.
        await giveBack(
          ctx,
          name,
          topic,
          part.map((d) => d.ackId),
        );
        throw abortError(linked.reason);
      }
      if (part.length > 0) {
        if (report.drained) drained = true;
        window.add(part, nowMs + leaseMs);
        reportDelivered(ctx.metrics, sub.topic, name, part);
        await afterLease(ctx, sub, part, nowMs + leaseMs);
        for (const d of part) got.push(d);
      }
      // Another step only when this one was cut by its count alone, and the store said how
      // many bytes it took (else the response's byte bound cannot be shared out).
      if (part.length < step || report.drained || report.bytes === undefined || got.length >= max) break;
      bytes += report.bytes;
      await nextTurn();
      if (closed) throw abortError(linked.reason);
    }
    return { got, drained };
  };
  registerStream(ctx, window);
  ctx.consumers.set(name, (ctx.consumers.get(name) ?? 0) + 1);
  linked.addEventListener("abort", end, { once: true });
  try {
    for (;;) {
      if (linked.aborted) throw abortError(linked.reason);
      const seenRoom = notifier.version(window.channel);
      const seenTopic = notifier.version(topic);
      const room = sub.paused ? 0 : window.room();
      // With room, what stops the stream is an empty subscription, which acks do not change.
      // (A paused stream waits for the resume, which wakes it: acks need not.)
      window.waitingForRoom = !sub.paused && room === 0;
      const drained = drainedAt === seenTopic;
      drainedAt = undefined;
      if (room > 0 && !drained) {
        const leaseMs = req.ackDeadlineMs || sub.ackDeadlineMs;
        const max = Math.min(room, window.maxPerResponse);
        // Each response fits a client's receive limit; the window bounds what the stream holds.
        const maxBytes = Math.min(limits.maxResponseBytes, window.roomBytes());
        const { got, drained: emptied } = await leaseResponse(sub, max, maxBytes, leaseMs);
        if (emptied) drainedAt = seenTopic;
        if (got.length > 0) {
          yield got;
          // The next response's leases start after the I/O that came meanwhile (Acks among it);
          // after one that drained the subscription the stream waits anyway.
          if (drainedAt === undefined) await nextTurn();
          sub = await getSubscription(ctx, name); // pause, delete and deadline changes apply
          continue;
        }
      }
      // Full: only a settle or a lease deadline can make room. Paused: only a resume (topic).
      const channels: [string, number][] = [[window.channel, seenRoom]];
      let wakeAt = Number.POSITIVE_INFINITY;
      if (sub.paused) channels.push([topic, seenTopic]);
      else if (room === 0) wakeAt = window.earliestDeadlineMs;
      else {
        channels.push([topic, seenTopic]);
        wakeAt = Math.min(window.earliestDeadlineMs, (await store.nextDueMs(name)) ?? Number.POSITIVE_INFINITY);
      }
      try {
        await waitForAny(notifier, clock, channels, wakeAt - clock.now(), linked);
      } catch (e) {
        throw abortError(e);
      }
      sub = await getSubscription(ctx, name);
    }
  } finally {
    linked.removeEventListener("abort", end);
    link.dispose();
    await end();
  }
}
