import type { Duplex } from "node:stream";
import { type Client, ConnectError } from "@connectrpc/connect";
import type { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import type { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import type { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";

/**
 * Typed clients of our own Protobuf services: the only way a bridge reaches the broker
 * (architecture.md §2.3). In production they run over `createRouterTransport(routes)` in-process.
 */
export interface BrokerClients {
  publisher: Client<typeof PublisherService>;
  subscriber: Client<typeof SubscriberService>;
  replay: Client<typeof ReplayService>;
  admin: Client<typeof AdminService>;
}

/** Counters a bridge reports; the server renders them on `/metrics`. */
export interface BridgeMetrics {
  /** A client connected (`+1`) or went away (`-1`). */
  connection(bridge: string, delta: 1 | -1): void;
  /** A command ran; `command` is the dialect's command name (a bounded set, `unknown` otherwise). */
  command(bridge: string, command: string): void;
  /** A command was answered with an error, or the connection failed. */
  error(bridge: string, command: string): void;
}

/** Metrics that go nowhere (unit tests). */
export const noMetrics: BridgeMetrics = { connection() {}, command() {}, error() {} };

/** A bridge serving a TCP dialect: the server hands it each accepted connection. */
export interface TcpBridge {
  /** Key of its listener in the ready line, e.g. `okq`. */
  readonly name: string;
  /**
   * The most connections its listener keeps open, and the dialect's refusal written to one past
   * it before it is closed (e.g. RESP's `-ERR max number of clients reached`). Absent: no cap.
   */
  readonly connectionLimit?: { readonly maxConnections: number; readonly refusal: string };
  /** Serves one connection until it closes. Never throws; transport-free (any Duplex works). */
  handleConnection(socket: Duplex): void;
  /** Open connections. */
  connections(): number;
  /** Commands being executed right now (for the shutdown grace period). */
  inFlight(): number;
  /**
   * Graceful close: new commands get the dialect's shutting-down error; waits up to `graceMs`
   * for commands in flight, then closes every connection.
   */
  close(graceMs: number): Promise<void>;
}

/** The stable reason of an error from a broker client (`ErrorDetail.reason`), if it has one. */
export function reasonOf(e: unknown): string | undefined {
  if (!(e instanceof ConnectError)) return undefined;
  return e.findDetails(ErrorDetailSchema)[0]?.reason;
}

/** The metadata of an error from a broker client (`ErrorDetail.metadata`); empty if none. */
export function metadataOf(e: unknown): Record<string, string> {
  if (!(e instanceof ConnectError)) return {};
  return e.findDetails(ErrorDetailSchema)[0]?.metadata ?? {};
}
