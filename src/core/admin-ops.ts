import { BrokerError, invalidArgument } from "../errors/index.js";
import type {
  NewMessage,
  Page,
  PublishOutcome,
  Stats,
  SubscriptionInfo,
  SubscriptionSettings,
  TopicInfo,
  TopicSettings,
} from "../model/index.js";
import type { AppendRecord, SubscriptionRecord, TopicRecord } from "../store/index.js";
import type { CreateSubscriptionSpec, CreateTopicSpec } from "./broker.js";
import { type CoreContext, emitSubscriptionChange } from "./context.js";
import { checkDeadLetterTopic } from "./dead-letter-ops.js";
import { trackSubscription } from "./ephemeral.js";
import { queueSubscriptionSettings, subscriptionSettings, topicSettings } from "./settings.js";
import { validateName, validatePublish, validateRange } from "./validate.js";

/** Strips store-internal fields. */
export function topicInfo({ id: _id, ...t }: TopicRecord): TopicInfo {
  return t;
}
export function subscriptionInfo({ id: _id, topicId: _t, ...s }: SubscriptionRecord): SubscriptionInfo {
  // Records written before a push field existed lack it: it reads as its default (false).
  if (s.push)
    s.push = { ...s.push, form: s.push.form === true, onlyServerErrorsFail: s.push.onlyServerErrorsFail === true };
  return s;
}

function topicNotFound(name: string): BrokerError {
  return new BrokerError("TOPIC_NOT_FOUND", `topic "${name}" does not exist`, { metadata: { topic: name } });
}

export async function publish(
  ctx: CoreContext,
  topic: string,
  messages: readonly NewMessage[],
): Promise<PublishOutcome[]> {
  validateName("topic", topic);
  validatePublish(messages, ctx.limits);
  return appendValidated(ctx, topic, messages, ctx.clock.now());
}

/**
 * Appends `messages` to `topic` as published at `now` (epoch ms), after the caller validated the
 * topic name and the batch ({@link publish}; the publish batcher validates each call it merges).
 */
export async function appendValidated(
  ctx: CoreContext,
  topic: string,
  messages: readonly NewMessage[],
  now: number,
): Promise<PublishOutcome[]> {
  const records: AppendRecord[] = messages.map((m) => ({
    id: m.id ?? "",
    data: m.data,
    attributes: m.attributes ?? {},
    priority: m.priority ?? 0,
    orderingKey: m.orderingKey ?? "",
    deliverAtMs: m.delayMs ? now + m.delayMs : 0,
    expireAtMs: m.ttlMs ? now + m.ttlMs : 0,
  }));
  const results = await appendWithRetry(ctx, topic, records, now);
  let stored = 0;
  let bytes = 0;
  for (let i = 0; i < results.length; i++) {
    if ((results[i] as PublishOutcome).duplicate) continue;
    stored++;
    bytes += (records[i] as AppendRecord).data.length;
  }
  if (stored > 0) {
    ctx.notifier.notify(topic);
    ctx.metrics.published(topic, stored, bytes);
  }
  return results;
}

/** Retries of an append that failed with a retryable store error. */
const APPEND_RETRIES = 2;

/**
 * Appends, retrying retryable store failures. A retryable failure wrote nothing (store contract),
 * so a retry cannot store a message twice; client ids are deduplicated on top of that.
 */
async function appendWithRetry(ctx: CoreContext, topic: string, records: AppendRecord[], now: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.store.append(topic, records, now);
    } catch (e) {
      if (!(e instanceof BrokerError) || !e.retryable || attempt >= APPEND_RETRIES) throw e;
      ctx.logger.warn("append failed; retrying", { topic, attempt: attempt + 1, cause: e.cause ?? e });
    }
  }
}

export async function createTopic(ctx: CoreContext, spec: CreateTopicSpec) {
  const settings = topicSettings(spec, ctx.limits);
  const queueSub = settings.queue ? queueSubscriptionSettings(spec, ctx.limits) : undefined;
  if (queueSub) await checkDeadLetterTopic(ctx, queueSub);
  const { topic, subscription } = await ctx.store.createTopic(settings, ctx.clock.now(), queueSub);
  if (subscription) trackSubscription(ctx, subscriptionInfo(subscription));
  if (subscription) emitSubscriptionChange(ctx, { kind: "subscription", name: subscription.name });
  return subscription
    ? { topic: topicInfo(topic), subscription: subscriptionInfo(subscription) }
    : { topic: topicInfo(topic) };
}

export async function getTopic(ctx: CoreContext, name: string): Promise<TopicInfo> {
  validateName("topic", name);
  const t = await ctx.store.getTopic(name);
  if (!t) throw topicNotFound(name);
  return topicInfo(t);
}

function decodePageToken(token: string): string {
  if (token === "") return "";
  const name = Buffer.from(token, "base64url").toString();
  if (Buffer.from(name).toString("base64url") !== token) throw invalidArgument("malformed page_token", "page_token");
  return name;
}

function pageSize(size: number): number {
  validateRange("page_size", size, 0, 1000);
  return size || 100;
}

export async function paginate<T extends { name: string }>(
  size: number,
  token: string,
  fetch: (after: string, limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const limit = pageSize(size);
  const items = await fetch(decodePageToken(token), limit + 1);
  const more = items.length > limit;
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, nextPageToken: more && last ? Buffer.from(last.name).toString("base64url") : "" };
}

export async function listTopics(ctx: CoreContext, size: number, token: string): Promise<Page<TopicInfo>> {
  const page = await paginate(size, token, (after, limit) => ctx.store.listTopics(after, limit));
  return { items: page.items.map(topicInfo), nextPageToken: page.nextPageToken };
}

export async function updateTopic(ctx: CoreContext, name: string, patch: Partial<TopicSettings>): Promise<TopicInfo> {
  const current = await getTopic(ctx, name);
  const settings = topicSettings({ ...current, ...patch, name, queue: current.queue }, ctx.limits);
  return topicInfo(await ctx.store.updateTopic(name, settings));
}

export async function createSubscription(ctx: CoreContext, spec: CreateSubscriptionSpec): Promise<SubscriptionInfo> {
  const settings = subscriptionSettings(spec, ctx.limits);
  await checkDeadLetterTopic(ctx, settings);
  const created = subscriptionInfo(await ctx.store.createSubscription(settings, ctx.clock.now()));
  trackSubscription(ctx, created);
  emitSubscriptionChange(ctx, { kind: "subscription", name: created.name });
  return created;
}

export async function getSubscription(ctx: CoreContext, name: string): Promise<SubscriptionInfo> {
  validateName("subscription", name);
  const s = await ctx.store.getSubscription(name);
  if (!s) {
    throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `subscription "${name}" does not exist`, {
      metadata: { subscription: name },
    });
  }
  return subscriptionInfo(s);
}

export async function listSubscriptions(ctx: CoreContext, topic: string, size: number, token: string) {
  if (topic !== "") await getTopic(ctx, topic);
  const page = await paginate(size, token, (after, limit) => ctx.store.listSubscriptions(topic, after, limit));
  return { items: page.items.map(subscriptionInfo), nextPageToken: page.nextPageToken };
}

export async function updateSubscription(
  ctx: CoreContext,
  name: string,
  patch: Partial<SubscriptionSettings>,
): Promise<SubscriptionInfo> {
  const current = await getSubscription(ctx, name);
  if (patch.topic !== undefined && patch.topic !== current.topic) {
    throw invalidArgument("the topic of a subscription cannot change", "topic");
  }
  // Both shape what the store holds per message (fan-out at publish, ordering locks).
  if (patch.filter !== undefined && !sameFilter(patch.filter, current.filter)) {
    throw invalidArgument("the filter of a subscription cannot change", "filter");
  }
  if (patch.ordered !== undefined && patch.ordered !== current.ordered) {
    throw invalidArgument("ordered cannot change after a subscription is created", "ordered");
  }
  const settings = subscriptionSettings({ ...current, ...patch, name, topic: current.topic }, ctx.limits);
  await checkDeadLetterTopic(ctx, settings, current);
  const updated = subscriptionInfo(await ctx.store.updateSubscription(name, settings));
  trackSubscription(ctx, updated);
  ctx.notifier.notify(updated.topic);
  emitSubscriptionChange(ctx, { kind: "subscription", name: updated.name });
  return updated;
}

export async function getStats(ctx: CoreContext, topics: readonly string[]): Promise<Stats> {
  const names = topics.length > 0 ? [...topics] : await allTopicNames(ctx);
  const now = ctx.clock.now();
  const stats: Stats = { topics: [], subscriptions: [] };
  for (const name of names) {
    validateName("topic", name);
    const c = await ctx.store.topicCounters(name);
    stats.topics.push({ name, ...c });
    for (const sub of await ctx.store.listSubscriptions(name, "", 100_000)) {
      const sc = await ctx.store.subscriptionCounters(sub.name);
      stats.subscriptions.push({
        name: sub.name,
        topic: name,
        backlog: sc.unacked,
        inFlight: sc.inFlight,
        delayed: sc.delayed,
        consumers: ctx.consumers.get(sub.name) ?? 0,
        oldestUnackedAgeMs: sc.oldestUnackedPublishMs > 0 ? Math.max(0, now - sc.oldestUnackedPublishMs) : 0,
        paused: sub.paused,
        deadLettered: await ctx.store.deadLettered(sub.name),
        ...pushStatsOf(ctx, sub.name, sub.push !== null),
      });
    }
  }
  return stats;
}

function sameFilter(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

async function allTopicNames(ctx: CoreContext): Promise<string[]> {
  const names: string[] = [];
  for (let after = ""; ; ) {
    const batch = await ctx.store.listTopics(after, 1000);
    names.push(...batch.map((t) => t.name));
    if (batch.length < 1000) return names;
    after = names[names.length - 1] as string;
  }
}

function pushStatsOf(ctx: CoreContext, name: string, isPush: boolean) {
  const push = isPush ? ctx.pushStats?.(name) : undefined;
  return push ? { push } : {};
}
