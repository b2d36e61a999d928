import { unusableStoreCap } from "../store/kv/disk-space.js";
import { type Config, DEFAULT_CONFIG } from "./config-shape.js";
import {
  boolean,
  bridgePort,
  ConfigError,
  Expected,
  hostList,
  integer,
  maxStoreBytes,
  minFreeDisk,
  nonEmpty,
  oneOf,
  optionalPath,
  type Parser,
  port,
  prefixList,
  users,
} from "./parsers.js";

export { type Config, DEFAULT_CONFIG, type PortSetting } from "./config-shape.js";
export { ConfigError } from "./parsers.js";

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
  ackCommitDelayMs: { flag: "--ack-commit-delay-ms", parse: integer(0, 100) },
  commitDelayMs: { flag: "--commit-delay-ms", parse: integer(0, 100) },
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
  const floor = unusableStoreCap(config.maxStoreBytes, config.minFreeDisk);
  if (floor !== undefined) {
    throw new ConfigError(
      `--max-store-bytes ${config.maxStoreBytes} is not above the --min-free-disk floor it would keep free (${floor} bytes): no publish could ever be stored`,
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
