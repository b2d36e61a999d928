import { reasonOf } from "../bridge.js";
import { arg, type Call, callbackOf, checkStorableQueueName, escapeHtml, finishCustom, type Handler } from "./call.js";
import { BACKEND_REPR, type RestmqContext } from "./context.js";
import { HTML, HttpError, JSON_TYPE, send } from "./http-io.js";
import { type PyValue, pyJson, pyRepr } from "./py-json.js";
import { queueLengths, readsAsEmpty } from "./queue-ops.js";
import { BROADCAST, ROUNDROBIN, type Status, TooManySettingsError } from "./settings.js";

const POLICY_NAMES = { [BROADCAST]: "broadcast", [ROUNDROBIN]: "roundrobin" } as const;

/** Writes a settings change; settings past their bounds (docs/restmq.md) are a 503 like any storage failure. */
async function changeSettings(
  ctx: RestmqContext,
  queue: string,
  change: Parameters<RestmqContext["settings"]["set"]>[1],
) {
  try {
    await ctx.settings.set(queue, change);
  } catch (e) {
    if (e instanceof TooManySettingsError) throw new HttpError(503, e.message);
    throw e;
  }
}

/**
 * Asks the broker whether the request's user is an admin, changing nothing: a GetTopic, which
 * only admins may call (the server's auth check answers before the core, so TOPIC_NOT_FOUND
 * means yes). A queue's policy and dispatch state are the queue's configuration, so changing them
 * needs `admin` (README "Auth and TLS"); without users the bridge's own clients may.
 */
async function checkMayConfigure(call: Call, queue: string): Promise<void> {
  try {
    await call.clients.admin.getTopic({ name: queue });
  } catch (e) {
    if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
  }
}

/** `GET /p/<queue>`: `{"queue": …, "value": "broadcast"|"roundrobin"}`; never set: `broadcast` (RestMQ's README default). */
export const policyGet: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  const policy = ctx.settings.get(call.name).policy ?? BROADCAST;
  finishCustom(call, { queue: call.name, value: POLICY_NAMES[policy] }, callback);
};

/**
 * `POST /p/<queue>` with `policy`: `OK` for broadcast or roundrobin, `null` for anything else (400
 * without it). Admin only.
 */
export const policyPost: Handler = async (ctx, call) => {
  await checkMayConfigure(call, call.name);
  const policy = arg(call, "policy");
  if (policy === undefined) throw new HttpError(400, "Missing argument policy");
  const callback = callbackOf(call);
  const id = policy === "broadcast" ? BROADCAST : policy === "roundrobin" ? ROUNDROBIN : undefined;
  if (id === undefined) {
    finishCustom(call, null, callback);
    return;
  }
  await changeSettings(ctx, checkStorableQueueName(call.name), { policy: id });
  finishCustom(call, "OK", callback);
};

/**
 * A queue's dispatch status as RestMQ kept it: set by `/control`, else 1 once the queue exists
 * (RestMQ started a queue at its first add), else null.
 */
async function statusOf(ctx: RestmqContext, call: Call, queue: string): Promise<Status | null> {
  const set = ctx.settings.get(queue).status;
  if (set !== undefined) return set;
  try {
    await call.clients.subscriber.peek({ subscription: queue, maxMessages: 1 });
    return 1;
  } catch (e) {
    if (readsAsEmpty(e)) return null;
    throw e;
  }
}

/**
 * `GET /control/<queue>`: `{"queue": …, "status": {"queue": …, "status": 1|0|null}, "redis": …}\r\n`
 * as application/json. `GET /control/` lists every queue's status (RestMQ's own listing was broken).
 */
export const controlGet: Handler = async (ctx, call) => {
  if (call.name !== "") {
    const status = await statusOf(ctx, call, call.name);
    const body = { queue: call.name, status: { queue: call.name, status }, redis: BACKEND_REPR };
    send(call.req, call.res, 200, `${pyJson(body)}\r\n`, JSON_TYPE);
    return;
  }
  const names = await queueNames(ctx, call);
  const queues = new Map<string, PyValue>();
  for (const q of names) queues.set(q, { queue: q, status: ctx.settings.get(q).status ?? 1 });
  send(call.req, call.res, 200, `${pyJson({ count: names.length, queues, redis: BACKEND_REPR })}\r\n`, JSON_TYPE);
};

/**
 * `POST /control/<queue>` with `status=start|stop`: `{"stat": {"queue": …, "status": 1|0}}\r\n`;
 * another value: `{"stat": "invalid status: <value>"}\r\n` (`None` when absent). JSONP: `cb(…)\r\n`.
 * Admin only.
 */
export const controlPost: Handler = async (ctx, call) => {
  await checkMayConfigure(call, call.name);
  const status = arg(call, "status");
  const callback = callbackOf(call);
  let stat: PyValue;
  if (status === "start" || status === "stop") {
    const value: Status = status === "start" ? 1 : 0;
    await changeSettings(ctx, checkStorableQueueName(call.name), { status: value });
    stat = { queue: call.name, status: value };
  } else {
    stat = `invalid status: ${status ?? "None"}`;
  }
  const json = pyJson({ stat });
  send(call.req, call.res, 200, `${callback === undefined ? json : `${callback}(${json})`}\r\n`, HTML);
};

/** Every queue's name, sorted (RestMQ's order was Redis's and Python's hashing; see docs/restmq.md). */
async function queueNames(ctx: RestmqContext, call: Call): Promise<string[]> {
  const lengths = await queueLengths(call.clients);
  lengths.delete(ctx.options.settingsTopic);
  return [...lengths.keys()].sort();
}

/**
 * `GET /stats/<queue>`: `{"queue": …, "redis": …, "len": n}`; `GET /stats/`: every queue,
 * `{"count": n, "queues": {q: {"status": 1|"", "policy": 1|2|"", "name": q, "len": n}}, "redis": …}`.
 * application/json, no CRLF. JSONP: `cb(<json>)` for one queue and, as in RestMQ, `cb(<Python repr>)` for all.
 */
export const statsGet: Handler = async (ctx, call) => {
  const callback = callbackOf(call);
  if (call.name !== "") {
    const len = (await queueLengths(call.clients, [call.name]).catch(emptyOnAbsent)).get(call.name) ?? 0;
    const json = pyJson({ queue: call.name, redis: BACKEND_REPR, len });
    send(call.req, call.res, 200, callback === undefined ? json : `${callback}(${json})`, JSON_TYPE);
    return;
  }
  const lengths = await queueLengths(call.clients);
  lengths.delete(ctx.options.settingsTopic);
  const queues = new Map<string, PyValue>();
  for (const q of [...lengths.keys()].sort()) {
    const s = ctx.settings.get(q);
    // RestMQ showed "" for a falsy status: a stopped queue (0) shows "" too.
    queues.set(q, { status: s.status === 0 ? "" : 1, policy: s.policy ?? "", name: q, len: lengths.get(q) ?? 0 });
  }
  const res = { count: queues.size, queues, redis: BACKEND_REPR };
  send(call.req, call.res, 200, callback === undefined ? pyJson(res) : `${callback}(${pyRepr(res)})`, JSON_TYPE);
};

function emptyOnAbsent(e: unknown): Map<string, number> {
  if (readsAsEmpty(e)) return new Map();
  throw e;
}

/** `GET /j/<queue>`: a small HTML page with the queue's length and its newest keys (RestMQ's job page, cosmetic). */
export const jobsGet: Handler = async (ctx, call) => {
  const len = (await queueLengths(call.clients, [call.name]).catch(emptyOnAbsent)).get(call.name) ?? 0;
  let keys: string[] = [];
  try {
    const { messages } = await call.clients.subscriber.peek({
      subscription: call.name,
      maxMessages: 10,
      fromBack: true,
    });
    keys = messages.map((m) => `${call.name}:${m.message?.seq ?? 0n}`);
  } catch (e) {
    if (!readsAsEmpty(e)) throw e;
  }
  const items = keys.map((k) => `<li>${escapeHtml(k)}</li>`).join("\n");
  const q = escapeHtml(call.name);
  send(
    call.req,
    call.res,
    200,
    `<html><head><title>RestMQ - ${q}</title></head><body><h1>Queue ${q}</h1>` +
      `<p>${len} job(s) waiting; policy ${POLICY_NAMES[ctx.settings.get(call.name).policy ?? BROADCAST]}</p>` +
      `<ul>\n${items}\n</ul></body></html>`,
    HTML,
  );
};
