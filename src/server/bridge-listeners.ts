import type { AddressInfo } from "node:net";
import type { Authenticator, Principal } from "../auth/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridges/bridge.js";
import type { Config, PortSetting } from "../config/index.js";
import type { Logger } from "../util/index.js";
import type { ListenerSpec } from "./listen.js";
import type { ServerMetrics } from "./metrics/index.js";
import type { TlsSource } from "./tls-source.js";

/** What the server hands every bridge listener it creates. */
export interface BridgeListenerContext {
  /**
   * In-process clients of the broker's services, through the server interceptors, for the
   * server's own calls (creating a bridge's implicit queues, monitoring pages): they may do
   * everything. Calls made for a client go through {@link clientsAs}.
   */
  clients: BrokerClients;
  /** Checks credentials (`login`, `loginToken`, `fromHttpBasic`); `enabled` says whether auth is on. */
  auth: Authenticator;
  /**
   * In-process clients whose calls carry `principal` (from `auth`): the server interceptor then
   * answers UNAUTHENTICATED / PERMISSION_DENIED exactly as for a remote client. A bridge never
   * checks permissions itself. The same principal always gets the same clients.
   */
  clientsAs(principal: Principal): BrokerClients;
  /** TLS for the bridge's TCP listener (pass it to `createTcpListener`); undefined: plain TCP. */
  tls: TlsSource | undefined;
  config: Config;
  logger: Logger;
  metrics: BridgeMetrics;
  /** The server's Prometheus metrics (its registry, and side registries for bridge endpoints). */
  serverMetrics: ServerMetrics;
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
}

/** A created (not yet bound) bridge listener. */
export interface RunningBridgeListener {
  /** Binds; throws `ListenError` (port in use, …). */
  listen(spec: ListenerSpec, signal: AbortSignal): Promise<AddressInfo>;
  /** Stops accepting new connections; open ones stay until {@link close}. */
  stopAccepting(): void;
  /**
   * Graceful close: new commands or requests get the dialect's shutting-down answer; waits up to
   * `graceMs` for work in flight, then closes every connection. Resolves once all are gone.
   */
  close(graceMs: number): Promise<void>;
  /** Open client connections. */
  connections(): number;
}

/** One listener beside the RPC port: a bridge (okQ, …) or a bridge's side endpoint. */
export interface BridgeListenerDefinition {
  /** Key in the ready line and name in logs and errors, e.g. `okq`, `ohpq-http`. */
  readonly key: string;
  /** The flag that sets its port, e.g. `--okq-port`. */
  readonly flag: string;
  /** What it serves, for the start-up log line, e.g. `RESP`. */
  readonly serves: string;
  /** Its port setting in the config (`off` disables it). */
  port(config: Config): PortSetting;
  /** Builds it; nothing is bound yet. */
  create(context: BridgeListenerContext): RunningBridgeListener;
}
