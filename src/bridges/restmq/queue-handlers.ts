import type { Writable } from "node:stream";
import { type BrokerClients, reasonOf } from "../bridge.js";
import { arg, type Call, callbackOf, checkQueueName, escapeHtml, finishCustom, type Handler } from "./call.js";
import { BRIDGE, type RestmqContext } from "./context.js";
import { HttpError, redirect, send } from "./http-io.js";
import { CometConsumer } from "./live/comet.js";
import type { LiveConsumer } from "./live/consumer.js";
import type { Reservation } from "./live/presence.js";
import { addElement, purgeQueue, type QueueElement, queueLengths, takeElement } from "./queue-ops.js";

/** `{"count": 0, "key": …, "value": …}`: RestMQ's hard get (key order as RestMQ's dict iterated). */
function hardGetBody(ctx: RestmqContext, e: QueueElement) {
  return { count: 0, key: e.key, value: ctx.value(e.value) };
}

/** Redis `EXPIRE` took only integers; anything else failed the add (503), as the bridge does. */
function ttlSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,18}$/.test(raw)) throw new HttpError(503, "ttl is not an integer");
  return Number(raw);
}

/** `GET /q/<queue>`: takes the oldest element (204 when empty); `GET /q/` lists the queues (HTML). */
export const queueGet: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  if (call.name === "") {
    await listPage(ctx, call);
    return;
  }
  const element = await ctx.locks.run(call.name, () => takeElement(call.clients, call.name));
  if (!element) throw new HttpError(204);
  finishCustom(call, hardGetBody(ctx, element), callback);
};

/**
 * `POST /q/<queue>`: adds `msg` or `value` (400 without either; an empty `msg` alone fails as in
 * RestMQ master, 503), with an optional `ttl` in seconds; answers `<queue>:<n>\r\n`.
 */
export const queuePost: Handler = async (ctx, call) => {
  const msg = arg(call, "msg");
  const value = arg(call, "value");
  if (msg === undefined && value === undefined) throw new HttpError(400, "no msg or value");
  const callback = callbackOf(call);
  const text = msg || value; // Python's `msg or value`
  if (text === undefined) throw new HttpError(503, "empty msg");
  const key = await addElement(ctx.directory, call.clients, call.name, text, ttlSeconds(arg(call, "ttl")));
  finishCustom(call, key, callback);
};

/**
 * `DELETE /q/<queue>`: empties the queue's subscription, then ends its live consumers (each comet
 * stream gets a last `null`): `{"queue": …, "status": 1|0}` (1 when it held elements). A user the
 * broker does not let empty the queue gets 401 and the consumers stay (RestMQ ended them first;
 * the order is not visible otherwise).
 */
export const queueDelete: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  const status = await ctx.locks.run(call.name, async () => {
    const purged = await purgeQueue(ctx.clients, call.clients, call.name);
    ctx.presence.endQueue(call.name);
    return purged;
  });
  finishCustom(call, { queue: call.name, status }, callback);
};

/** `GET /?queue=<q>` (RestMQ's first interface): as GET /q but 404 when empty; no `queue`: the index page. */
export const indexGet: Handler = async (ctx, call) => {
  const queue = arg(call, "queue");
  const callback = callbackOf(call);
  if (queue === undefined) {
    redirect(call.req, call.res, "/static/index.html");
    return;
  }
  checkQueueName(ctx, queue);
  const element = await ctx.locks.run(queue, () => takeElement(call.clients, queue));
  if (!element) throw new HttpError(404);
  finishCustom(call, hardGetBody(ctx, element), callback);
};

/** `POST /` with `queue` and `value` (master took no `msg` here: `msg` alone fails, 503). */
export const indexPost: Handler = async (ctx, call) => {
  const queue = arg(call, "queue");
  if (queue === undefined) throw new HttpError(400, "Missing argument queue");
  checkQueueName(ctx, queue);
  const msg = arg(call, "msg");
  const value = arg(call, "value");
  if (msg === undefined && value === undefined) throw new HttpError(400, "no msg or value");
  const callback = callbackOf(call);
  if (value === undefined) throw new HttpError(503, "no value");
  const key = await addElement(ctx.directory, call.clients, queue, value);
  finishCustom(call, key, callback);
};

/**
 * Readies a live consumer of `queue`: reserves its place (503 when every place is taken, so
 * concurrent requests cannot overshoot the cap) and checks, with a Peek as its user, that the
 * broker lets it read the queue (401 otherwise; 400 for a name no queue can have). A queue that
 * does not exist yet is fine: the consumer waits for it, as RestMQ's did, and creates nothing
 * (only adding an element makes a queue). Release the reservation if the consumer never attaches.
 */
export async function prepareLiveConsumer(
  ctx: RestmqContext,
  clients: BrokerClients,
  queue: string,
): Promise<Reservation> {
  const reservation = ctx.presence.reserve();
  if (!reservation) throw new HttpError(503, "too many live consumers");
  try {
    await clients.subscriber.peek({ subscription: queue, maxMessages: 1 });
  } catch (e) {
    const reason = reasonOf(e);
    if (reason !== "TOPIC_NOT_FOUND" && reason !== "SUBSCRIPTION_NOT_FOUND") {
      reservation.release();
      throw e;
    }
  }
  return reservation;
}

/**
 * Attaches a live consumer in its reserved place and counts it as a bridge connection while it
 * lasts; one dropped as too slow counts as a `slow_consumer` error.
 */
export function attachLive(ctx: RestmqContext, reservation: Reservation, consumer: LiveConsumer): void {
  ctx.metrics.connection(BRIDGE, 1);
  consumer.onEnd((reason) => {
    ctx.metrics.connection(BRIDGE, -1);
    if (reason === "slow") ctx.metrics.error(BRIDGE, "slow_consumer");
  });
  reservation.attach(consumer);
}

/** `GET /c/<queue>`: a comet consumer (see live/comet.ts). */
export const cometGet: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  if (call.name === "") throw new HttpError(400, "Invalid Queue Name");
  const reservation = await prepareLiveConsumer(ctx, call.clients, call.name);
  if (call.res.destroyed || (call.res as Writable).closed) {
    reservation.release(); // the client left meanwhile
    return;
  }
  const bounds = {
    highWaterBytes: ctx.options.consumerHighWaterBytes,
    maxBufferedBytes: ctx.options.maxConsumerBufferBytes,
  };
  attachLive(ctx, reservation, new CometConsumer(call.name, call.clients, bounds, call.res, callback));
};

/** The queue list page of `GET /q/` (RestMQ rendered a template; the bridge a plain page). */
async function listPage(ctx: RestmqContext, call: Call): Promise<void> {
  const lengths = await queueLengths(call.clients);
  lengths.delete(ctx.options.settingsTopic);
  const rows = [...lengths.keys()]
    .sort()
    .map((q) => `<li><a href="/q/${encodeURIComponent(q)}">${escapeHtml(q)}</a> (${lengths.get(q)})</li>`)
    .join("\n");
  send(
    call.req,
    call.res,
    200,
    `<html><head><title>RestMQ - REST queues</title></head><body><h1>Queues</h1><ul>\n${rows}\n</ul></body></html>`,
  );
}
