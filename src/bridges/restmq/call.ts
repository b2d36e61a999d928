import type { BrokerClients } from "../bridge.js";
import { type Arguments, argument } from "./arguments.js";
import type { RestmqContext } from "./context.js";
import { checkCallback, HTML, HttpError, type Request, type Response, send } from "./http-io.js";
import { type PyValue, pyJson } from "./py-json.js";

/** One request as a handler sees it. */
export interface Call {
  readonly req: Request;
  readonly res: Response;
  /** The route's path argument, URL-decoded (the queue name); "" for routes without one. */
  readonly name: string;
  /** Query and form arguments (see arguments.ts). */
  readonly args: Arguments;
  /** The clients this request acts through (its user's, once auth is on). */
  readonly clients: BrokerClients;
}

/** A route handler. It answers, or throws an `HttpError` (or a broker error) to be rendered at the edge. */
export type Handler = (ctx: RestmqContext, call: Call) => Promise<void>;

/** `get_argument(name, None)` of the call. */
export function arg(call: Call, name: string): string | undefined {
  return argument(call.args, name);
}

/** The checked `callback` argument of the call, if any. */
export function callbackOf(call: Call): string | undefined {
  return checkCallback(arg(call, "callback"));
}

/**
 * RestMQ's `CustomHandler(self, callback).finish(value)`: a string as it is, anything else as
 * cyclone JSON; then `\r\n`, or `callback(…);\r\n` with JSONP; text/html (cyclone's default type).
 */
export function finishCustom(call: Call, value: PyValue, callback: string | undefined): void {
  const text = typeof value === "string" ? value : pyJson(value);
  const body = callback === undefined ? `${text}\r\n` : `${callback}(${text});\r\n`;
  send(call.req, call.res, 200, body, HTML);
}

/**
 * Refuses the settings topic's name as a queue name (400): its records are the bridge's, and a
 * RestMQ client must not read or delete them.
 */
export function checkQueueName(ctx: RestmqContext, name: string): string {
  if (name === ctx.options.settingsTopic) throw new HttpError(400, "reserved queue name");
  return name;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the broker refuses exactly these in names
const NAME_CONTROL = /[\u0000-\u001f\u007f\ufffd]/;

/**
 * True when the broker can store `name` as a queue (topic) name: 1 to 255 bytes of UTF-8 with no
 * control character (the broker's own rule, README "The API at a glance").
 */
export function isStorableQueueName(name: string): boolean {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 255 || NAME_CONTROL.test(name)) return false;
  return Buffer.from(name, "utf8").toString("utf8") === name; // no lone surrogate (it would store as U+FFFD)
}

/**
 * Refuses (400) a queue name the broker could never store, before the bridge keeps anything
 * under it (a policy or a start/stop record).
 */
export function checkStorableQueueName(name: string): string {
  if (!isStorableQueueName(name)) throw new HttpError(400, "invalid queue name");
  return name;
}

/** Escapes text for an HTML page. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
