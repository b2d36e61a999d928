import type { Duplex } from "node:stream";
import type { Logger } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients, TcpBridge } from "../bridge.js";
import { createCoalescer } from "./coalescer.js";
import { MAX_PUSH_BATCH_BYTES, publishDirect } from "./commands/push.js";
import { ackDirect, pullDirect } from "./commands/queue.js";
import { createConsumerRegistry } from "./consumers.js";
import { BRIDGE, type OkqCalls, type OkqContext, type OkqOptions, resolveOkqOptions } from "./context.js";
import { createQueueDirectory } from "./queue-directory.js";
import { RespSession } from "./session.js";

/** What the okQ bridge needs from the server. */
export interface OkqBridgeDeps {
  /** The server's own clients (implicit queue creation). */
  clients: BrokerClients;
  /**
   * The clients of a connection until it authenticates (with auth on, the broker refuses their
   * calls; a successful AUTH switches to the user's). Default `clients` (auth off).
   */
  clientsBeforeAuth?: BrokerClients;
  logger: Logger;
  metrics: BridgeMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
}

/**
 * The okQ bridge (README "okQ bridge (RESP)"): okQ's RESP dialect on the broker's Protobuf services. A
 * transport-free TCP bridge: the server (or a test, over `duplexPair()`) hands it connections.
 */
export function createOkqBridge(deps: OkqBridgeDeps, options: OkqOptions = {}): TcpBridge {
  const sessions = new Set<RespSession>();
  let clientIds = 0;
  const calls = new WeakMap<BrokerClients, OkqCalls>();
  const ctx: OkqContext = {
    callsFor(clients) {
      let c = calls.get(clients);
      if (!c) {
        c = createCalls(ctx, clients);
        calls.set(clients, c);
      }
      return c;
    },
    clients: deps.clients,
    clientsBeforeAuth: deps.clientsBeforeAuth ?? deps.clients,
    logger: deps.logger,
    metrics: deps.metrics,
    options: resolveOkqOptions(options),
    queues: createQueueDirectory(deps.clients),
    consumers: createConsumerRegistry(),
    shutdownSignal: deps.shutdownSignal,
    background: new Set(),
    input: { bytes: 0 },
    connections: () => sessions.size,
    nextClientId: () => ++clientIds,
  };
  const inFlight = () => [...sessions].filter((s) => s.busy).length + ctx.background.size;

  return {
    name: BRIDGE,
    connectionLimit: { maxConnections: ctx.options.maxConnections, refusal: "-ERR max number of clients reached\r\n" },
    handleConnection(socket: Duplex) {
      const session = new RespSession(socket, ctx, (s) => {
        sessions.delete(s);
        deps.metrics.connection(BRIDGE, -1);
      });
      sessions.add(session);
      deps.metrics.connection(BRIDGE, 1);
    },
    connections: () => sessions.size,
    inFlight,
    async close(graceMs) {
      const deadline = Date.now() + graceMs;
      // Idle sessions end on the shutdown signal; busy ones after their command.
      while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (ctx.background.size > 0)
        ctx.logger.warn("okq: NOBLOCK pushes cut short by shutdown", { count: ctx.background.size });
      for (const s of sessions) s.destroy();
      // Sockets report 'close' asynchronously; wait for them (bounded).
      const gone = Date.now() + 2_000;
      while (sessions.size > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

/**
 * One broker call per queue per loop turn (per user), at most the broker's batch and pull limits.
 * Acks of a queue keep one call in flight: the ids that arrive meanwhile go together when it ends
 * (a drain's 50 connections: about 280 Ack calls and 400 synced commits per 100,000 messages,
 * against 650–940 and 790–1,040 with one call per turn), so each commit carries more.
 */
function createCalls(ctx: OkqContext, clients: BrokerClients): OkqCalls {
  return {
    publish: createCoalescer(
      (queue, messages) => publishDirect(ctx, clients, queue, messages),
      1000,
      (m) => m.data?.length ?? 0,
      MAX_PUSH_BATCH_BYTES,
    ),
    pull: createCoalescer((key, slots) => pullDirect(clients, key, slots), 1000),
    ack: createCoalescer((queue, ids) => ackDirect(ctx, clients, queue, ids), 1000, undefined, undefined, 1),
  };
}

export type { OkqAuthenticator, OkqOptions, QstatusFormat } from "./context.js";
