import type { UserConfig } from "../auth/index.js";
import type { Durability } from "../store/index.js";
import { DEFAULT_ACK_COMMIT_DELAY_MS, DEFAULT_COMMIT_DELAY_MS } from "../store/kv/commit-delays.js";
import { DEFAULT_MIN_FREE_DISK, type MinFreeDisk } from "../store/kv/disk-space.js";
import type { LogFormat, LogLevel } from "../util/index.js";

/** A bridge listener's port: a number (0 picks a free port) or `"off"` to disable it. */
export type PortSetting = number | "off";

/** Everything `switchyard serve` can be told, after defaults, config file and flags are merged. */
export interface Config {
  /** Directory of the LMDB environment. Default `./data`. */
  readonly dataDir: string;
  /** Address every listener binds to. Default `127.0.0.1` (loopback: auth is off by default). */
  readonly host: string;
  /** Port of the RPC listener (Connect, gRPC, gRPC-web, /metrics, /healthz). Default 7440; 0 picks one. */
  readonly port: number;
  /** okQ (RESP) bridge. Default 4777. */
  readonly okqPort: PortSetting;
  /** OPQ (HTTP form post) bridge. Default 8999. */
  readonly opqPort: PortSetting;
  /** RestMQ (HTTP REST, comet, websocket) bridge. Default 8888. */
  readonly restmqPort: PortSetting;
  /** "Oh, Please Queue" text TCP bridge. Default 8080. */
  readonly ohpqPort: PortSetting;
  /** "Oh, Please Queue" HTTP interface. Default 8081. */
  readonly ohpqHttpPort: PortSetting;
  /** GopherMQ (HTTP JSON) bridge. Default 8082. */
  readonly gophermqPort: PortSetting;
  /** GopherMQ metrics endpoint. Default 9001. */
  readonly gophermqMetricsPort: PortSetting;
  /** GopherMQ's `broker.max-pending`: a publish gets 429 while its subject has more pending messages. Default 10. */
  readonly gophermqMaxPending: number;
  /** How long a GopherMQ subscriber may go without a fetch before its subscription is deleted. Default 1 hour. */
  readonly gophermqIdleExpiryMs: number;
  /** Most live GopherMQ subscribers at once; a subscribe beyond it gets 429. Default 10,000. */
  readonly gophermqMaxSubscribers: number;
  /** Topics with their own `topic` label in `/metrics`; later ones fold into an empty label. Default 500. */
  readonly metricsMaxTopics: number;
  /** Subscriptions with their own `subscription` label in `/metrics`; the rest fold into an empty label. Default 1000. */
  readonly metricsMaxSubscriptions: number;
  /** When a write counts as done: `flush` (synced to disk, default), `commit`, or `none`. */
  readonly durability: Durability;
  /**
   * Longest time an Ack (or a background write) waits, while Publishes come often, to share the
   * next one's synced transaction: fewer syncs, the same answer. 0: never. Default 5 ms.
   */
  readonly ackCommitDelayMs: number;
  /**
   * Longest time a Publish (any write but an Ack) that finds no transaction in flight waits,
   * while Publishes come often, for the writes right behind it to share its synced transaction.
   * 0: never. Default 1 ms.
   */
  readonly commitDelayMs: number;
  /**
   * Publishes are refused (INSUFFICIENT_STORAGE) while the data directory's disk has less free
   * space than this: bytes, a percentage of the disk, or 0 for no floor. Default: 1 GiB or 5 %,
   * whichever is smaller.
   */
  readonly minFreeDisk: MinFreeDisk;
  /**
   * Most bytes the store's data file may use for new publishes, e.g. to share a disk: the
   * free-space gate treats the room left under it like free disk (the floor's percentage is then
   * of the smaller of the two). 0 (default): only the disk limits the store.
   */
  readonly maxStoreBytes: number;
  /** Largest message (data plus attributes) in bytes. Default 1 MiB. */
  readonly maxMessageBytes: number;
  /** How long shutdown waits for in-flight calls before closing connections. Default 10 s. */
  readonly shutdownGraceMs: number;
  /** Least severe log level written to stderr (`debug`, `info`, `warn`, `error`, `silent`). Default `info`. */
  readonly logLevel: LogLevel;
  /**
   * How log lines look: `json` (one object per line), `pretty` (text) or `auto` (the default:
   * pretty when stderr is a terminal, else json).
   */
  readonly logFormat: LogFormat;
  /**
   * Hosts push subscriptions may deliver to (`host`, `host:port`, `*.domain`, `[v6]:port`); empty
   * (the default): any host. The SSRF guard: set it when untrusted users create subscriptions.
   */
  readonly pushAllowedHosts: readonly string[];
  /** How the okQ bridge answers QSTATUS: `string` (the seed README, default) or `nested` (okQ 3ed64e7). */
  readonly okqQstatus: "string" | "nested";
  /** How long an okQ connection with no command running may send nothing before it is closed; 0: never. Default 5 min. */
  readonly okqIdleTimeoutMs: number;
  /** Most open okQ connections; more get `-ERR max number of clients reached`. Default 1024. */
  readonly okqMaxConnections: number;
  /**
   * Command bytes the okQ bridge reads ahead of execution across all connections (each argument
   * counts 256 bytes more than its length); past it, connections with commands waiting stop
   * reading. Default 64 MiB.
   */
  readonly okqMaxPendingBytesTotal: number;
  /**
   * The `broker_id` that the ohpq HTTP interface's `/status` reports (`broker_id` in an
   * Oh-Please-Queue config file). Default `switchyard`.
   */
  readonly ohpqBrokerId: string;
  /** Longest ohpq command line in bytes; a longer one gets `ERROR line too long` and the connection closes. Default 1 MiB. */
  readonly ohpqMaxLineBytes: number;
  /** How long an ohpq pending message waits for its ACK before it goes back to the queue; 0 (default): forever. */
  readonly ohpqAckTimeoutMs: number;
  /** How long an ohpq connection without SUB may send nothing before it is closed; 0: never. Default 5 min. */
  readonly ohpqIdleTimeoutMs: number;
  /** Most open ohpq connections; more are refused. Default 1024. */
  readonly ohpqMaxConnections: number;
  /** OPQ: any HTTP answer of a target counts as delivered (OPQ's own rule). Default false: a 5xx is retried. */
  readonly opqAnyResponse: boolean;
  /** OPQ: delivery attempts before a message goes to {@link opqDeadLetterTopic}; 0 (default): unlimited, it blocks its topic. */
  readonly opqMaxAttempts: number;
  /** OPQ: the dead-letter topic (created as a queue when needed) used with {@link opqMaxAttempts}. */
  readonly opqDeadLetterTopic: string;
  /** OPQ: how long one delivery attempt may take. Default 30 s, as OPQ. */
  readonly opqTimeoutMs: number;
  /** OPQ: how long delivered messages are kept for replay. Default 7 days. */
  readonly opqRetainMs: number;
  /**
   * The users (config file only). Undefined (the default): auth is off. Defined, even empty:
   * every door asks for credentials (README "Auth and TLS").
   */
  readonly users: readonly UserConfig[] | undefined;
  /** PEM certificate chain: with {@link tlsKey}, TLS on the RPC port and the TCP bridges. Reloaded on SIGHUP. */
  readonly tlsCert: string | undefined;
  /** PEM private key of {@link tlsCert}. */
  readonly tlsKey: string | undefined;
  /**
   * How the RestMQ bridge answers values that look like numbers: `number` (default, as RestMQ,
   * whose Redis client made `"42"` the number 42) or `string` (always the string added).
   */
  readonly restmqNumericValues: "number" | "string";
  /** Address prefixes the RestMQ bridge lets in (RestMQ's `hosts_allow`; `all` matches all). Empty: no allow list. */
  readonly restmqHostsAllow: readonly string[];
  /** Address prefixes the RestMQ bridge refuses with 401 (RestMQ's `hosts_deny`). Empty: none. */
  readonly restmqHostsDeny: readonly string[];
  /** Unflushed output one RestMQ live consumer may hold before it is dropped as too slow. Default 8 MiB. */
  readonly restmqMaxConsumerBufferBytes: number;
  /**
   * The lean unary path for Publish, Pull, Ack, Nack and ModifyAckDeadline over HTTP/2 (README
   * "Architecture"): `on` (default) or `off` (everything through connect-node, for debugging).
   */
  readonly leanRpc: "on" | "off";
  /** RPC port: most client connections at once (more are closed on accept). Default 1000. */
  readonly rpcMaxConnections: number;
  /** OPQ port: most client connections at once (more are closed on accept). Default 1000. */
  readonly opqMaxConnections: number;
  /** RestMQ port: most client connections at once, live consumers included. Default 1000. */
  readonly restmqMaxConnections: number;
  /** GopherMQ port: most client connections at once. Default 1000. */
  readonly gophermqMaxConnections: number;
  /** ohpq HTTP monitoring port: most client connections at once. Default 64. */
  readonly ohpqHttpMaxConnections: number;
  /**
   * RPC port: most bytes of request bodies being read at once, over all connections; a call that
   * would pass it fails with SERVER_BUSY. Never below the largest single request. Default 128 MiB.
   */
  readonly rpcMaxRequestBytesInFlight: number;
  /** Every HTTP port (RPC and bridges), HTTP/1.1: time a client has to send a request's headers. Default 20 s. */
  readonly httpHeadersTimeoutMs: number;
  /** Every HTTP port, HTTP/1.1: time a client has to send a whole request. Default 120 s. */
  readonly httpRequestTimeoutMs: number;
  /** Every HTTP port, HTTP/2: an idle session (no streams, no frames) is closed after this long; 0: never. Default 5 min. */
  readonly http2IdleTimeoutMs: number;
  /** Every HTTP port, HTTP/2: streams one session may have open at once. Default 100. */
  readonly http2MaxConcurrentStreams: number;
  /** Every HTTP port, HTTP/2: streams open at once across its sessions (new ones are refused past it). Default 10,000. */
  readonly http2MaxOpenStreams: number;
  /** Every HTTP port, HTTP/2: buffer limit per session in MiB (Node's maxSessionMemory). Default 32. */
  readonly http2MaxSessionMemoryMb: number;
}

/** The defaults of {@link Config} (README). */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  dataDir: "./data",
  host: "127.0.0.1",
  port: 7440,
  okqPort: 4777,
  opqPort: 8999,
  restmqPort: 8888,
  ohpqPort: 8080,
  ohpqHttpPort: 8081,
  gophermqPort: 8082,
  gophermqMetricsPort: 9001,
  gophermqMaxPending: 10,
  gophermqIdleExpiryMs: 3_600_000,
  gophermqMaxSubscribers: 10_000,
  metricsMaxTopics: 500,
  metricsMaxSubscriptions: 1000,
  durability: "flush",
  ackCommitDelayMs: DEFAULT_ACK_COMMIT_DELAY_MS,
  commitDelayMs: DEFAULT_COMMIT_DELAY_MS,
  minFreeDisk: DEFAULT_MIN_FREE_DISK,
  maxStoreBytes: 0,
  maxMessageBytes: 1024 * 1024,
  shutdownGraceMs: 10_000,
  logLevel: "info",
  logFormat: "auto",
  pushAllowedHosts: [],
  okqQstatus: "string",
  okqIdleTimeoutMs: 300_000,
  okqMaxConnections: 1024,
  okqMaxPendingBytesTotal: 64 * 1024 * 1024,
  ohpqBrokerId: "switchyard",
  ohpqMaxLineBytes: 1024 * 1024,
  ohpqAckTimeoutMs: 0,
  ohpqIdleTimeoutMs: 300_000,
  ohpqMaxConnections: 1024,
  opqAnyResponse: false,
  opqMaxAttempts: 0,
  opqDeadLetterTopic: "opq-dead-letters",
  opqTimeoutMs: 30_000,
  opqRetainMs: 7 * 24 * 3600 * 1000,
  users: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  restmqNumericValues: "number",
  restmqHostsAllow: [],
  restmqHostsDeny: [],
  restmqMaxConsumerBufferBytes: 8 * 1024 * 1024,
  leanRpc: "on",
  rpcMaxConnections: 1000,
  opqMaxConnections: 1000,
  restmqMaxConnections: 1000,
  gophermqMaxConnections: 1000,
  ohpqHttpMaxConnections: 64,
  rpcMaxRequestBytesInFlight: 128 * 1024 * 1024,
  httpHeadersTimeoutMs: 20_000,
  httpRequestTimeoutMs: 120_000,
  http2IdleTimeoutMs: 300_000,
  http2MaxConcurrentStreams: 100,
  http2MaxOpenStreams: 10_000,
  http2MaxSessionMemoryMb: 32,
});
