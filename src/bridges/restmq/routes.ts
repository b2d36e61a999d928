import { controlGet, controlPost, jobsGet, policyGet, policyPost, statsGet } from "./admin-handlers.js";
import { type Arguments, BadArgumentError, parseFormBody, parseQueryString, unquote } from "./arguments.js";
import { type Call, checkQueueName, type Handler } from "./call.js";
import { BRIDGE, type RestmqContext } from "./context.js";
import { toHttpError } from "./errors.js";
import { HttpError, type Request, type Response, readBody, sendError } from "./http-io.js";
import { protocolHelp, protocolPost } from "./json-protocol.js";
import { cometGet, indexGet, indexPost, queueDelete, queueGet, queuePost } from "./queue-handlers.js";
import { staticGet } from "./static-pages.js";

/** A method of a route: its handler, and whether RestMQ's ACL applied to it. */
interface Method {
  readonly handler: Handler;
  readonly acl: boolean;
}

/** One of RestMQ's URL patterns (web.py `Application`), anchored at both ends as cyclone did. */
interface Route {
  readonly name: string;
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Method>>;
}

const guarded = (handler: Handler): Method => ({ handler, acl: true });
const open = (handler: Handler): Method => ({ handler, acl: false });

/** `/ws/<queue>` without an upgrade: RestMQ's websocket handler refused it. */
const notAWebsocket: Handler = async () => {
  throw new HttpError(400, 'Can "Upgrade" only to "WebSocket"');
};

const ROUTES: readonly Route[] = [
  { name: "index", pattern: /^\/$/, methods: { GET: guarded(indexGet), POST: guarded(indexPost) } },
  {
    name: "q",
    pattern: /^\/q\/(.*)$/,
    methods: { GET: guarded(queueGet), POST: guarded(queuePost), DELETE: guarded(queueDelete) },
  },
  { name: "c", pattern: /^\/c\/(.*)$/, methods: { GET: guarded(cometGet) } },
  { name: "p", pattern: /^\/p\/(.*)$/, methods: { GET: guarded(policyGet), POST: guarded(policyPost) } },
  { name: "j", pattern: /^\/j\/(.*)$/, methods: { GET: guarded(jobsGet) } },
  { name: "stats", pattern: /^\/stats\/(.*)$/, methods: { GET: guarded(statsGet) } },
  { name: "queue", pattern: /^\/queue$/, methods: { GET: open(protocolHelp), POST: guarded(protocolPost) } },
  { name: "control", pattern: /^\/control\/(.*)$/, methods: { GET: guarded(controlGet), POST: guarded(controlPost) } },
  { name: "ws", pattern: /^\/ws\/(.*)$/, methods: { GET: open(notAWebsocket) } },
  { name: "static", pattern: /^\/static\/(.*)$/, methods: { GET: open(staticGet), HEAD: open(staticGet) } },
];

/** The route and decoded path argument of a raw path, if any route matches. */
export function matchRoute(path: string): { route: Route; rawName: string } | undefined {
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (m) return { route, rawName: m[1] ?? "" };
  }
  return undefined;
}

/** Splits a request target into its path and query (an absolute-form target keeps only its path). */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  let path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q + 1);
  if (!path.startsWith("/")) {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*(\/.*)?$/.exec(path);
    path = m?.[1] ?? "/";
  }
  return { path, query };
}

/**
 * Serves one request on the RestMQ port: finds the route (404 page) and method (405 page),
 * applies the host rules and credentials (401), reads and parses the arguments (413, 400), then
 * runs the handler. Every failure is rendered here, as cyclone's HTML error page.
 */
export async function serve(ctx: RestmqContext, req: Request, res: Response): Promise<void> {
  const method = req.method ?? "GET";
  const { path, query } = splitTarget(req.url ?? "/");
  const found = matchRoute(path);
  const command = found ? `${found.route.name}.${method.toLowerCase()}` : "unknown";
  try {
    if (!found) throw new HttpError(404);
    const m = found.route.methods[method];
    if (!m) throw new HttpError(405);
    if (found.route.name !== "queue" || method !== "POST") ctx.metrics.command(BRIDGE, command);
    const clients = m.acl ? await ctx.access.clientsFor(req) : ctx.clients;
    const args: Arguments = new Map();
    parseQueryString(query, args);
    const name = found.route.name === "static" ? unquote(found.rawName) : checkQueueName(ctx, unquote(found.rawName));
    if (method === "POST") {
      const body = await readBody(req, ctx.maxBodyBytes);
      await parseFormBody(String(req.headers["content-type"] ?? ""), body, args);
    }
    await ctx.settings.ready();
    const call: Call = { req, res, name, args, clients };
    await m.handler(ctx, call);
  } catch (e) {
    // The client went away mid-request: nobody to answer, and not a failure of the broker.
    if (req.readableAborted && !(e instanceof HttpError) && !(e instanceof BadArgumentError)) {
      res.destroy();
      return;
    }
    const error = e instanceof BadArgumentError ? new HttpError(400, e.message) : toHttpError(e, ctx.logger, command);
    if (error.status >= 400) ctx.metrics.error(BRIDGE, command);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(req, res, error);
  }
}
