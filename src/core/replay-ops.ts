/**
 * Replay (README "Replay and retention"): Seek, snapshots and Read. Seek and snapshots are single store
 * operations; Read pages through the stored log and, with `follow`, waits on the topic's
 * notifier for new messages (no polling, no leases, no acks).
 */

import type { Page, ReadRequest, SeekTarget, SnapshotInfo, StoredMessage } from "../model/index.js";
import type { SnapshotRecord } from "../store/index.js";
import { linkSignals } from "../util/index.js";
import { getSubscription, paginate } from "./admin-ops.js";
import { type CoreContext, emitSubscriptionChange } from "./context.js";
import { abortError } from "./delivery-ops.js";
import { validateName, validateRange } from "./validate.js";
import { waitForChange } from "./wait.js";

/** What `max_messages: 0` means on a Read. */
export const DEFAULT_READ_MESSAGES = 100;
/** Most messages one Read batch may carry. */
export const MAX_READ_MESSAGES = 1000;
/** A Read batch stops growing past this much data (it always carries at least one message). */
export const MAX_READ_BATCH_BYTES = 4 * 1024 * 1024;

/** Strips store-internal fields. */
export function snapshotInfo({ id: _id, topicId: _t, ...s }: SnapshotRecord): SnapshotInfo {
  return s;
}

function validateTarget(target: SeekTarget): void {
  if (target.kind === "seq") validateRange("seq", target.seq, 1, Number.MAX_SAFE_INTEGER);
  else if (target.kind === "time") validateRange("time", target.timeMs, 0, Number.MAX_SAFE_INTEGER);
  else validateName("snapshot", target.name);
}

/** Moves a subscription to a seq, time or snapshot (atomic), then wakes its consumers. */
export async function seek(ctx: CoreContext, subscription: string, target: SeekTarget): Promise<void> {
  const sub = await getSubscription(ctx, subscription);
  validateTarget(target);
  await ctx.store.seek(sub.name, target, ctx.clock.now());
  ctx.notifier.notify(sub.topic);
  emitSubscriptionChange(ctx, { kind: "seek", name: sub.name });
}

export async function createSnapshot(ctx: CoreContext, name: string, subscription: string): Promise<SnapshotInfo> {
  validateName("snapshot", name);
  const sub = await getSubscription(ctx, subscription);
  return snapshotInfo(await ctx.store.createSnapshot(name, sub.name, ctx.clock.now()));
}

/** Snapshots of one subscription ("" for all), paginated by name. */
export async function listSnapshots(
  ctx: CoreContext,
  subscription: string,
  pageSize: number,
  pageToken: string,
): Promise<Page<SnapshotInfo>> {
  if (subscription !== "") await getSubscription(ctx, subscription);
  const page = await paginate(pageSize, pageToken, (after, limit) =>
    ctx.store.listSnapshots(subscription, after, limit),
  );
  return { items: page.items.map(snapshotInfo), nextPageToken: page.nextPageToken };
}

export async function deleteSnapshot(ctx: CoreContext, name: string): Promise<void> {
  validateName("snapshot", name);
  await ctx.store.deleteSnapshot(name, ctx.clock.now());
}

/**
 * Streams a topic's stored log from a seq or a time in batches. Without `follow` it ends at the
 * end of the log; with it, it waits for publishes. The consumer pulls each batch (the RPC layer
 * awaits every send), so a slow reader holds at most one batch here. Ends with CANCELED when
 * `signal` aborts and SHUTTING_DOWN on close.
 */
export async function* read(
  ctx: CoreContext,
  req: ReadRequest,
  signal: AbortSignal,
): AsyncGenerator<StoredMessage[], void, undefined> {
  const { store, notifier, clock } = ctx;
  validateName("topic", req.topic);
  validateRange("max_messages", req.maxMessages, 0, MAX_READ_MESSAGES);
  if (req.from.kind === "seq") validateRange("from_seq", req.from.seq, 0, Number.MAX_SAFE_INTEGER);
  else validateRange("from_time", req.from.timeMs, 0, Number.MAX_SAFE_INTEGER);
  const max = req.maxMessages || DEFAULT_READ_MESSAGES;
  let next = req.from.kind === "seq" ? Math.max(1, req.from.seq) : await store.seqAtTime(req.topic, req.from.timeMs);
  const link = linkSignals(signal, ctx.shutdown.signal);
  const linked = link.signal;
  try {
    for (;;) {
      if (linked.aborted) throw abortError(linked.reason);
      const seen = notifier.version(req.topic);
      const page = await store.readLog(req.topic, next, max, MAX_READ_BATCH_BYTES, clock.now());
      next = Math.max(next, page.nextSeq);
      if (page.messages.length > 0) {
        yield page.messages;
        continue;
      }
      if (!page.end) continue; // a page of expired messages only: keep going
      if (!req.follow) return;
      try {
        await waitForChange(notifier, clock, req.topic, seen, Number.POSITIVE_INFINITY, linked);
      } catch (e) {
        throw abortError(e);
      }
    }
  } finally {
    link.dispose();
  }
}
