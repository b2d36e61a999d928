import type { KvReader } from "../kv/kv.js";
import { idKey, prefixEnd, Table } from "./keys.js";

/**
 * One subscription of a topic as publishes see it: its id, its attribute filter and whether it is
 * ordered. They live in the value of the topic's subscription index
 * ([TopicSubscription][topicId][subId]), so an append reads one range and no subscription record.
 * The value: empty (no filter), the filter as JSON (starts with "{"), or, for an ordered
 * subscription, the byte {@link ORDERED} followed by either of those.
 */
export interface FanOutTarget {
  subId: number;
  filter: Record<string, string> | undefined;
  ordered: boolean;
}

/** First byte of the index value of an ordered subscription (never the start of JSON). */
const ORDERED = 0x01;

/** Encodes a filter and the ordered flag as the value of the topic's subscription index. */
export function encodeFanOut(filter: Record<string, string>, ordered: boolean): Buffer {
  const json = Object.keys(filter).length === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(filter));
  return ordered ? Buffer.concat([Buffer.of(ORDERED), json]) : json;
}

/** Decodes an index value written by {@link encodeFanOut}. */
function decodeFanOut(subId: number, value: Buffer): FanOutTarget {
  const ordered = value.length > 0 && value[0] === ORDERED;
  const json = ordered ? value.subarray(1) : value;
  const filter = json.length > 0 ? (JSON.parse(json.toString("utf8")) as Record<string, string>) : undefined;
  return { subId, filter, ordered };
}

/** The subscriptions of a topic with their filters, in id order. */
export function fanOutTargets(r: KvReader, topicId: number): FanOutTarget[] {
  const start = idKey(Table.TopicSubscription, topicId);
  return r.range({ start, end: prefixEnd(start) }).map((e) => decodeFanOut(e.key.readUInt32BE(5), e.value));
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
