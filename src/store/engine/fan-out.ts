/**
 * The topic's subscription index ([TopicSubscription][topicId][subId]) and attribute filters.
 * The index value carries the subscription's filter and ordered flag; the engine lists a topic's
 * subscriptions from it when it opens.
 */

/** First byte of the index value of an ordered subscription (never the start of JSON). */
const ORDERED = 0x01;

/** Encodes a filter and the ordered flag as the value of the topic's subscription index. */
export function encodeFanOut(filter: Record<string, string>, ordered: boolean): Buffer {
  const json = Object.keys(filter).length === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(filter));
  return ordered ? Buffer.concat([Buffer.of(ORDERED), json]) : json;
}

/** A subscription's filter as {@link matchesFilter} takes it: undefined when it passes everything. */
export function activeFilter(filter: Record<string, string> | undefined): Record<string, string> | undefined {
  return filter && Object.keys(filter).length > 0 ? filter : undefined;
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
