import type { Writable } from "node:stream";
import { reasonOf } from "../bridge.js";
import { arg, type Call, callbackOf, checkQueueName, escapeHtml, finishCustom, type Handler } from "./call.js";
import { BRIDGE, type RestmqContext } from "./context.js";
import { HttpError, redirect, send } from "./http-io.js";
import { CometConsumer } from "./live/comet.js";
import type { LiveConsumer } from "./live/consumer.js";
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
  const element = await takeElement(call.clients, call.name);
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
 * `DELETE /q/<queue>`: ends the queue's live consumers (each comet stream gets a last `null`),
 * then empties the queue: `{"queue": …, "status": 1|0}` (1 when it held elements).
 */
export const queueDelete: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  ctx.presence.endQueue(call.name);
  const status = await purgeQueue(call.clients, call.name);
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
  const element = await takeElement(call.clients, queue);
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
 * Readies a queue for a live consumer: checks the consumer may read it (a Peek as that user) and
 * creates it when it does not exist yet (a RestMQ queue springs into being with its first use).
 */
export async function prepareLiveQueue(ctx: RestmqContext, call: Pick<Call, "clients">, queue: string): Promise<void> {
  if (!ctx.presence.hasRoom()) throw new HttpError(503, "too many live consumers");
  try {
    await call.clients.subscriber.peek({ subscription: queue, maxMessages: 1 });
  } catch (e) {
    const reason = reasonOf(e);
    if (reason !== "TOPIC_NOT_FOUND" && reason !== "SUBSCRIPTION_NOT_FOUND") throw e;
    await ctx.directory.ensure(queue);
  }
}

/**
 * Attaches a live consumer and counts it as a bridge connection while it lasts; one dropped as too
 * slow counts as a `slow_consumer` error.
 */
export function attachLive(ctx: RestmqContext, consumer: LiveConsumer): void {
  ctx.metrics.connection(BRIDGE, 1);
  consumer.onEnd((reason) => {
    ctx.metrics.connection(BRIDGE, -1);
    if (reason === "slow") ctx.metrics.error(BRIDGE, "slow_consumer");
  });
  ctx.presence.attach(consumer);
}

/** `GET /c/<queue>`: a comet consumer (see live/comet.ts). */
export const cometGet: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  if (call.name === "") throw new HttpError(400, "Invalid Queue Name");
  await prepareLiveQueue(ctx, call, call.name);
  if (call.res.destroyed || (call.res as Writable).closed) return; // the client left meanwhile
  const bounds = {
    highWaterBytes: ctx.options.consumerHighWaterBytes,
    maxBufferedBytes: ctx.options.maxConsumerBufferBytes,
  };
  attachLive(ctx, new CometConsumer(call.name, call.clients, bounds, call.res, callback));
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
