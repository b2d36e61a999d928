import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { GetStatsResponse } from "../../../gen/switchyard/v1/admin_pb.js";
import type { Clock, Logger } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { reasonOfAny } from "../bridge.js";

/** A request of either HTTP version (the listener serves both). */
type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** What the ohpq HTTP interface needs. */
export interface OhpqHttpOptions {
  /** The clients that read the broker's stats (the bridge's own). */
  clients: BrokerClients;
  /** `broker_id` of `/status` (the ohpq config's `broker_id`). */
  brokerId: string;
  /** `uptime_seconds` counts from when the handler is created. */
  clock: Clock;
  logger: Logger;
}

/** One queue as `/queues` reports it. */
interface QueueCounts {
  /** Messages waiting in the queue (not pending with a consumer). */
  length: bigint;
  /** Messages pending: delivered and not yet acked. */
  pending: bigint;
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";

/**
 * Go's `encoding/json` string escaping (the original is a Go program): `<`, `>`, `&`, U+2028
 * and U+2029 become `\u` escapes, the rest as JSON.stringify writes it.
 */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Go's map key order: by the bytes of the UTF-8 encoding. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The queues among the broker's stats: each topic with a subscription of the same name (a
 * Switchyard queue, whichever door made it).
 */
export function queueCounts(stats: GetStatsResponse): Map<string, QueueCounts> {
  const out = new Map<string, QueueCounts>();
  const names = [...stats.subscriptions].filter((s) => s.name === s.topic).sort((a, b) => byteOrder(a.name, b.name));
  for (const s of names) {
    const pending = s.inFlight;
    out.set(s.name, { length: s.backlog > pending ? s.backlog - pending : 0n, pending });
  }
  return out;
}

/** `/queues`: `{"<queue>":{"length":n,"pending":n},...}` in byte order of the names, then `\n`. */
export function renderQueues(queues: Map<string, QueueCounts>): string {
  const entries = [...queues].map(([name, q]) => `${goJsonString(name)}:{"length":${q.length},"pending":${q.pending}}`);
  return `{${entries.join(",")}}\n`;
}

/** `/status`: `{"broker_id":"…","uptime_seconds":n,"queues":n}` (queues: how many), then `\n`. */
export function renderStatus(brokerId: string, uptimeSeconds: number, queues: number): string {
  return `{"broker_id":${goJsonString(brokerId)},"uptime_seconds":${uptimeSeconds},"queues":${queues}}\n`;
}

/**
 * The HTTP monitoring interface of the ohpq bridge (README "Oh, Please Queue" bridge): `GET /health` → 200
 * `OK`; `GET /status` and `GET /queues` → JSON read from the broker's stats (one GetStats per
 * request). Paths match exactly; any method is served (as Go's ServeMux does); other paths get
 * Go's `404 page not found`. Transport-free: a handler for Node's http and http2 servers.
 */
export function createOhpqHttpHandler(options: OhpqHttpOptions): (req: Request, res: Response) => void {
  const { clients, brokerId, clock, logger } = options;
  const startMs = clock.now();
  const send = (res: Response, status: number, type: string, body: string) => {
    res.writeHead(status, {
      "content-type": type,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(body);
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/health") return send(res, 200, TEXT, "OK");
    if (path !== "/status" && path !== "/queues") return send(res, 404, TEXT, "404 page not found\n");
    clients.admin.getStats({}).then(
      (stats) => {
        const queues = queueCounts(stats);
        if (path === "/queues") return send(res, 200, JSON_TYPE, renderQueues(queues));
        const uptime = Math.max(0, Math.floor((clock.now() - startMs) / 1000));
        send(res, 200, JSON_TYPE, renderStatus(brokerId, uptime, queues.size));
      },
      (e: unknown) => {
        const reason = reasonOfAny(e);
        if (reason !== "SHUTTING_DOWN") logger.error("ohpq-http: stats failed", { path, reason, error: e });
        if (res.headersSent) res.end();
        else send(res, reason === "SHUTTING_DOWN" ? 503 : 500, TEXT, "stats unavailable\n");
      },
    );
  };
}
