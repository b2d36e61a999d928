/**
 * The attributes a dead-lettered message carries on its dead-letter topic, next to its own.
 * Every backend writes the same names (they are part of the API: README "Retries and dead
 * letters"), and Redrive reads them to find a message's way back.
 */
export const DEAD_LETTER_ATTRIBUTES = {
  /** The topic the message was published to. */
  sourceTopic: "switchyard-dead-letter-source-topic",
  /** The subscription that gave up on it (Redrive returns it there). */
  sourceSubscription: "switchyard-dead-letter-source-subscription",
  /** Its seq on the source topic (decimal). */
  sourceSeq: "switchyard-dead-letter-source-seq",
  /** Its message id on the source topic (restored by Redrive). */
  sourceId: "switchyard-dead-letter-source-id",
  /** Delivery attempts it had (decimal). */
  attempts: "switchyard-dead-letter-attempts",
  /** How the last attempt ended: `nacked`, `lease_expired` or `undeliverable`. */
  reason: "switchyard-dead-letter-reason",
  /** The `error` text of the nack that ended the last attempt, when it had one. */
  lastError: "switchyard-dead-letter-last-error",
} as const;

/**
 * How the last delivery attempt of a dead-lettered message ended: nacked, its lease expired, or
 * it can never be delivered as it is (a push message without a usable target: it left at once,
 * whatever its attempts).
 */
export type DeadLetterReason = "nacked" | "lease_expired" | "undeliverable";

const NAMES: ReadonlySet<string> = new Set(Object.values(DEAD_LETTER_ATTRIBUTES));

/** True for the attribute names dead-lettering adds (Redrive strips them). */
export function isDeadLetterAttribute(key: string): boolean {
  return NAMES.has(key);
}
