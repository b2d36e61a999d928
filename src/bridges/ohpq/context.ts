import type { Logger } from "../../util/index.js";
import { type Clock, systemClock } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridge.js";
import type { QueueDirectory } from "../okq/queue-directory.js";

/** The bridge's name in metrics, logs and the ready line. */
export const BRIDGE = "ohpq";

/**
 * What `AUTH` needs from the broker's users: the part of the server's authenticator this bridge
 * uses. Wrong credentials reject (with a `BrokerError` or `ConnectError` of reason
 * UNAUTHENTICATED); the bridge never checks permissions itself, the server does on every call
 * made with the principal's clients.
 */
export interface OhpqAuthenticator<P> {
  /** False: auth is off, connections start authenticated and `AUTH` accepts anything. */
  readonly enabled: boolean;
  /** The principal these credentials name. `peer` is the client's address (for throttling and logs). */
  login(user: string, password: string, peer: string): Promise<P>;
}

/** Options of the ohpq bridge. Every field has a default. */
export interface OhpqOptions {
  /** Longest command line in bytes, not counting its `\n` or `\r\n`. Longer: `ERROR line too long`, then close. Default 1 MiB. */
  maxLineBytes?: number;
  /** Lines read ahead of the one executing before the connection stops reading. Default 1,024. */
  maxPendingLines?: number;
  /** Bytes of lines read ahead of the one executing before the connection stops reading. Default 4 MiB. */
  maxPendingBytes?: number;
  /** How long a client may leave its replies unread (socket not draining) before it is dropped. Default 60 s. */
  drainTimeoutMs?: number;
  /**
   * How long a connection may send nothing before it is closed (`ERROR idle timeout`); a
   * connection with a `SUB` (it waits for pushes) or a pending message (its consumer is working
   * on it: closing would redeliver it, an ack timeout the spec leaves off by default) is never
   * idle. 0: never. Default 5 min.
   */
  idleTimeoutMs?: number;
  /** Open connections at most; one more gets `ERROR too many connections` and is closed. Default 1,024. */
  maxConnections?: number;
  /** Queues one connection may `SUB` to. Default 64. */
  maxSubscriptions?: number;
  /**
   * Messages one connection may hold pending from `GET` at once (one per queue); a `GET` of
   * another queue beyond it answers `ERROR too many pending messages`. Default 64.
   */
  maxPendingMessages?: number;
  /**
   * When set, a pending message not acked within this time goes back to its queue (redelivered
   * with its delivery count raised), as if the connection had closed. 0: off (the default), a
   * pending message stays with its connection until ACK or disconnect. At most 10 min.
   */
  ackTimeoutMs?: number;
  /**
   * Length of the broker lease behind a pending message while the ack timeout is off; renewed
   * every third of it while the message stays pending, so after a crash of the broker the
   * message is available again within this time. Default 60 s.
   */
  pendingLeaseMs?: number;
  /** Timers (ack timeout, lease renewal, idle timeout). Default: the system clock. */
  clock?: Clock;
}

/** {@link OhpqOptions} with every default filled in. */
export type ResolvedOhpqOptions = Required<OhpqOptions>;

/** Fills in the defaults of {@link OhpqOptions}. */
export function resolveOhpqOptions(o: OhpqOptions): ResolvedOhpqOptions {
  return {
    maxLineBytes: o.maxLineBytes ?? 1024 * 1024,
    maxPendingLines: o.maxPendingLines ?? 1024,
    maxPendingBytes: o.maxPendingBytes ?? 4 * 1024 * 1024,
    drainTimeoutMs: o.drainTimeoutMs ?? 60_000,
    idleTimeoutMs: o.idleTimeoutMs ?? 300_000,
    maxConnections: o.maxConnections ?? 1024,
    maxSubscriptions: o.maxSubscriptions ?? 64,
    maxPendingMessages: o.maxPendingMessages ?? 64,
    ackTimeoutMs: o.ackTimeoutMs ?? 0,
    pendingLeaseMs: o.pendingLeaseMs ?? 60_000,
    clock: o.clock ?? systemClock,
  };
}

/** What every connection of the bridge shares. */
export interface OhpqContext {
  readonly logger: Logger;
  readonly metrics: BridgeMetrics;
  readonly options: ResolvedOhpqOptions;
  /** Creates queues (topic plus same-name subscription) with the bridge's own clients. */
  readonly queues: QueueDirectory;
  /** Aborted when the server shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** True when connections must `AUTH` first. */
  readonly authRequired: boolean;
  /** The clients of a connection before `AUTH` (used only when auth is off). */
  readonly anonymousClients: BrokerClients;
  /** The bridge's own clients, for what no user asks for (reading a queue's settings); never a user's data. */
  readonly bridgeClients: BrokerClients;
  /** Checks credentials; resolves with the clients that act as that user. Rejects on bad credentials. */
  login(user: string, password: string, peer: string): Promise<BrokerClients>;
  /** The next connection id (logs). */
  nextConnectionId(): number;
}
