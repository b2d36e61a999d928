import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import {
  type PushConfig,
  PushConfigSchema,
  type Subscription,
  SubscriptionSchema,
} from "../../../gen/switchyard/v1/types_pb.js";
import { isSecretKey } from "../../util/index.js";
import { formatFields, formatMap, formatMs, formatTime, orDash, yesNo } from "../client/format.js";
import { integerFlag, keyValueFlag, parseStart, type StartFlag, uint64Flag } from "../client/parse.js";

/** The subscription settings flags (create and update), as commander names them. */
export interface SubscriptionFlags {
  ackDeadlineMs?: bigint;
  maxDeliveryAttempts?: number;
  deadLetterTopic?: string;
  minBackoffMs?: bigint;
  maxBackoffMs?: bigint;
  filter?: Record<string, string>;
  expireAfterIdleMs?: bigint;
  pushEndpoint?: string;
  pushHeader?: Record<string, string>;
  pushTimeoutMs?: bigint;
  pushAnyResponse?: boolean;
  pushHmacSecret?: string;
  pushMaxInFlight?: number;
  pushWrap?: boolean;
}

/** Flags only `subs create` has. */
export interface CreateOnlyFlags {
  topic: string;
  start?: StartFlag;
  ordered: boolean;
  paused: boolean;
}

/** Adds the settings both `subs create` and `subs update` take. `negatable` adds `--no-push-…` forms. */
export function addSubscriptionSettings(command: Command, negatable: boolean): Command {
  command
    .addOption(new Option("--ack-deadline-ms <ms>", "lease length").argParser(uint64Flag("--ack-deadline-ms")))
    .addOption(
      new Option("--max-delivery-attempts <n>", "attempts before a dead letter (1-1000)").argParser(
        integerFlag("--max-delivery-attempts", 0, 1000),
      ),
    )
    .option("--dead-letter-topic <topic>", "where messages go after their last attempt")
    .addOption(
      new Option("--min-backoff-ms <ms>", "retry backoff: first wait").argParser(uint64Flag("--min-backoff-ms")),
    )
    .addOption(
      new Option("--max-backoff-ms <ms>", "retry backoff: longest wait").argParser(uint64Flag("--max-backoff-ms")),
    )
    .addOption(
      new Option("--filter <key=value>", "deliver only messages with this attribute (repeatable)").argParser(
        keyValueFlag("--filter"),
      ),
    )
    .addOption(
      new Option("--expire-after-idle-ms <ms>", "delete the subscription after this long unused").argParser(
        uint64Flag("--expire-after-idle-ms"),
      ),
    )
    .option("--push-endpoint <url>", "deliver by HTTP POST to this URL (a push subscription)")
    .addOption(
      new Option("--push-header <name=value>", "push request header (repeatable)").argParser(
        keyValueFlag("--push-header"),
      ),
    )
    .addOption(new Option("--push-timeout-ms <ms>", "push request timeout").argParser(uint64Flag("--push-timeout-ms")))
    .option("--push-any-response", "any HTTP answer counts as delivered")
    .option("--push-hmac-secret <secret>", "sign push bodies (Switchyard-Signature)")
    .addOption(
      new Option("--push-max-in-flight <n>", "concurrent push requests").argParser(
        integerFlag("--push-max-in-flight", 0, 1000),
      ),
    )
    .option("--push-wrap", "send a JSON envelope instead of the raw data");
  if (negatable) {
    command
      .option("--no-push-any-response", "only 2xx counts as delivered")
      .option("--no-push-wrap", "send the raw data")
      .option("--no-push", "turn push delivery off (a pull subscription again)");
  }
  return command;
}

/** Adds the flags only `subs create` has. */
export function addCreateOnlySettings(command: Command): Command {
  return command
    .requiredOption("--topic <topic>", "the topic to subscribe to")
    .addOption(
      new Option("--start <position>", "earliest, latest (default), seq:N or time:T").argParser((v) => parseStart(v)),
    )
    .option("--ordered", "one message in flight per ordering key", false)
    .option("--paused", "create it paused", false);
}

/** The push config the flags describe, over `base` (the current one, for updates). */
export function pushConfigOf(flags: SubscriptionFlags, base?: PushConfig): PushConfig | undefined {
  const touched =
    flags.pushEndpoint !== undefined ||
    flags.pushHeader !== undefined ||
    flags.pushTimeoutMs !== undefined ||
    flags.pushAnyResponse !== undefined ||
    flags.pushHmacSecret !== undefined ||
    flags.pushMaxInFlight !== undefined ||
    flags.pushWrap !== undefined;
  if (!touched) return base;
  const push = base ? clone(PushConfigSchema, base) : create(PushConfigSchema);
  if (flags.pushEndpoint !== undefined) push.endpoint = flags.pushEndpoint;
  if (flags.pushHeader !== undefined) push.headers = flags.pushHeader;
  if (flags.pushTimeoutMs !== undefined) push.timeoutMs = flags.pushTimeoutMs;
  if (flags.pushAnyResponse !== undefined) push.anyResponseIsSuccess = flags.pushAnyResponse;
  if (flags.pushHmacSecret !== undefined) push.hmacSecret = flags.pushHmacSecret;
  if (flags.pushMaxInFlight !== undefined) push.maxInFlight = flags.pushMaxInFlight;
  if (flags.pushWrap !== undefined) push.wrap = flags.pushWrap;
  return push;
}

/** The subscription `subs create` asks for. */
export function subscriptionToCreate(name: string, flags: SubscriptionFlags & CreateOnlyFlags): Subscription {
  const sub = create(SubscriptionSchema, { name, topic: flags.topic, ordered: flags.ordered, paused: flags.paused });
  if (flags.ackDeadlineMs !== undefined) sub.ackDeadlineMs = flags.ackDeadlineMs;
  if (flags.maxDeliveryAttempts !== undefined) sub.maxDeliveryAttempts = flags.maxDeliveryAttempts;
  if (flags.deadLetterTopic !== undefined) sub.deadLetterTopic = flags.deadLetterTopic;
  if (flags.minBackoffMs !== undefined || flags.maxBackoffMs !== undefined) {
    sub.retry = {
      $typeName: "switchyard.v1.RetryPolicy",
      minBackoffMs: flags.minBackoffMs ?? 0n,
      maxBackoffMs: flags.maxBackoffMs ?? 0n,
    };
  }
  if (flags.filter !== undefined) sub.filter = flags.filter;
  if (flags.expireAfterIdleMs !== undefined) sub.expireAfterIdleMs = flags.expireAfterIdleMs;
  if (flags.start !== undefined) {
    const s = flags.start;
    sub.start = {
      $typeName: "switchyard.v1.StartPosition",
      at: s.case === "time" ? { case: "time", value: timestampFromDate(s.value) } : s,
    };
  }
  sub.push = pushConfigOf(flags);
  return sub;
}

/**
 * The update `subs update` sends: `current` with the flags applied, and the mask of the fields
 * they touch (`retry` and `push` are whole messages, so their other fields come from `current`).
 */
export function subscriptionUpdate(
  current: Subscription,
  flags: SubscriptionFlags & { push?: boolean },
): { subscription: Subscription; paths: string[] } {
  const sub = clone(SubscriptionSchema, current);
  const paths: string[] = [];
  if (flags.ackDeadlineMs !== undefined) {
    sub.ackDeadlineMs = flags.ackDeadlineMs;
    paths.push("ack_deadline_ms");
  }
  if (flags.maxDeliveryAttempts !== undefined) {
    sub.maxDeliveryAttempts = flags.maxDeliveryAttempts;
    paths.push("max_delivery_attempts");
  }
  if (flags.deadLetterTopic !== undefined) {
    sub.deadLetterTopic = flags.deadLetterTopic;
    paths.push("dead_letter_topic");
  }
  if (flags.minBackoffMs !== undefined || flags.maxBackoffMs !== undefined) {
    sub.retry = {
      $typeName: "switchyard.v1.RetryPolicy",
      minBackoffMs: flags.minBackoffMs ?? current.retry?.minBackoffMs ?? 0n,
      maxBackoffMs: flags.maxBackoffMs ?? current.retry?.maxBackoffMs ?? 0n,
    };
    paths.push("retry");
  }
  if (flags.filter !== undefined) {
    sub.filter = flags.filter;
    paths.push("filter");
  }
  if (flags.expireAfterIdleMs !== undefined) {
    sub.expireAfterIdleMs = flags.expireAfterIdleMs;
    paths.push("expire_after_idle_ms");
  }
  if (flags.push === false) {
    sub.push = undefined;
    paths.push("push");
  } else {
    const push = pushConfigOf(flags, current.push);
    if (push !== current.push) {
      sub.push = push;
      paths.push("push");
    }
  }
  return { subscription: sub, paths };
}

/** A subscription as `key: value` lines (a push HMAC secret shows as `(set)`). */
export function describeSubscription(s: Subscription): string {
  const start = s.start?.at;
  const startText =
    start === undefined || start.case === undefined
      ? undefined
      : start.case === "time"
        ? `time:${formatTime(start.value)}`
        : start.case === "seq"
          ? `seq:${start.value}`
          : start.case;
  return formatFields([
    ["name", s.name],
    ["topic", s.topic],
    ["ack deadline", formatMs(s.ackDeadlineMs)],
    ["max delivery attempts", orDash(s.maxDeliveryAttempts)],
    ["dead letter topic", orDash(s.deadLetterTopic)],
    ["retry backoff", s.retry ? `${formatMs(s.retry.minBackoffMs)} .. ${formatMs(s.retry.maxBackoffMs)}` : "-"],
    ["start", startText],
    ["filter", formatMap(s.filter)],
    ["ordered", yesNo(s.ordered)],
    ["paused", yesNo(s.paused)],
    ["expire after idle", formatMs(s.expireAfterIdleMs)],
    ["push endpoint", s.push?.endpoint],
    ["push headers", s.push ? formatMap(redactHeaders(s.push.headers)) : undefined],
    ["push timeout", s.push ? formatMs(s.push.timeoutMs) : undefined],
    ["push max in flight", s.push ? orDash(s.push.maxInFlight) : undefined],
    ["push any response", s.push ? yesNo(s.push.anyResponseIsSuccess) : undefined],
    ["push wrap", s.push ? yesNo(s.push.wrap) : undefined],
    // The server never returns the secret itself, only whether one is set.
    ["push hmac secret", s.push ? (s.push.hmacSecretSet || s.push.hmacSecret ? "(set)" : "-") : undefined],
    ["created", formatTime(s.createTime)],
  ]);
}

function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretKey(k) ? "(set)" : v;
  return out;
}
