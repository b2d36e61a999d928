import type { Duplex } from "node:stream";
import { type Client, ConnectError } from "@connectrpc/connect";
import type { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import type { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import type { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { BrokerError } from "../errors/index.js";

/**
 * Typed clients of our own Protobuf services: the only way a bridge reaches the broker
 * (docs/architecture.md). In production they run over `createRouterTransport(routes)` in-process.
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
  /**
   * `count` commands ran (default 1); `command` is the dialect's command name (a bounded set,
   * `unknown` otherwise).
   */
  command(bridge: string, command: string, count?: number): void;
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

/** The reason of a broker client error or of a {@link BrokerError} (the authenticator's). */
export function reasonOfAny(e: unknown): string | undefined {
  return e instanceof BrokerError ? e.reason : reasonOf(e);
}

/**
 * Reasons whose message is about the client's own input and safe to show in any dialect
 * (PUSH_SUBSCRIPTION: taking from a queue whose messages the broker pushes, such as an OPQ topic).
 */
const CLIENT_INPUT_REASONS = new Set([
  "INVALID_ARGUMENT",
  "INVALID_NAME",
  "PAYLOAD_TOO_LARGE",
  "BATCH_TOO_LARGE",
  "PUSH_SUBSCRIPTION",
]);

/** The broker's message of an error about the client's input (see above), else undefined. */
export function clientInputMessage(e: unknown): string | undefined {
  const reason = reasonOf(e);
  return reason !== undefined && CLIENT_INPUT_REASONS.has(reason) && e instanceof ConnectError
    ? e.rawMessage
    : undefined;
}

/** The metadata of a broker client error or of a {@link BrokerError}; empty if none. */
export function metadataOfAny(e: unknown): Record<string, string> {
  return e instanceof BrokerError ? e.metadata : metadataOf(e);
}

/**
 * The broker's users as an HTTP bridge uses them (README "Auth and TLS"): the server's
 * authenticator and its `clientsAs`. A bridge never checks permissions itself: it calls as the
 * request's principal and the server's interceptor answers.
 */
export interface HttpBridgeAuth<P = unknown> {
  readonly authenticator: {
    /** False when the broker has no users: requests then use the bridge's own clients. */
    readonly enabled: boolean;
    /** The `WWW-Authenticate` value that goes with a 401. */
    readonly wwwAuthenticate: string;
    /** The principal of an `Authorization` header (Basic or Bearer); rejects UNAUTHENTICATED. */
    fromHttpBasic(authorization: string | undefined, peer: string): Promise<P>;
  };
  /** In-process clients whose calls carry `principal`. */
  clientsAs(principal: P): BrokerClients;
}

/**
 * The clients one HTTP request acts with: `own` (the bridge's) when auth is off, else those of
 * the principal its `Authorization` header names. Rejects with the authenticator's
 * UNAUTHENTICATED error (missing, malformed or wrong credentials, or a throttled `peer`).
 */
export async function httpRequestClients(
  auth: HttpBridgeAuth | undefined,
  own: BrokerClients,
  authorization: string | undefined,
  peer: string,
): Promise<BrokerClients> {
  if (!auth?.authenticator.enabled) return own;
  return auth.clientsAs(await auth.authenticator.fromHttpBasic(authorization, peer));
}

/** What the broker answers an empty Publish by a caller its auth check lets through. */
const LET_THROUGH = new Set(["INVALID_ARGUMENT", "TOPIC_NOT_FOUND"]);

/**
 * Asks the broker whether `clients` may publish to `topic`, storing nothing: an empty Publish.
 * The server's auth check answers it before the core does, so the core's answer (INVALID_ARGUMENT
 * for an empty publish, or TOPIC_NOT_FOUND) means yes; anything else is thrown: PERMISSION_DENIED
 * or UNAUTHENTICATED, and whatever else failed (INVALID_NAME, shutting down). Bridges call it
 * before they create a topic that a user's publish needs, so a refused user creates nothing.
 */
export async function checkMayPublish(clients: BrokerClients, topic: string, signal?: AbortSignal): Promise<void> {
  try {
    await clients.publisher.publish({ topic, messages: [] }, signal ? { signal } : {});
  } catch (e) {
    if (!LET_THROUGH.has(reasonOf(e) ?? "")) throw e;
  }
}

/**
 * Asks the broker whether `clients` may consume from `topic`, taking nothing: a Read of at most
 * one message, ended at once. The server's auth check answers before the core does, so
 * TOPIC_NOT_FOUND means yes; PERMISSION_DENIED, UNAUTHENTICATED and other failures are thrown.
 * Bridges call it before they create a subscription for a user with their own clients.
 */
export async function checkMayConsume(clients: BrokerClients, topic: string): Promise<void> {
  const stop = new AbortController();
  try {
    const stream = clients.replay.read({ topic, follow: false, maxMessages: 1 }, { signal: stop.signal });
    for await (const _ of stream) break;
  } catch (e) {
    if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
  } finally {
    stop.abort();
  }
}
