/**
 * Ids the store makes up for messages published without one: `sy-<topicId>-<seq>` in base 36.
 * They are unique (topic ids are never reused) and need no index: ack by message id parses them
 * back to the seq and then checks the stored message carries that very id, so a client id that
 * happens to look like one is never confused with it (client ids are looked up in the index first).
 */
const GENERATED = /^sy-([0-9a-z]{1,7})-([0-9a-z]{1,11})$/;

/** The `sy-<topicId>-` prefix of the topic last asked for (a batch asks for one topic's ids in a row). */
let lastPrefix = { topicId: -1, prefix: "" };

/** The generated id of a topic's seq. */
export function formatGeneratedId(topicId: number, seq: number): string {
  if (lastPrefix.topicId !== topicId) lastPrefix = { topicId, prefix: `sy-${topicId.toString(36)}-` };
  return lastPrefix.prefix + seq.toString(36);
}

/** The topic id and seq of a generated id; undefined for anything else. */
export function parseGeneratedId(id: string): { topicId: number; seq: number } | undefined {
  const m = GENERATED.exec(id);
  if (!m) return undefined;
  const topicId = Number.parseInt(m[1] as string, 36);
  const seq = Number.parseInt(m[2] as string, 36);
  return Number.isSafeInteger(seq) && seq > 0 ? { topicId, seq } : undefined;
}
