import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import type { Broker, SubscriptionSettings, TopicSettings } from "../core/index.js";
import { invalidArgument } from "../errors/index.js";
import type { Logger } from "../util/index.js";
import * as convert from "./convert.js";
import { mapErrors } from "./to-connect-error.js";

const TOPIC_FIELDS: Record<string, keyof TopicSettings> = {
  dedup_window_ms: "dedupWindowMs",
  dedup_scope: "dedupScope",
  retain_acked_ms: "retainAckedMs",
  max_messages: "maxMessages",
  max_bytes: "maxBytes",
  max_age_ms: "maxAgeMs",
  overflow: "overflow",
};

const SUBSCRIPTION_FIELDS: Record<string, keyof SubscriptionSettings> = {
  ack_deadline_ms: "ackDeadlineMs",
  max_delivery_attempts: "maxDeliveryAttempts",
  dead_letter_topic: "deadLetterTopic",
  retry: "retry",
  filter: "filter",
  ordered: "ordered",
  paused: "paused",
  expire_after_idle_ms: "expireAfterIdleMs",
  push: "push",
};

/** AdminService on the broker core. */
export function adminService(broker: Broker, logger: Logger): ServiceImpl<typeof AdminService> {
  const h = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => mapErrors(logger, fn);
  return {
    createTopic: h(async (req) => {
      const queueSubscription = req.queueSubscription ? convert.subscriptionSettings(req.queueSubscription) : undefined;
      if (queueSubscription && !req.queue)
        throw invalidArgument("queue_subscription needs queue: true", "queue_subscription");
      const settings = convert.topicSettings({ ...req, name: req.name });
      const created = await broker.createTopic({ ...settings, name: req.name, queueSubscription });
      return {
        topic: convert.topic(created.topic),
        subscription: created.subscription ? convert.subscription(created.subscription) : undefined,
      };
    }),
    getTopic: h(async (req) => ({ topic: convert.topic(await broker.getTopic(req.name)) })),
    listTopics: h(async (req) => {
      const page = await broker.listTopics(req.pageSize, req.pageToken);
      return { topics: page.items.map(convert.topic), nextPageToken: page.nextPageToken };
    }),
    updateTopic: h(async (req) => {
      if (!req.topic) throw invalidArgument("topic is required", "topic");
      const patch = convert.maskedPatch(convert.topicSettings(req.topic), req.updateMask?.paths ?? [], TOPIC_FIELDS);
      return { topic: convert.topic(await broker.updateTopic(req.topic.name, patch)) };
    }),
    deleteTopic: h(async (req) => {
      await broker.deleteTopic(req.name);
      return {};
    }),
    purgeTopic: h(async (req) => ({ purged: BigInt(await broker.purgeTopic(req.name)) })),
    createSubscription: h(async (req) => {
      if (!req.subscription) throw invalidArgument("subscription is required", "subscription");
      const s = convert.subscriptionSettings(req.subscription);
      const created = await broker.createSubscription({
        ...s,
        name: req.subscription.name,
        topic: req.subscription.topic,
      });
      return { subscription: convert.subscription(created) };
    }),
    getSubscription: h(async (req) => ({ subscription: convert.subscription(await broker.getSubscription(req.name)) })),
    listSubscriptions: h(async (req) => {
      const page = await broker.listSubscriptions(req.topic, req.pageSize, req.pageToken);
      return { subscriptions: page.items.map(convert.subscription), nextPageToken: page.nextPageToken };
    }),
    updateSubscription: h(async (req) => {
      if (!req.subscription) throw invalidArgument("subscription is required", "subscription");
      const full = convert.subscriptionSettings(req.subscription) as SubscriptionSettings;
      const patch = convert.maskedPatch(full, req.updateMask?.paths ?? [], SUBSCRIPTION_FIELDS);
      // A push config sent back as read (secret empty, hmac_secret_set true) keeps the secret.
      const sent = req.subscription.push;
      if (patch.push && sent?.hmacSecret === "" && sent.hmacSecretSet) {
        const current = await broker.getSubscription(req.subscription.name);
        patch.push = { ...patch.push, hmacSecret: current.push?.hmacSecret ?? "" };
      }
      return { subscription: convert.subscription(await broker.updateSubscription(req.subscription.name, patch)) };
    }),
    deleteSubscription: h(async (req) => {
      await broker.deleteSubscription(req.name);
      return {};
    }),
    pauseSubscription: h(async (req) => ({
      subscription: convert.subscription(await broker.setPaused(req.name, true)),
    })),
    resumeSubscription: h(async (req) => ({
      subscription: convert.subscription(await broker.setPaused(req.name, false)),
    })),
    getStats: h(async (req) => {
      const stats = await broker.getStats(req.topics);
      return {
        topics: stats.topics.map((t) => ({
          ...t,
          messages: BigInt(t.messages),
          bytes: BigInt(t.bytes),
          lastSeq: BigInt(t.lastSeq),
        })),
        subscriptions: stats.subscriptions.map((s) => ({
          ...s,
          backlog: BigInt(s.backlog),
          inFlight: BigInt(s.inFlight),
          delayed: BigInt(s.delayed),
          oldestUnackedAgeMs: BigInt(s.oldestUnackedAgeMs),
          deadLettered: BigInt(s.deadLettered),
          push: s.push ? convert.pushStats(s.push) : undefined,
        })),
      };
    }),
    redrive: h(async (req) => {
      const max = convert.toNumber(req.maxMessages, "max_messages");
      return { redriven: BigInt(await broker.redrive(req.subscription, max, req.filter)) };
    }),
  };
}
