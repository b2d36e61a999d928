import type { PublishResult } from "../../../gen/switchyard/v1/publisher_pb.js";
import { type Clock, type Logger, systemClock } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridge.js";
import type { Coalesced } from "./coalescer.js";
import type { OutgoingMessage } from "./commands/push.js";
import type { ConsumerRegistry } from "./consumers.js";
import type { QueueDirectory } from "./queue-directory.js";
import type { Reply } from "./resp-encoder.js";

/** How `QSTATUS` answers: okQ b690c53's strings (the seed README) or 3ed64e7's nested arrays. */
export type QstatusFormat = "string" | "nested";

/**
 * Checks RESP `AUTH`/`HELLO AUTH` credentials against the broker's users. Without one the
 * bridge behaves like Redis with no password set (auth off).
 */
export interface OkqAuthenticator {
  /**
   * The clients the connection's commands then use (their calls carry the user, so the broker
   * decides what each may do), or undefined when the credentials are wrong. `peer`: the client's
   * address (repeated failures from one peer are slowed down).
   */
  login(username: string, password: string, peer: string): Promise<BrokerClients | undefined>;
}

/** Options of the okQ bridge. Every field has a default. */
export interface OkqOptions {
  /** Largest event contents in bytes (the broker's message size limit). Default 1 MiB. */
  maxMessageBytes?: number;
  /** Most arguments of one command. Default 65,536. */
  maxArrayLength?: number;
  /** Longest inline (telnet) command line. Default 64 KiB, as Redis. */
  maxInlineBytes?: number;
  /** Commands read ahead of the one executing before the connection stops reading. Default 1,024. */
  maxPendingCommands?: number;
  /**
   * Argument bytes read ahead of the executing command before the connection stops reading; each
   * argument counts `ARG_OVERHEAD_BYTES` (256) more than its length. Default 16 MiB.
   */
  maxPendingBytes?: number;
  /**
   * Argument bytes read ahead across all connections of the bridge (counted as for
   * `maxPendingBytes`). Past it, a connection that has commands waiting stops reading until they
   * ran; one with none still reads, so no connection starves. Default 64 MiB.
   */
  maxPendingBytesTotal?: number;
  /** How long a client may leave its replies unread (socket not draining) before it is dropped. Default 60 s. */
  drainTimeoutMs?: number;
  /** Longest `QRPOP ... EX` lease in seconds (the broker's longest ack deadline). Default 600. */
  maxLeaseSeconds?: number;
  /** Default `string` (the seed README); `nested` answers like okQ 3ed64e7. */
  qstatusFormat?: QstatusFormat;
  /** `NOBLOCK` pushes in flight before `-ERR too busy to process NOBLOCK event`. Default 1,024. */
  maxNoblockInFlight?: number;
  /** Most distinct queues one QREGISTER may name (QNOTIFY long-polls each of them). Default 256. */
  maxRegisteredQueues?: number;
  /**
   * Bound on the replies of one pipelined run of QRPOPs: a run takes at most
   * `max(1, floor(maxRunReplyBytes / maxMessageBytes))` pops, and the next run waits until the
   * socket drains. Default 16 MiB (16 pops of 1 MiB events).
   */
  maxRunReplyBytes?: number;
  /**
   * A connection with no command running (a blocked QNOTIFY counts as running) that sends
   * nothing for this long is closed without a reply, like Redis' `timeout`. Default 5 min; 0: never.
   */
  idleTimeoutMs?: number;
  /**
   * Most open connections: its listener answers one more `-ERR max number of clients reached`
   * and closes it, as Redis does past `maxclients`. Default 1,024.
   */
  maxConnections?: number;
  /** Times the idle timeout. Default the system clock (tests inject a fake one). */
  clock?: Clock;
  /** Checks credentials; absent: auth is off (Redis with no password configured). */
  authenticator?: OkqAuthenticator;
}

/** {@link OkqOptions} with every default filled in. */
export type ResolvedOkqOptions = Required<Omit<OkqOptions, "authenticator">> & { authenticator?: OkqAuthenticator };

/** Fills in the defaults of {@link OkqOptions}. */
export function resolveOkqOptions(o: OkqOptions): ResolvedOkqOptions {
  return {
    maxMessageBytes: o.maxMessageBytes ?? 1024 * 1024,
    maxArrayLength: o.maxArrayLength ?? 65_536,
    maxInlineBytes: o.maxInlineBytes ?? 64 * 1024,
    maxPendingCommands: o.maxPendingCommands ?? 1024,
    maxPendingBytes: o.maxPendingBytes ?? 16 * 1024 * 1024,
    maxPendingBytesTotal: o.maxPendingBytesTotal ?? 64 * 1024 * 1024,
    drainTimeoutMs: o.drainTimeoutMs ?? 60_000,
    maxLeaseSeconds: o.maxLeaseSeconds ?? 600,
    qstatusFormat: o.qstatusFormat ?? "string",
    maxNoblockInFlight: o.maxNoblockInFlight ?? 1024,
    maxRegisteredQueues: o.maxRegisteredQueues ?? 256,
    maxRunReplyBytes: o.maxRunReplyBytes ?? 16 * 1024 * 1024,
    idleTimeoutMs: o.idleTimeoutMs ?? 300_000,
    maxConnections: o.maxConnections ?? 1024,
    clock: o.clock ?? systemClock,
    ...(o.authenticator ? { authenticator: o.authenticator } : {}),
  };
}

/** Broker calls merged across the connections of one user per event-loop turn (see coalescer.ts). */
export interface OkqCalls {
  publish: Coalesced<OutgoingMessage, PublishResult>;
  /** Pops: one reply (an event or nil) per slot. */
  pull: Coalesced<null, Reply>;
  ack: Coalesced<string, Reply>;
}

/** What every command of every connection shares. */
export interface OkqContext {
  /** The server's own clients: creating implicit queues (after the user's permission is asked). */
  readonly clients: BrokerClients;
  /** The clients of a connection before AUTH (auth off: they may do everything). */
  readonly clientsBeforeAuth: BrokerClients;
  readonly logger: Logger;
  readonly metrics: BridgeMetrics;
  readonly options: ResolvedOkqOptions;
  readonly queues: QueueDirectory;
  readonly consumers: ConsumerRegistry;
  /** Aborted when the server shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** The merged calls of the connections that use `clients` (one set per user). */
  callsFor(clients: BrokerClients): OkqCalls;
  /** Argument bytes of the commands read ahead by every connection (bounded by `maxPendingBytesTotal`). */
  readonly input: { bytes: number };
  /** NOBLOCK pushes in flight (bounded by `maxNoblockInFlight`). */
  readonly background: Set<Promise<unknown>>;
  /** Open connections of the bridge (INFO). */
  connections(): number;
  /** The next connection id (CLIENT ID, HELLO). */
  nextClientId(): number;
}

/** The bridge's name in metrics and the ready line. */
export const BRIDGE = "okq";
