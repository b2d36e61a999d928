import { Gauge, type Registry } from "prom-client";
import type { Stats } from "../../core/index.js";
import { FOLDED_LABEL, type LabelBudget } from "./label-budget.js";

/** Options of {@link registerStatsMetrics}. */
export interface StatsMetricsOptions {
  /** The broker's stats (GetStats over every topic); read once per scrape. */
  stats: () => Promise<Stats>;
  /** Topic labels (shared with the core counters). */
  topics: LabelBudget;
  /** Subscriptions with their own label per scrape (in GetStats order); the rest fold into an empty label (label-budget.ts). */
  maxSubscriptions: number;
}

type TopicStat = Stats["topics"][number];
type SubStat = Stats["subscriptions"][number];

/** How folded samples combine: counts add up, ages and sequence numbers take the largest. */
type Fold = "sum" | "max";

/** What a gauge is per: a topic, a subscription, or a push subscription. */
type Per =
  | { kind: "topic"; pick: (t: TopicStat) => number }
  | { kind: "subscription"; pick: (s: SubStat) => number }
  | { kind: "push"; pick: (s: SubStat) => number };

/**
 * Registers the gauges computed from the broker's stats at each scrape: per topic
 * `switchyard_topic_{messages,bytes,last_seq,subscriptions}`, per subscription
 * `switchyard_subscription_{backlog,in_flight,delayed,consumers,oldest_unacked_age_seconds,paused}`,
 * and per push subscription `switchyard_push_{last_status,consecutive_failures}`.
 */
export function registerStatsMetrics(registry: Registry, options: StatsMetricsOptions): void {
  let inFlight: Promise<Stats> | undefined;
  // Every collect of one scrape starts in the same tick: they share one GetStats.
  const snapshot = () => {
    inFlight ??= options.stats().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  /** The samples of one gauge: one per label set, folded. */
  function samples(stats: Stats, per: Per, fold: Fold): { labels: Record<string, string>; value: number }[] {
    const byKey = new Map<string, { labels: Record<string, string>; value: number }>();
    const add = (labels: Record<string, string>, value: number) => {
      const key = JSON.stringify(labels);
      const seen = byKey.get(key);
      if (!seen) byKey.set(key, { labels, value });
      else seen.value = fold === "sum" ? seen.value + value : Math.max(seen.value, value);
    };
    if (per.kind === "topic") {
      for (const t of stats.topics) add({ topic: options.topics.label(t.name) }, per.pick(t));
      return [...byKey.values()];
    }
    stats.subscriptions.forEach((s, i) => {
      if (per.kind === "push" && s.push === undefined) return;
      const subscription = i < options.maxSubscriptions ? s.name : FOLDED_LABEL;
      // A folded push subscription has no last status of its own.
      if (per.kind === "push" && fold === "max" && subscription === FOLDED_LABEL) return;
      add({ subscription, topic: options.topics.label(s.topic) }, per.pick(s));
    });
    return [...byKey.values()];
  }

  const gauge = (name: string, help: string, per: Per, fold: Fold = "sum") =>
    new Gauge({
      name,
      help,
      labelNames: per.kind === "topic" ? ["topic"] : ["subscription", "topic"],
      registers: [registry],
      async collect() {
        const stats = await snapshot();
        this.reset();
        for (const { labels, value } of samples(stats, per, fold)) this.set(labels, value);
      },
    });
  const topic = (pick: (t: TopicStat) => number): Per => ({ kind: "topic", pick });
  const sub = (pick: (s: SubStat) => number): Per => ({ kind: "subscription", pick });
  const push = (pick: (s: SubStat) => number): Per => ({ kind: "push", pick });

  gauge(
    "switchyard_topic_messages",
    "Messages stored in the topic.",
    topic((t) => t.messages),
  );
  gauge(
    "switchyard_topic_bytes",
    "Bytes of message data stored in the topic.",
    topic((t) => t.bytes),
  );
  gauge(
    "switchyard_topic_last_seq",
    "Sequence number of the newest message published to the topic.",
    topic((t) => t.lastSeq),
    "max",
  );
  gauge(
    "switchyard_topic_subscriptions",
    "Subscriptions on the topic.",
    topic((t) => t.subscriptions),
  );
  gauge(
    "switchyard_subscription_backlog",
    "Messages not yet acked by the subscription.",
    sub((s) => s.backlog),
  );
  gauge(
    "switchyard_subscription_in_flight",
    "Messages leased to consumers and not yet acked.",
    sub((s) => s.inFlight),
  );
  gauge(
    "switchyard_subscription_delayed",
    "Messages not deliverable yet (delay or retry backoff).",
    sub((s) => s.delayed),
  );
  gauge(
    "switchyard_subscription_consumers",
    "Consumers currently attached to the subscription.",
    sub((s) => s.consumers),
  );
  gauge(
    "switchyard_subscription_oldest_unacked_age_seconds",
    "Age of the oldest unacked message in seconds.",
    sub((s) => s.oldestUnackedAgeMs / 1000),
    "max",
  );
  gauge(
    "switchyard_subscription_paused",
    "1 when the subscription is paused.",
    sub((s) => (s.paused ? 1 : 0)),
  );
  gauge(
    "switchyard_push_last_status",
    "HTTP status of the push subscription's last attempt (0: network error or timeout).",
    push((s) => s.push?.lastStatus ?? 0),
    "max",
  );
  gauge(
    "switchyard_push_consecutive_failures",
    "Failed push attempts since the last success.",
    push((s) => s.push?.consecutiveFailures ?? 0),
  );
}
