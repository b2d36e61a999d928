/** Server-wide limits of the core. Every field has a unit in its name. */
export interface BrokerLimits {
  /** Largest `data` plus attributes of one message. Default 1 MiB. */
  maxMessageBytes: number;
  /** Most messages in one Publish. Default 1000. */
  maxBatchMessages: number;
  /** Largest total size of one Publish. Default 16 MiB. */
  maxBatchBytes: number;
  /** Most messages one Pull or Peek returns. Default 1000. */
  maxPullMessages: number;
  /** What `max_messages: 0` means. Default 100. */
  defaultPullMessages: number;
  /**
   * Most bytes of messages in one Pull, Peek or Subscribe response (data, attributes, ids and a
   * framing allowance per message), so a response fits gRPC's default 4 MiB receive limit; a
   * Pull or Peek may ask for another bound with `max_bytes`. Default 4 MiB.
   */
  maxResponseBytes: number;
  /**
   * Largest `max_bytes` a Pull or Peek may ask for, so one call cannot make the broker build a
   * response of any size in memory. Default 64 MiB (16 × the default response bound).
   */
  maxRequestedResponseBytes: number;
  /** Cap on a long-poll wait. Default 60 s. */
  maxWaitMs: number;
  /** Lease length when the subscription sets none. Default 30 s. */
  defaultAckDeadlineMs: number;
  /** Longest lease a client may ask for. Default 10 min. */
  maxAckDeadlineMs: number;
  /** Dedup window when the topic sets none. Default 2 min. */
  defaultDedupWindowMs: number;
  /** Most attributes on one message. Default 100. */
  maxAttributes: number;
  /** Longest client message id or ordering key, in UTF-8 bytes. Default 1024. */
  maxIdBytes: number;
  /** What `max_outstanding_messages: 0` means on a Subscribe stream. Default 1000. */
  defaultStreamMessages: number;
  /** Largest `max_outstanding_messages` a stream may ask for. Default 10,000. */
  maxStreamMessages: number;
  /** What `max_outstanding_bytes: 0` means on a Subscribe stream. Default 10 MiB. */
  defaultStreamBytes: number;
  /** Largest `max_outstanding_bytes` a stream may ask for. Default 100 MiB. */
  maxStreamBytes: number;
  /** How often idle ephemeral subscriptions are looked for. Default 1 s. */
  idleSweepIntervalMs: number;
  /** Per-request timeout of a push when the subscription sets none. Default 10 s. */
  defaultPushTimeoutMs: number;
  /** Longest per-request push timeout. Default 5 min (a push lease is the timeout plus a margin). */
  maxPushTimeoutMs: number;
  /** Most concurrent push requests of one subscription. Default 1000 (`max_in_flight` 0 means 1). */
  maxPushInFlight: number;
  /** Hosts (`host`, `host:port`, `*.domain`) push endpoints may target; empty: any (SSRF guard). */
  pushAllowedHosts: readonly string[];
}

/** The defaults of {@link BrokerLimits}. */
export const DEFAULT_LIMITS: Readonly<BrokerLimits> = {
  maxMessageBytes: 1024 * 1024,
  maxBatchMessages: 1000,
  maxBatchBytes: 16 * 1024 * 1024,
  maxPullMessages: 1000,
  defaultPullMessages: 100,
  maxResponseBytes: 4 * 1024 * 1024,
  maxRequestedResponseBytes: 64 * 1024 * 1024,
  maxWaitMs: 60_000,
  defaultAckDeadlineMs: 30_000,
  maxAckDeadlineMs: 600_000,
  defaultDedupWindowMs: 120_000,
  maxAttributes: 100,
  maxIdBytes: 1024,
  defaultStreamMessages: 1000,
  maxStreamMessages: 10_000,
  defaultStreamBytes: 10 * 1024 * 1024,
  maxStreamBytes: 100 * 1024 * 1024,
  idleSweepIntervalMs: 1000,
  defaultPushTimeoutMs: 10_000,
  maxPushTimeoutMs: 300_000,
  maxPushInFlight: 1000,
  pushAllowedHosts: [],
};

/**
 * The defaults with `overrides` on top. A `maxMessageBytes` above the batch limit raises the
 * batch limit with it (unless that is set too), so one message of the allowed size always fits in
 * a Publish.
 */
export function resolveLimits(overrides: Partial<BrokerLimits> = {}): BrokerLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  if (overrides.maxBatchBytes === undefined && limits.maxMessageBytes > limits.maxBatchBytes) {
    limits.maxBatchBytes = limits.maxMessageBytes;
  }
  return limits;
}
