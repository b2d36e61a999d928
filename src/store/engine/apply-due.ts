import type { KvWriter } from "../kv/kv.js";
import { promoteDue } from "./delivery.js";
import { readCounters, requireSubscription, writeCounters } from "./records.js";

/**
 * Applies a subscription's due times without handing anything out: expired leases and elapsed
 * delays become available (or wait their retry backoff, or leave after max delivery attempts).
 */
export function applyDueTimes(w: KvWriter, subscription: string, nowMs: number): void {
  const sub = requireSubscription(w, subscription);
  const c = readCounters(w, sub.id);
  promoteDue(w, sub.id, nowMs, c);
  writeCounters(w, sub.id, c);
}
