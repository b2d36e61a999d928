/**
 * The RPC port's connect-node request handler: `connectNodeAdapter` of @connectrpc/connect-node
 * 2.1.2 (the package's connect-node-adapter module) rebuilt from the same public parts
 * (`createConnectRouter`, `universalRequestFromNodeRequest`, `universalResponseToNodeResponse`),
 * with one difference: what happens when a response cannot be written.
 *
 * connect-node writes `handler for rpc … failed` and a stack to stderr with `console.error`
 * (bypassing the broker's logger) for every such failure but `ABORTED`. A client that resets a
 * stream with an error code (RST_STREAM INTERNAL_ERROR, …) or whose connection goes with one
 * while a write of the response waits for flow control fails that write with
 * `ERR_HTTP2_STREAM_ERROR` or `ERR_HTTP2_SESSION_ERROR` (`INTERNAL`): one stack trace per reset,
 * as many as a hostile client cares to cause (test/integration/rpc-h2-resets.test.ts). Here a
 * failure whose client is gone (its stream or connection closed) is the client's doing: counted
 * (the HTTP/2 streams in `switchyard_rpc_streams_reset_total`, see http2-streams.ts) and logged at
 * debug at most once a second. A failure while the client is still there (a response header
 * Node refuses, a bug) is logged as an error with its stack, and the response is reset so the
 * client does not wait for it forever.
 *
 * @module
 */
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import {
  type ConnectNodeAdapterOptions,
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "../util/index.js";
import type { NodeHandler } from "./one-port-options.js";
import { rateLimitedDebug } from "./rate-limited-debug.js";
import { markServerEnded } from "./server-ended.js";

/** Options of {@link createConnectAdapter}: connect-node's own, a fallback and the logger. */
export interface ConnectAdapterOptions extends ConnectNodeAdapterOptions {
  /** Serves requests whose path is no RPC (`/metrics`, `/healthz`); default 404. */
  fallback?: NodeHandler;
  /** Where failed responses are reported (errors) and gone clients noted (debug). */
  logger: Logger;
  /** Least time between two debug lines about gone clients (the ones between are counted). Default 1 s. */
  goneLogIntervalMs?: number;
}

type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];

/**
 * Whether the client of `req` is gone: its HTTP/2 stream (or its session) closed, or its HTTP/1.1
 * connection. A response that fails while it is there failed for another reason.
 */
function clientGone(req: NodeRequest, res: NodeResponse): boolean {
  if ("stream" in req) {
    const { stream } = req;
    return stream.destroyed || stream.closed || stream.session === undefined || stream.session.destroyed;
  }
  return req.socket.destroyed || (res as { destroyed?: boolean }).destroyed === true;
}

/** Creates the request handler of every route in `options.routes` (see the module comment). */
export function createConnectAdapter(options: ConnectAdapterOptions): NodeHandler {
  const { logger } = options;
  const router = createConnectRouter({
    ...options,
    acceptCompression: options.acceptCompression ?? [compressionGzip, compressionBrotli],
  });
  options.routes(router);
  const prefix = options.requestPathPrefix ?? "";
  const paths = new Map<string, (typeof router.handlers)[number]>();
  for (const h of router.handlers) paths.set(prefix + h.requestPath, h);
  const fallback = options.fallback ?? notFound;
  const noteGone = rateLimitedDebug(
    logger,
    "rpc response not written: the client reset the stream or left",
    options.goneLogIntervalMs ?? 1_000,
  );

  return function connectHandler(req, res) {
    // The query is not part of the path (as in connect-node).
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const handler = paths.get(q < 0 ? url : url.slice(0, q));
    if (handler === undefined) {
      fallback(req, res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        // connect-node's own rule: the client hung up (a write after the end, a destroyed stream).
        if (ConnectError.from(reason).code === Code.Aborted) return;
        const rpc = `${handler.service.typeName}/${handler.method.name}`;
        if (clientGone(req, res)) {
          noteGone({ rpc, reason: reason instanceof Error ? reason.message : String(reason) });
          return;
        }
        logger.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, {
          rpc,
          error: reason,
        });
        // The response cannot be finished: reset it (RST_STREAM INTERNAL_ERROR on HTTP/2, the
        // connection on HTTP/1.1) rather than leave the client waiting for the rest.
        if ("stream" in req) markServerEnded(req.stream);
        res.destroy(reason instanceof Error ? reason : undefined);
      });
  } as NodeHandler;
}

/** 404 with no body, as connect-node answers a path it does not serve. */
function notFound(_req: NodeRequest, res: NodeResponse): void {
  res.writeHead(404);
  res.end();
}
