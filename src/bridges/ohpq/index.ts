import type { Duplex } from "node:stream";
import type { Logger } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients, TcpBridge } from "../bridge.js";
import { createQueueDirectory } from "../okq/queue-directory.js";
import { BRIDGE, type OhpqAuthenticator, type OhpqContext, type OhpqOptions, resolveOhpqOptions } from "./context.js";
import { REPLY } from "./errors.js";
import { OhpqSession } from "./session.js";

/** What the ohpq bridge needs from the server. */
export interface OhpqBridgeDeps<P> {
  /**
   * The bridge's own clients: they create queues (the first PUB or SUB of a name), and act for
   * every connection while auth is off.
   */
  clients: BrokerClients;
  logger: Logger;
  metrics: BridgeMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
  /** The broker's users; absent: auth is off. */
  auth?: OhpqAuthenticator<P>;
  /** Clients whose calls carry `principal` (the server checks its permissions). Required with `auth`. */
  clientsAs?: (principal: P) => BrokerClients;
}

/**
 * The "Oh, Please Queue" bridge (the README section of that name): its line-based text protocol on the broker's
 * Protobuf services. A transport-free TCP bridge: the server (or a test, over `duplexPair()`)
 * hands it connections. A queue is a topic plus its same-name subscription; pending messages
 * are broker leases.
 */
export function createOhpqBridge<P>(deps: OhpqBridgeDeps<P>, options: OhpqOptions = {}): TcpBridge {
  const sessions = new Set<OhpqSession>();
  const released = new Set<Promise<void>>();
  let ids = 0;
  const { auth, clientsAs } = deps;
  if (auth?.enabled && !clientsAs) throw new Error("ohpq: clientsAs is required when auth is on");
  const ctx: OhpqContext = {
    logger: deps.logger,
    metrics: deps.metrics,
    options: resolveOhpqOptions(options),
    queues: createQueueDirectory(deps.clients),
    shutdownSignal: deps.shutdownSignal,
    authRequired: auth?.enabled === true,
    anonymousClients: deps.clients,
    bridgeClients: deps.clients,
    async login(user, password, peer) {
      if (!auth?.enabled || !clientsAs) return deps.clients;
      return clientsAs(await auth.login(user, password, peer));
    },
    nextConnectionId: () => ++ids,
  };
  const inFlight = () => [...sessions].filter((s) => s.busy).length;

  return {
    name: BRIDGE,
    // Enforced by the listener on real sockets too, so refused ones cannot linger half-open.
    connectionLimit: { maxConnections: ctx.options.maxConnections, refusal: REPLY.tooManyConnections },
    handleConnection(socket: Duplex) {
      if (sessions.size >= ctx.options.maxConnections) {
        deps.metrics.error(BRIDGE, "connection_limit");
        socket.on("error", () => socket.destroy());
        socket.end(REPLY.tooManyConnections);
        return;
      }
      const session = new OhpqSession(socket, ctx, (s) => {
        sessions.delete(s);
        const p = s.released.finally(() => released.delete(p));
        released.add(p);
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
      for (const s of sessions) s.destroy();
      // Sockets report 'close' asynchronously, and pending messages go back with broker calls:
      // wait for both (bounded) so the broker is still open for them.
      const gone = Date.now() + 2_000;
      while (sessions.size > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 5));
      await Promise.race([Promise.allSettled([...released]), new Promise((r) => setTimeout(r, 2_000).unref())]);
    },
  };
}

export type { OhpqAuthenticator, OhpqOptions } from "./context.js";
