import { type BrokerClients, checkMayPublish } from "../bridge.js";

/**
 * Asks the broker, once per user and subject, whether the user may publish there
 * (`checkMayPublish`: an empty Publish, refused by the server's auth check or let through). Only
 * yes is remembered: a user's permissions come from the config file and do not change while the
 * server runs. A refusal (PERMISSION_DENIED, UNAUTHENTICATED) is thrown every time. The bridge's
 * own clients (auth off) are never asked.
 */
export interface PublishPermissions {
  check(clients: BrokerClients, subject: string): Promise<void>;
}

/** Creates {@link PublishPermissions}; at most `maxSubjectsPerUser` yes answers are kept per user. */
export function createPublishPermissions(own: BrokerClients, maxSubjectsPerUser = 10_000): PublishPermissions {
  const allowed = new WeakMap<BrokerClients, Set<string>>();
  return {
    async check(clients, subject) {
      if (clients === own || allowed.get(clients)?.has(subject)) return;
      await checkMayPublish(clients, subject);
      let subjects = allowed.get(clients);
      if (!subjects) {
        subjects = new Set();
        allowed.set(clients, subjects);
      }
      if (subjects.size >= maxSubjectsPerUser) subjects.clear();
      subjects.add(subject);
    },
  };
}
