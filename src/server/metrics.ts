import type { Stats } from "../core/index.js";

/** The content type of the Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value per the exposition format: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

interface Family {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

function renderFamily(family: Family): string {
  let out = `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} gauge\n`;
  for (const { labels, value } of family.samples) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    out += `${family.name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}\n`;
  }
  return out;
}

/** Inputs of {@link renderMetrics} besides the broker's stats. */
export interface ProcessMetrics {
  /** Seconds since the server started. */
  uptimeSeconds: number;
  /** Resident set size in bytes. */
  residentMemoryBytes: number;
}

/**
 * Renders broker stats as Prometheus text (exposition format 0.0.4). Every metric is a gauge:
 * per topic `switchyard_topic_*{topic}`, per subscription `switchyard_subscription_*{subscription,topic}`,
 * per push subscription `switchyard_push_*{subscription,topic}`, plus process gauges.
 */
export function renderMetrics(stats: Stats, process: ProcessMetrics): string {
  const topic = (name: string, help: string, pick: (t: Stats["topics"][number]) => number): Family => ({
    name: `switchyard_topic_${name}`,
    help,
    samples: stats.topics.map((t) => ({ labels: { topic: t.name }, value: pick(t) })),
  });
  const sub = (name: string, help: string, pick: (s: Stats["subscriptions"][number]) => number): Family => ({
    name: `switchyard_subscription_${name}`,
    help,
    samples: stats.subscriptions.map((s) => ({ labels: { subscription: s.name, topic: s.topic }, value: pick(s) })),
  });
  const pushed = stats.subscriptions.filter((s) => s.push !== undefined);
  const push = (
    name: string,
    help: string,
    pick: (p: NonNullable<Stats["subscriptions"][number]["push"]>) => number,
  ) => ({
    name: `switchyard_push_${name}`,
    help,
    samples: pushed.map((s) => ({
      labels: { subscription: s.name, topic: s.topic },
      value: s.push ? pick(s.push) : 0,
    })),
  });
  const families: Family[] = [
    topic("messages", "Messages stored in the topic.", (t) => t.messages),
    topic("bytes", "Bytes of message data stored in the topic.", (t) => t.bytes),
    topic("last_seq", "Sequence number of the newest message published to the topic.", (t) => t.lastSeq),
    topic("subscriptions", "Subscriptions on the topic.", (t) => t.subscriptions),
    sub("backlog", "Messages not yet acked by the subscription.", (s) => s.backlog),
    sub("in_flight", "Messages leased to consumers and not yet acked.", (s) => s.inFlight),
    sub("delayed", "Messages not deliverable yet (delay or retry backoff).", (s) => s.delayed),
    sub("consumers", "Consumers currently attached to the subscription.", (s) => s.consumers),
    sub(
      "oldest_unacked_age_seconds",
      "Age of the oldest unacked message in seconds.",
      (s) => s.oldestUnackedAgeMs / 1000,
    ),
    sub("paused", "1 when the subscription is paused.", (s) => (s.paused ? 1 : 0)),
    sub(
      "dead_lettered",
      "Messages that used up their delivery attempts (dead-lettered or dropped).",
      (s) => s.deadLettered,
    ),
    push(
      "last_status",
      "HTTP status of the push subscription's last attempt (0: network error or timeout).",
      (p) => p.lastStatus,
    ),
    push("consecutive_failures", "Failed push attempts since the last success.", (p) => p.consecutiveFailures),
    {
      name: "switchyard_process_uptime_seconds",
      help: "Seconds since the server started.",
      samples: [{ labels: {}, value: process.uptimeSeconds }],
    },
    {
      name: "switchyard_process_resident_memory_bytes",
      help: "Resident memory of the server process in bytes.",
      samples: [{ labels: {}, value: process.residentMemoryBytes }],
    },
  ];
  return families.map(renderFamily).join("");
}
