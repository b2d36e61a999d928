import type { KvReader } from "../kv/kv.js";
import { idKey, prefixEnd, Table } from "./keys.js";

/**
 * One subscription of a topic as publishes see it: its id and its attribute filter. The filter
 * lives in the value of the topic's subscription index ([TopicSubscription][topicId][subId]), so
 * an append reads one range and no subscription record. An empty value: no filter.
 */
export interface FanOutTarget {
  subId: number;
  filter: Record<string, string> | undefined;
}

/** Encodes a filter as the value of the topic's subscription index (empty: none). */
export function encodeFilter(filter: Record<string, string>): Buffer {
  return Object.keys(filter).length === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(filter));
}

/** The subscriptions of a topic with their filters, in id order. */
export function fanOutTargets(r: KvReader, topicId: number): FanOutTarget[] {
  const start = idKey(Table.TopicSubscription, topicId);
  return r.range({ start, end: prefixEnd(start) }).map((e) => ({
    subId: e.key.readUInt32BE(5),
    filter: e.value.length > 0 ? (JSON.parse(e.value.toString("utf8")) as Record<string, string>) : undefined,
  }));
}

/**
 * Does a message with these attributes pass the filter? Every filter entry must be present with
 * exactly that value; an absent or empty filter passes everything.
 */
export function matchesFilter(filter: Record<string, string> | undefined, attributes: Record<string, string>): boolean {
  if (!filter) return true;
  for (const key of Object.keys(filter)) {
    if (!Object.hasOwn(attributes, key) || attributes[key] !== filter[key]) return false;
  }
  return true;
}

/** The ids of the targets whose filter the attributes pass. */
export function matchingSubIds(targets: readonly FanOutTarget[], attributes: Record<string, string>): number[] {
  const out: number[] = [];
  for (const t of targets) if (matchesFilter(t.filter, attributes)) out.push(t.subId);
  return out;
}
