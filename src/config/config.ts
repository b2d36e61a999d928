import { parseUsers, type UserConfig, UserSettingError } from "../auth/index.js";
import type { Durability } from "../store/index.js";
import { DEFAULT_MIN_FREE_DISK, type MinFreeDisk, minFreeBytes } from "../store/kv/disk-space.js";
import { type LogFormat, type LogLevel, parseHostPattern } from "../util/index.js";

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

/** A bad configuration value; the message names the flag or config key and what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Parser<T> = (raw: unknown) => T;

/**
 * Thrown by parsers with only the expectation; the caller prefixes where the value came from.
 * `path` names a place inside the value (`[1].roles[0]`); `secret` values are never echoed.
 */
class Expected extends Error {
  constructor(
    message: string,
    readonly path = "",
    readonly secret = false,
  ) {
    super(message);
  }
}

function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Expected(`an integer from ${min} to ${max}`);
    }
    return n;
  };
}

const port = integer(0, 65535);
const bridgePort: Parser<PortSetting> = (raw) => {
  if (raw === "off" || raw === false) return "off";
  try {
    return port(raw);
  } catch {
    throw new Expected('a port from 0 to 65535, or "off"');
  }
};

function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    if (typeof raw === "string" && (values as string[]).includes(raw)) return raw as T;
    throw new Expected(`one of ${values.join(", ")}`);
  };
}

/** A switch: a flag without a value is true; a config file says true or false. */
const boolean: Parser<boolean> = (raw) => {
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  throw new Expected("true or false");
};

const nonEmpty: Parser<string> = (raw) => {
  if (typeof raw !== "string" || raw.trim() === "") throw new Expected("a non-empty string");
  return raw;
};

const optionalPath: Parser<string | undefined> = (raw) => (raw === undefined ? undefined : nonEmpty(raw));

/** The `users` list (auth/users.ts); messages name the entry and key, never a password. */
const users: Parser<readonly UserConfig[] | undefined> = (raw) => {
  if (raw === undefined) return undefined;
  try {
    return parseUsers(raw);
  } catch (e) {
    if (e instanceof UserSettingError) throw new Expected(e.expected, e.path, true);
    throw e;
  }
};

/** A list of host patterns: a YAML/JSON list of strings, or one comma-separated string (flags). */
const hostList: Parser<readonly string[]> = (raw) => {
  const items = typeof raw === "string" ? raw.split(",") : raw;
  if (!Array.isArray(items) || items.some((i) => typeof i !== "string")) {
    throw new Expected("a list of host patterns (host, host:port or *.domain), comma-separated in a flag");
  }
  const patterns = (items as string[]).map((i) => i.trim()).filter((i) => i !== "");
  const bad = patterns.find((p) => parseHostPattern(p) === undefined);
  if (bad !== undefined) throw new Expected(`host patterns (host, host:port or *.domain); "${bad}" is not one`);
  return Object.freeze(patterns);
};

/** A list of address prefixes: a YAML/JSON list of strings, or one comma-separated string (flags). */
const prefixList: Parser<readonly string[]> = (raw) => {
  const items = typeof raw === "string" ? raw.split(",") : raw;
  if (!Array.isArray(items) || items.some((i) => typeof i !== "string")) {
    throw new Expected("a list of address prefixes (e.g. 10.0.,127.0.0.1 or all), comma-separated in a flag");
  }
  return Object.freeze((items as string[]).map((i) => i.trim()).filter((i) => i !== ""));
};

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** An already parsed floor (a validated config is validated again). */
function isMinFreeDisk(raw: object): raw is MinFreeDisk {
  const { bytes, percent, ...rest } = raw as Record<string, unknown>;
  const okBytes = bytes === undefined || (Number.isSafeInteger(bytes) && (bytes as number) >= 0);
  const okPercent = percent === undefined || (typeof percent === "number" && percent >= 0 && percent <= 100);
  return okBytes && okPercent && Object.keys(rest).length === 0;
}

/** Bytes with an optional unit (`1073741824`, `512MiB`, `2GB`, `1g`), or undefined when it is not one. */
function parseBytes(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== "string") return undefined;
  const bytes = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = BYTE_UNITS[(bytes?.[2] ?? "").toLowerCase()];
  if (!bytes || unit === undefined) return undefined;
  const n = Math.floor(Number(bytes[1]) * unit);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Smallest `--max-store-bytes` (besides 0): room for the catalog and a few messages. */
const MIN_MAX_STORE_BYTES = 16 * 1024 * 1024;

/** A store cap: bytes with a unit, at least 16 MiB, or 0 for none. */
const maxStoreBytes: Parser<number> = (raw) => {
  const n = parseBytes(raw);
  if (n === undefined || (n !== 0 && n < MIN_MAX_STORE_BYTES)) {
    throw new Expected("bytes of at least 16MiB (e.g. 50GiB, 2TB), or 0 for no cap");
  }
  return n;
};

/** A free-space floor: `N%` of the disk, or bytes (`1073741824`, `512MiB`, `2GB`, `1g`); 0: none. */
const minFreeDisk: Parser<MinFreeDisk> = (raw) => {
  const expected = 'bytes (e.g. 1073741824, 512MiB, 2GB), a percentage of the disk (e.g. "5%"), or 0 for none';
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return Object.freeze({ bytes: raw });
  if (typeof raw === "object" && raw !== null && isMinFreeDisk(raw)) return raw;
  if (typeof raw !== "string") throw new Expected(expected);
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
  if (percent) {
    const p = Number(percent[1]);
    if (p > 100) throw new Expected(expected);
    return Object.freeze({ percent: p });
  }
  const n = parseBytes(raw);
  if (n === undefined) throw new Expected(expected);
  return Object.freeze({ bytes: n });
};

/** How one setting is given: its flag (also a config file key without the dashes) and parser. */
export interface SettingSpec<T> {
  readonly flag: string;
  readonly parse: Parser<T>;
  /** A `switch` flag takes no value on the command line (`--opq-any-response`). */
  readonly switch?: true;
  /** Only in the config file (no flag), e.g. `users`. */
  readonly fileOnly?: boolean;
}

/** Each setting: its flag (also accepted as a config file key without the dashes) and parser. */
export const SETTINGS: { readonly [K in keyof Config]: SettingSpec<Config[K]> } = {
  dataDir: { flag: "--data-dir", parse: nonEmpty },
  host: { flag: "--host", parse: nonEmpty },
  port: { flag: "--port", parse: port },
  okqPort: { flag: "--okq-port", parse: bridgePort },
  opqPort: { flag: "--opq-port", parse: bridgePort },
  restmqPort: { flag: "--restmq-port", parse: bridgePort },
  ohpqPort: { flag: "--ohpq-port", parse: bridgePort },
  ohpqHttpPort: { flag: "--ohpq-http-port", parse: bridgePort },
  gophermqPort: { flag: "--gophermq-port", parse: bridgePort },
  gophermqMetricsPort: { flag: "--gophermq-metrics-port", parse: bridgePort },
  gophermqMaxPending: { flag: "--gophermq-max-pending", parse: integer(0, 1_000_000_000) },
  gophermqIdleExpiryMs: { flag: "--gophermq-idle-expiry-ms", parse: integer(1000, 365 * 24 * 3_600_000) },
  gophermqMaxSubscribers: { flag: "--gophermq-max-subscribers", parse: integer(1, 10_000_000) },
  metricsMaxTopics: { flag: "--metrics-max-topics", parse: integer(0, 100_000) },
  metricsMaxSubscriptions: { flag: "--metrics-max-subscriptions", parse: integer(0, 100_000) },
  durability: { flag: "--durability", parse: oneOf("flush", "commit", "none") },
  minFreeDisk: { flag: "--min-free-disk", parse: minFreeDisk },
  maxStoreBytes: { flag: "--max-store-bytes", parse: maxStoreBytes },
  maxMessageBytes: { flag: "--max-message-bytes", parse: integer(1, 256 * 1024 * 1024) },
  shutdownGraceMs: { flag: "--shutdown-grace-ms", parse: integer(0, 3_600_000) },
  logLevel: { flag: "--log-level", parse: oneOf("debug", "info", "warn", "error", "silent") },
  logFormat: { flag: "--log-format", parse: oneOf("auto", "json", "pretty") },
  pushAllowedHosts: { flag: "--push-allowed-hosts", parse: hostList },
  okqQstatus: { flag: "--okq-qstatus", parse: oneOf("string", "nested") },
  okqIdleTimeoutMs: { flag: "--okq-idle-timeout-ms", parse: integer(0, 86_400_000) },
  okqMaxConnections: { flag: "--okq-max-connections", parse: integer(1, 1_000_000) },
  okqMaxPendingBytesTotal: {
    flag: "--okq-max-pending-bytes-total",
    parse: integer(1024 * 1024, 64 * 1024 * 1024 * 1024),
  },
  opqAnyResponse: { flag: "--opq-any-response", parse: boolean, switch: true },
  opqMaxAttempts: { flag: "--opq-max-attempts", parse: integer(0, 1000) },
  opqDeadLetterTopic: { flag: "--opq-dead-letter-topic", parse: nonEmpty },
  opqTimeoutMs: { flag: "--opq-timeout-ms", parse: integer(1, 300_000) },
  opqRetainMs: { flag: "--opq-retain-ms", parse: integer(0, 365 * 24 * 3600 * 1000) },
  ohpqBrokerId: { flag: "--ohpq-broker-id", parse: nonEmpty },
  ohpqMaxLineBytes: { flag: "--ohpq-max-line-bytes", parse: integer(1024, 64 * 1024 * 1024) },
  ohpqAckTimeoutMs: { flag: "--ohpq-ack-timeout-ms", parse: integer(0, 600_000) },
  ohpqIdleTimeoutMs: { flag: "--ohpq-idle-timeout-ms", parse: integer(0, 86_400_000) },
  ohpqMaxConnections: { flag: "--ohpq-max-connections", parse: integer(1, 1_000_000) },
  leanRpc: { flag: "--lean-rpc", parse: oneOf("on", "off") },
  rpcMaxConnections: { flag: "--rpc-max-connections", parse: integer(1, 1_000_000) },
  opqMaxConnections: { flag: "--opq-max-connections", parse: integer(1, 1_000_000) },
  restmqMaxConnections: { flag: "--restmq-max-connections", parse: integer(1, 1_000_000) },
  gophermqMaxConnections: { flag: "--gophermq-max-connections", parse: integer(1, 1_000_000) },
  ohpqHttpMaxConnections: { flag: "--ohpq-http-max-connections", parse: integer(1, 1_000_000) },
  rpcMaxRequestBytesInFlight: {
    flag: "--rpc-max-request-bytes-in-flight",
    parse: integer(1024 * 1024, Number.MAX_SAFE_INTEGER),
  },
  httpHeadersTimeoutMs: { flag: "--http-headers-timeout-ms", parse: integer(100, 3_600_000) },
  httpRequestTimeoutMs: { flag: "--http-request-timeout-ms", parse: integer(100, 3_600_000) },
  http2IdleTimeoutMs: { flag: "--http2-idle-timeout-ms", parse: integer(0, 86_400_000) },
  http2MaxConcurrentStreams: { flag: "--http2-max-concurrent-streams", parse: integer(1, 1_000_000) },
  http2MaxOpenStreams: { flag: "--http2-max-open-streams", parse: integer(1, 1_000_000) },
  http2MaxSessionMemoryMb: { flag: "--http2-max-session-memory-mb", parse: integer(1, 65_536) },
  restmqNumericValues: { flag: "--restmq-numeric-values", parse: oneOf("number", "string") },
  restmqHostsAllow: { flag: "--restmq-hosts-allow", parse: prefixList },
  restmqHostsDeny: { flag: "--restmq-hosts-deny", parse: prefixList },
  restmqMaxConsumerBufferBytes: {
    flag: "--restmq-max-consumer-buffer-bytes",
    parse: integer(64 * 1024, 1024 * 1024 * 1024),
  },
  users: { flag: "--users", parse: users, fileOnly: true },
  tlsCert: { flag: "--tls-cert", parse: optionalPath },
  tlsKey: { flag: "--tls-key", parse: optionalPath },
};

/** Where a setting comes from in messages: its flag, or its key for config-file-only settings. */
export function settingName(key: keyof Config): string {
  const spec = SETTINGS[key];
  return spec.fileOnly ? key : spec.flag;
}

/** The config keys, in declaration order. */
export const CONFIG_KEYS = Object.keys(SETTINGS) as (keyof Config)[];

/**
 * Parses one raw value (a flag's string, or a config file's string/number) for `key`.
 * `where` names its origin in the error message, e.g. `--port` or `config file x.yaml: port`.
 */
export function parseSetting<K extends keyof Config>(key: K, raw: unknown, where: string): Config[K] {
  try {
    return SETTINGS[key].parse(raw);
  } catch (e) {
    if (!(e instanceof Expected)) throw e;
    if (e.secret) throw new ConfigError(`invalid ${where}${e.path}: expected ${e.message}`);
    throw new ConfigError(`invalid ${where} ${JSON.stringify(raw)}: expected ${e.message}`);
  }
}

/** The listeners with a port, keyed like the ready line, with the config key of each. */
export const LISTENER_PORTS = [
  ["rpc", "port"],
  ["okq", "okqPort"],
  ["opq", "opqPort"],
  ["restmq", "restmqPort"],
  ["ohpq", "ohpqPort"],
  ["ohpq-http", "ohpqHttpPort"],
  ["gophermq", "gophermqPort"],
  ["gophermq-metrics", "gophermqMetricsPort"],
] as const satisfies readonly (readonly [string, keyof Config])[];

/**
 * Checks a whole config and returns a frozen copy: every field (missing fields take
 * {@link DEFAULT_CONFIG}) and that no two listeners ask for the same fixed port.
 * Throws {@link ConfigError} naming the flag at fault.
 */
export function validateConfig(input: Partial<Config>): Config {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    out[key] = parseSetting(key, input[key] ?? DEFAULT_CONFIG[key], settingName(key));
  }
  const config = out as unknown as Config;
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
    throw new ConfigError(
      `--http-headers-timeout-ms ${config.httpHeadersTimeoutMs} is longer than --http-request-timeout-ms ${config.httpRequestTimeoutMs}: the headers are part of the request`,
    );
  }
  if (config.maxStoreBytes > 0 && minFreeBytes(config.minFreeDisk, config.maxStoreBytes) >= config.maxStoreBytes) {
    throw new ConfigError(
      `--max-store-bytes ${config.maxStoreBytes} is not above the --min-free-disk floor it would keep free (${minFreeBytes(config.minFreeDisk, config.maxStoreBytes)} bytes): no publish could ever be stored`,
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both, or neither");
  }
  const used = new Map<number, string>();
  for (const [, key] of LISTENER_PORTS) {
    const p = config[key];
    if (p === "off" || p === 0) continue;
    const other = used.get(p);
    if (other) throw new ConfigError(`${SETTINGS[key].flag} ${p} is already taken by ${other}: choose another port`);
    used.set(p, SETTINGS[key].flag);
  }
  return Object.freeze(config);
}
