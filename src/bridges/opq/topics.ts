import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PushConfigSchema, Subscription } from "../../../gen/switchyard/v1/types_pb.js";
import type { Logger } from "../../util/index.js";
import { type BrokerClients, reasonOf } from "../bridge.js";

/** How OPQ topics deliver (from the `--opq-*` flags). */
export interface OpqDeliveryOptions {
  /** Any HTTP answer counts as delivered (OPQ's rule); otherwise a 5xx is retried. */
  anyResponse: boolean;
  /** Attempts before a message is dead-lettered; 0: unlimited (it blocks its topic, as in OPQ). */
  maxAttempts: number;
  /** Where dead letters go when `maxAttempts` > 0. */
  deadLetterTopic: string;
  /** Time limit of one attempt. */
  timeoutMs: number;
  /** How long delivered messages stay for replay. */
  retainMs: number;
}

/** The ordering key of every OPQ message: one key per topic makes delivery strictly sequential. */
export const OPQ_ORDERING_KEY = "opq";

/** An OPQ topic's name is taken by something else (a non-OPQ subscription of the same name). */
export class TopicConflictError extends Error {
  override name = "TopicConflictError";
}

/** True for the subscription the OPQ bridge delivers a topic with: a form push named after its topic. */
export function isOpqSubscription(sub: Subscription | undefined): boolean {
  return sub !== undefined && sub.push?.form === true && sub.name === sub.topic && sub.ordered;
}

/** The push config of an OPQ topic's subscription. */
function pushConfig(o: OpqDeliveryOptions): MessageInitShape<typeof PushConfigSchema> {
  return {
    form: true,
    timeoutMs: BigInt(o.timeoutMs),
    maxInFlight: 1,
    anyResponseIsSuccess: o.anyResponse,
    onlyServerErrorsFail: !o.anyResponse,
  };
}

/** True when `sub` delivers as `o` says (what {@link OpqTopics.reconcile} fixes). */
function upToDate(sub: Subscription, o: OpqDeliveryOptions): boolean {
  const push = sub.push;
  return (
    push !== undefined &&
    push.timeoutMs === BigInt(o.timeoutMs) &&
    push.anyResponseIsSuccess === o.anyResponse &&
    push.onlyServerErrorsFail === !o.anyResponse &&
    push.maxInFlight === 1 &&
    sub.maxDeliveryAttempts === o.maxAttempts &&
    sub.deadLetterTopic === (o.maxAttempts > 0 ? o.deadLetterTopic : "")
  );
}

/**
 * The OPQ topics: each is a Switchyard topic (keeping delivered messages `retainMs` for replay)
 * with an ordered form-push subscription of the same name, created on first use.
 */
export interface OpqTopics {
  /**
   * Makes sure `topic` exists with its OPQ subscription, checked on every call (one
   * GetSubscription): the subscription may have been deleted over the API with the topic kept,
   * and a publish would then be answered but never delivered. When something must be created or
   * updated, `permitted` runs first (the request's user must be one the broker lets publish
   * there; it throws otherwise), so a refused user changes nothing. Throws
   * {@link TopicConflictError}, what `permitted` throws, or a broker error.
   */
  ensure(topic: string, permitted?: () => Promise<void>): Promise<void>;
  /** Brings every existing OPQ subscription in line with the current options (run at start). */
  reconcile(): Promise<void>;
}

/** Creates the {@link OpqTopics} of a bridge. */
export function createOpqTopics(clients: () => BrokerClients, o: OpqDeliveryOptions, logger: Logger): OpqTopics {
  /** Set-ups under way, so concurrent first pushes of a topic share one (bounded by the requests in flight). */
  const preparing = new Map<string, Promise<void>>();

  async function update(sub: Subscription): Promise<void> {
    await clients().admin.updateSubscription({
      subscription: {
        name: sub.name,
        topic: sub.topic,
        push: pushConfig(o),
        maxDeliveryAttempts: o.maxAttempts,
        deadLetterTopic: o.maxAttempts > 0 ? o.deadLetterTopic : "",
      },
      updateMask: { paths: ["push", "max_delivery_attempts", "dead_letter_topic"] },
    });
    logger.info("opq: topic delivery settings updated", { topic: sub.topic });
  }

  async function ensureDeadLetterTopic(): Promise<void> {
    if (o.maxAttempts === 0) return;
    try {
      await clients().admin.createTopic({ name: o.deadLetterTopic, queue: true, retainAckedMs: BigInt(o.retainMs) });
    } catch (e) {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
    }
  }

  async function current(topic: string): Promise<Subscription | undefined> {
    try {
      return (await clients().admin.getSubscription({ name: topic })).subscription;
    } catch (e) {
      if (reasonOf(e) === "SUBSCRIPTION_NOT_FOUND") return undefined;
      throw e;
    }
  }

  const settings = () => ({
    ordered: true,
    push: pushConfig(o),
    maxDeliveryAttempts: o.maxAttempts,
    deadLetterTopic: o.maxAttempts > 0 ? o.deadLetterTopic : "",
  });

  /** Creates the topic with its subscription; false when the topic exists already. */
  async function createTopic(topic: string): Promise<boolean> {
    try {
      await clients().admin.getTopic({ name: topic });
      return false;
    } catch (e) {
      if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
    }
    await ensureDeadLetterTopic();
    try {
      await clients().admin.createTopic({
        name: topic,
        queue: true,
        retainAckedMs: BigInt(o.retainMs),
        queueSubscription: settings(),
      });
      logger.info("opq: topic created", { topic });
      return true;
    } catch (e) {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
      return false;
    }
  }

  /** Adds the OPQ subscription to a topic made by another door (or another request meanwhile). */
  async function createSubscription(topic: string): Promise<void> {
    await ensureDeadLetterTopic();
    try {
      await clients().admin.createSubscription({ subscription: { name: topic, topic, ...settings() } });
    } catch (e) {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
    }
  }

  async function prepare(topic: string): Promise<void> {
    await createTopic(topic);
    let sub = await current(topic);
    if (sub === undefined) {
      await createSubscription(topic);
      sub = await current(topic);
    }
    if (!isOpqSubscription(sub)) {
      throw new TopicConflictError(`topic "${topic}" has a subscription of the same name that is not an OPQ one`);
    }
    if (sub && !upToDate(sub, o)) {
      await ensureDeadLetterTopic();
      await update(sub);
    }
  }

  return {
    async ensure(topic, permitted) {
      // Deleting the subscription after this check is as if it were deleted after the publish:
      // its messages go with it (the topic keeps them for Read and a new subscription's Seek).
      let sub: Subscription | undefined;
      try {
        sub = await current(topic);
      } catch (e) {
        // A name no topic can have: the set-up below refuses it as a topic name (what the producer sent).
        if (reasonOf(e) !== "INVALID_NAME") throw e;
      }
      if (isOpqSubscription(sub) && sub !== undefined && upToDate(sub, o)) return;
      await permitted?.();
      let p = preparing.get(topic);
      if (p === undefined) {
        p = prepare(topic).finally(() => preparing.delete(topic));
        preparing.set(topic, p);
      }
      await p;
    },
    async reconcile() {
      for (let pageToken = ""; ; ) {
        const page = await clients().admin.listSubscriptions({ pageSize: 1000, pageToken });
        for (const sub of page.subscriptions) {
          if (!isOpqSubscription(sub) || upToDate(sub, o)) continue;
          await ensureDeadLetterTopic();
          await update(sub);
        }
        pageToken = page.nextPageToken;
        if (pageToken === "") break;
      }
    },
  };
}
