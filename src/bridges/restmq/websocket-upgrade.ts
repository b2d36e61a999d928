import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { BadArgumentError, unquote } from "./arguments.js";
import { checkQueueName } from "./call.js";
import { BRIDGE, type RestmqContext } from "./context.js";
import { toHttpError } from "./errors.js";
import { errorPage, HTML, HttpError, phrase, SERVER } from "./http-io.js";
import { WebsocketConsumer } from "./live/websocket.js";
import { attachLive, prepareLiveConsumer } from "./queue-handlers.js";
import { splitTarget } from "./routes.js";

/** Answers a refused handshake with cyclone's error page and closes the socket. */
function refuse(socket: Duplex, error: HttpError): void {
  if (socket.destroyed) return;
  const body = errorPage(error.status);
  const headers = Object.entries(error.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${error.status} ${phrase(error.status)}\r\nServer: ${SERVER}\r\nContent-Type: ${HTML}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${headers}\r\n${body}`,
  );
}

/**
 * Websocket consumers on `/ws/<queue>` (the `ws` package, no server of its own). The handshake is
 * checked first: host rules, then the `auth=user:password` cookie when the broker has users (401
 * otherwise, as RestMQ), then the reader's right to read the queue (which need not exist yet);
 * only then is the connection upgraded. Frames are at most `maxWebsocketFrameBytes` (a larger one closes with 1009).
 */
export function createWebsocketUpgrade(
  ctx: RestmqContext,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: ctx.options.maxWebsocketFrameBytes,
  });
  const bounds = {
    highWaterBytes: ctx.options.consumerHighWaterBytes,
    maxBufferedBytes: ctx.options.maxConsumerBufferBytes,
  };

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const command = "ws.get";
    try {
      const m = /^\/ws\/(.*)$/.exec(splitTarget(req.url ?? "/").path);
      if (!m) throw new HttpError(404);
      if (req.method !== "GET") throw new HttpError(405);
      ctx.metrics.command(BRIDGE, command);
      const clients = await ctx.access.clientsFor(req, true);
      const name = checkQueueName(ctx, unquote(m[1] ?? ""));
      if (name === "") throw new HttpError(400, "Invalid Queue Name");
      await ctx.settings.ready();
      const reservation = await prepareLiveConsumer(ctx, clients, name);
      if (socket.destroyed) {
        reservation.release();
        return;
      }
      // ws answers a handshake it refuses itself and never calls back: the place is given back on close.
      socket.once("close", () => reservation.release());
      wss.handleUpgrade(req, socket, head, (ws) => {
        attachLive(ctx, reservation, new WebsocketConsumer(name, clients, bounds, ws));
      });
    } catch (e) {
      const error = e instanceof BadArgumentError ? new HttpError(400, e.message) : toHttpError(e, ctx.logger, command);
      ctx.metrics.error(BRIDGE, command);
      refuse(socket, error);
    }
  }

  return (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    if (ctx.shutdownSignal.aborted) {
      refuse(socket, new HttpError(503));
      return;
    }
    void upgrade(req, socket, head);
  };
}
