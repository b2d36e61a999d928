import { Counter, type Registry } from "prom-client";
import type { BrokerMetricsSink } from "../../core/index.js";
import type { LabelBudget } from "./label-budget.js";

/**
 * The core's counters on prom-client, labelled by topic (folded by `topics`):
 * `switchyard_messages_{published,delivered,redelivered,acked,nacked}_total` and
 * `switchyard_{published,delivered}_bytes_total` (message data in and out), and
 * `switchyard_messages_dead_lettered_total` (counted when the core dead-letters, so it never goes
 * down and misses no short-lived subscription).
 */
export function createCoreMetrics(registry: Registry, topics: LabelBudget): BrokerMetricsSink {
  const counter = (name: string, help: string) => {
    // Counted per topic label here and added to the counter when it is read (its `collect`, before
    // every scrape): prom-client builds and hashes a label object on every `inc`.
    const pending = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: ["topic"] as const,
      registers: [registry],
      collect() {
        for (const [topic, n] of pending) {
          if (n === 0) continue;
          this.inc({ topic }, n);
          pending.set(topic, 0); // kept: the label sets are bounded by the topic budget
        }
      },
    });
    return pending;
  };
  const published = counter(
    "switchyard_messages_published_total",
    "Messages stored by publishes (duplicates excluded).",
  );
  const publishedBytes = counter("switchyard_published_bytes_total", "Data bytes of the messages stored by publishes.");
  const delivered = counter(
    "switchyard_messages_delivered_total",
    "Messages leased to consumers (Pull, Subscribe, push).",
  );
  const deliveredBytes = counter("switchyard_delivered_bytes_total", "Data bytes of the messages leased to consumers.");
  const redelivered = counter(
    "switchyard_messages_redelivered_total",
    "Deliveries of messages delivered before (delivery attempt above 1).",
  );
  const acked = counter("switchyard_messages_acked_total", "Messages acked (explicitly or by auto-ack).");
  const nacked = counter("switchyard_messages_nacked_total", "Messages nacked (failed deliveries given back).");
  const deadLettered = counter(
    "switchyard_messages_dead_lettered_total",
    "Messages that used up their delivery attempts (dead-lettered or dropped) since the server started.",
  );
  const add = (c: Map<string, number>, topic: string, n: number) => {
    if (n <= 0) return;
    const label = topics.label(topic);
    c.set(label, (c.get(label) ?? 0) + n);
  };
  return {
    published(topic, messages, bytes) {
      add(published, topic, messages);
      add(publishedBytes, topic, bytes);
    },
    delivered(topic, _subscription, messages, bytes, again) {
      add(delivered, topic, messages);
      add(deliveredBytes, topic, bytes);
      add(redelivered, topic, again);
    },
    acked: (topic, _subscription, messages) => add(acked, topic, messages),
    nacked: (topic, _subscription, messages) => add(nacked, topic, messages),
    deadLettered: (topic, _subscription, messages) => add(deadLettered, topic, messages),
  };
}
