import { clientInputMessage, reasonOf } from "../bridge.js";
import { arg, type Call, type Handler } from "./call.js";
import type { RestmqContext } from "./context.js";
import { HTML, HttpError, JSON_TYPE, redirect, send } from "./http-io.js";
import { type PyValue, pyJson } from "./py-json.js";
import { addElement, deleteElement, peekElement, takeElement } from "./queue-ops.js";

/** A decoded `/queue` document (any JSON value; RestMQ indexed it like a dict). */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Python 2's type name of a decoded JSON value, for RestMQ's AttributeError texts. */
function pyTypeName(v: Json | undefined): string {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return "float";
    return Math.abs(v) > 2 ** 63 - 1 ? "long" : "int";
  }
  if (Array.isArray(v)) return "list";
  return "dict";
}

/** What RestMQ's commands raised, as `{"error": str(e)}`. */
class CommandError extends Error {}

/** `jsonbody[field].encode("utf-8")`: KeyError `'field'` when absent, AttributeError for a non-string. */
function stringField(doc: { [key: string]: Json }, field: string): string {
  if (!Object.hasOwn(doc, field)) throw new CommandError(`'${field}'`);
  const v = doc[field];
  if (typeof v !== "string") throw new CommandError(`'${pyTypeName(v)}' object has no attribute 'encode'`);
  return v;
}

/** The `queue` field, which may not name the settings topic. */
function queueField(ctx: RestmqContext, doc: { [key: string]: Json }): string {
  const queue = stringField(doc, "queue");
  if (queue === ctx.options.settingsTopic) throw new CommandError("reserved queue name");
  return queue;
}

type Doc = { [key: string]: Json };

/**
 * The commands of RestMQ's JSON protocol (dispatch.py). Each answers a dict, key order as
 * RestMQ's dicts iterated; an empty queue or a bad field is `{"error": …}` with RestMQ's text.
 */
const COMMANDS: Record<string, (ctx: RestmqContext, call: Call, doc: Doc) => Promise<PyValue>> = {
  async add(ctx, call, doc): Promise<PyValue> {
    const queue = queueField(ctx, doc);
    const value = stringField(doc, "value");
    const key = await addElement(ctx.directory, call.clients, queue, value);
    return { queue, value, key };
  },
  async get(ctx, call, doc): Promise<PyValue> {
    const queue = queueField(ctx, doc);
    const e = await ctx.locks.run(queue, () => peekElement(call.clients, queue));
    if (!e) return { error: "empty queue" };
    return { queue, count: e.attempt, value: ctx.value(e.value), key: e.key };
  },
  async take(ctx, call, doc): Promise<PyValue> {
    const queue = queueField(ctx, doc);
    const e = await ctx.locks.run(queue, () => takeElement(call.clients, queue));
    if (!e) return { error: "empty queue" };
    return { queue, value: ctx.value(e.value), key: e.key };
  },
  async del(ctx, call, doc): Promise<PyValue> {
    const queue = queueField(ctx, doc);
    if (!Object.hasOwn(doc, "key")) throw new CommandError("'key'");
    const key = doc.key;
    if (typeof key !== "string") throw new CommandError("data must be utf-8");
    const deleted = await deleteElement(call.clients, queue, key);
    return { queue, deleted, key };
  },
};

/** `GET /queue`: RestMQ redirected to its help page. */
export const protocolHelp: Handler = async (_ctx, call) => {
  redirect(call.req, call.res, "/static/help.html");
};

/**
 * `POST /queue`: the JSON protocol. The document comes url-encoded in the form field `body` (or
 * `msg`); a missing field, invalid JSON or a missing/empty `cmd` is 400. The answer is the
 * command's dict as `application/json` with no CRLF; an unknown command answers
 * `{"error": "null resultset"}` as text/html (RestMQ finished it with a string).
 */
export const protocolPost: Handler = async (ctx, call) => {
  const msg = arg(call, "msg");
  const body = arg(call, "body");
  if (msg === undefined && body === undefined) throw new HttpError(400, "no body");
  const text = msg || body;
  let doc: Json;
  try {
    doc = JSON.parse(text ?? "") as Json;
  } catch {
    throw new HttpError(400, "Malformed JSON. Invalid format.");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc) || !doc.cmd) {
    throw new HttpError(400, "Malformed JSON. Invalid format.");
  }
  const cmd = doc.cmd;
  // `"_" + cmd` with a non-string cmd raised outside the commands' own error handling: 503.
  if (typeof cmd !== "string") throw new HttpError(503, "cmd is not a string");
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  ctx.metrics.command("restmq", command ? `queue.${cmd}` : "queue.unknown");
  if (!command) {
    send(call.req, call.res, 200, pyJson({ error: "null resultset" }), HTML);
    return;
  }
  let result: PyValue;
  try {
    result = await command(ctx, call, doc);
  } catch (e) {
    result = { error: commandErrorText(ctx, e) };
  }
  send(call.req, call.res, 200, pyJson(result), JSON_TYPE);
};

/** `str(e)` of what a command raised: RestMQ's own texts, the broker's text for the client's faults. */
function commandErrorText(ctx: RestmqContext, e: unknown): string {
  if (e instanceof CommandError) return e.message;
  const input = clientInputMessage(e);
  if (input !== undefined) return input;
  const reason = reasonOf(e);
  if (reason === "UNAUTHENTICATED" || reason === "PERMISSION_DENIED") throw e; // 401, as every other door
  if (reason !== "SHUTTING_DOWN") ctx.logger.error("restmq: JSON protocol command failed", { reason, error: e });
  return reason === "SHUTTING_DOWN" ? "server is shutting down" : "internal error";
}
