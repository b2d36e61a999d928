/**
 * Default of the ack commit delay (`--ack-commit-delay-ms`, lmdb-kv.ts): a few publish intervals at moderate rates
 * (W3's Publish calls come every millisecond; on a loaded machine every 2–4 ms).
 */
export const DEFAULT_ACK_COMMIT_DELAY_MS = 5;
/**
 * Default of the commit delay (`--commit-delay-ms`, lmdb-kv.ts): one of W3's publish intervals, so two Publish
 * calls share a sync, for at most a millisecond more on the first one's answer.
 */
export const DEFAULT_COMMIT_DELAY_MS = 1;
