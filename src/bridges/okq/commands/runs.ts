import type { BrokerClients } from "../../bridge.js";
import { BRIDGE, type OkqContext } from "../context.js";
import type { PendingInput } from "../pending-events.js";
import type { Reply } from "../resp-encoder.js";
import { isKeyword, sameBytes, utf8, utf8Name } from "./command.js";
import { isBatchablePush, MAX_PUSH_BATCH_BYTES, pushBatch, pushItem } from "./push.js";
import { ackRun, parsePop, popRun } from "./queue.js";

/**
 * Pipelined runs: consecutive commands of one connection that can share one broker call. A
 * connection executes its commands one after the other (as okQ and Redis do), so merging
 * neighbours changes nothing a client can see; it turns N commits into one. Runs: pushes (one
 * Publish per queue), QRPOPs of one queue with the same options (one Pull), QACKs of one queue
 * (one Ack by message ids).
 */

/** Most commands in one run (the broker's batch and pull limits are 1000). */
export const MAX_RUN = 1000;

/** One command of a run. */
export interface RunItem {
  name: string;
  /**
   * The arguments after the name. A QRPOP or QACK that joined by its bytes (see
   * {@link sameKeyItem}) shares the first item's array: equal for a QRPOP (which is the first
   * item itself, so a run's items may repeat one object); a QACK's own id is in `value`.
   */
  args: Buffer[];
  /** What {@link runKey} read for the run (a QACK's event id), so it is not read again. */
  value?: string;
}

/** A run: its key and commands, in order. */
export interface Run {
  key: string;
  items: RunItem[];
}

/**
 * The run `first` starts: it and the pending commands right after it with the same key, as many
 * as may join (taken from `pending`), each counted in the bridge's metrics. Undefined when
 * `first` runs on its own.
 */
export function collectRun(ctx: OkqContext, first: RunItem, pending: PendingInput): Run | undefined {
  const key = runKey(ctx, first.name, first.args, first);
  if (key === undefined) return undefined;
  const items = [first];
  let bytes = runBytes(key, first);
  const maxLength = maxRunLength(ctx, key);
  const kind = key.startsWith(POP_PREFIX) ? POP : key.startsWith(ACK_PREFIX) ? ACK : OTHER;
  for (;;) {
    const next = pending.peek();
    if (next?.type !== "command") break;
    const item = sameKeyItem(kind, first, next) ?? { name: next.name, args: next.args.slice(1) };
    if (item.args !== first.args && runKey(ctx, item.name, item.args, item) !== key) break;
    const more = runBytes(key, item);
    if (!mayJoin(items.length, bytes, more) || items.length >= maxLength) break;
    pending.take();
    items.push(item);
    bytes += more;
  }
  countCommands(ctx, items);
  return { key, items };
}

/**
 * The next command as an item of `first`'s run when its bytes show it has the same key without
 * reading it again (the common pipeline: the same QRPOP repeated, QACKs of one queue): a QRPOP
 * whose arguments are `first`'s bytes for bytes (they parse the same), a QACK with no third
 * argument naming `first`'s queue bytes (only its id is read). Undefined: ask {@link runKey}.
 */
function sameKeyItem(kind: number, first: RunItem, next: { name: string; args: Buffer[] }): RunItem | undefined {
  if (next.name !== first.name || kind === OTHER) return undefined;
  const args = next.args;
  if (kind === POP) {
    if (args.length !== first.args.length + 1) return undefined;
    for (let k = 0; k < first.args.length; k++)
      if (!sameBytes(args[k + 1] as Buffer, first.args[k] as Buffer)) return undefined;
    return first; // the same name and arguments: one item object serves them all
  }
  if (args.length === 3 && sameBytes(args[1] as Buffer, first.args[0] as Buffer)) {
    const id = utf8(args[2] as Buffer);
    return id === undefined || id === "" ? undefined : { name: next.name, args: first.args, value: id };
  }
  return undefined;
}

/** Counts each command of a run: one metrics call per stretch of equal names. */
function countCommands(ctx: OkqContext, items: readonly RunItem[]): void {
  let from = 0;
  for (let i = 1; i <= items.length; i++) {
    const name = (items[from] as RunItem).name;
    if (i < items.length && (items[i] as RunItem).name === name) continue;
    ctx.metrics.command(BRIDGE, name, i - from);
    from = i;
  }
}

/** Most commands of a run: pops are bounded by their replies' size (`maxRunReplyBytes`). */
function maxRunLength(ctx: OkqContext, key: string): number {
  if (!key.startsWith(POP_PREFIX)) return Number.POSITIVE_INFINITY;
  const o = ctx.options;
  return Math.max(1, Math.floor(o.maxRunReplyBytes / o.maxMessageBytes));
}

const POP_PREFIX = "pop\u0000";
const ACK_PREFIX = "ack\u0000";
/** What a run's key says, read once per run ({@link sameKeyItem}). */
const OTHER = 0;
const POP = 1;
const ACK = 2;

/**
 * The run a command can join (equal keys join), or undefined when it runs on its own. With
 * `item`, what the key's reading found that the run needs later is kept on it ({@link RunItem.value}).
 */
export function runKey(ctx: OkqContext, name: string, args: readonly Buffer[], item?: RunItem): string | undefined {
  if (isBatchablePush(name, args)) return "push";
  if (name === "QRPOP" && args.length >= 1) {
    const pop = parsePop(args, ctx.options.maxLeaseSeconds);
    if ("t" in pop || pop.queue === undefined) return undefined;
    return `${POP_PREFIX}${pop.queue}\u0000${pop.expires}\u0000${pop.noack}`;
  }
  if (name === "QACK" && args.length >= 2 && !isKeyword(args[2], "REDO")) {
    const queue = utf8Name(args[0] as Buffer);
    const id = utf8(args[1] as Buffer);
    if (queue === undefined || id === undefined || id === "") return undefined;
    if (item) item.value = id;
    return ACK_PREFIX + queue;
  }
  return undefined;
}

/** Bytes a command adds to a run (push contents; nothing for the others). */
export function runBytes(key: string, item: RunItem): number {
  return key === "push" ? (item.args[2] as Buffer).length : 0;
}

/** True when a run of `count` commands and `bytes` may take one more of `nextBytes`. */
export function mayJoin(count: number, bytes: number, nextBytes: number): boolean {
  return count < MAX_RUN && bytes + nextBytes <= MAX_PUSH_BATCH_BYTES;
}

/** Executes a run; one reply per item, in order. */
export async function executeRun(
  ctx: OkqContext,
  clients: BrokerClients,
  key: string,
  items: readonly RunItem[],
): Promise<Reply[]> {
  if (key === "push")
    return pushBatch(
      ctx,
      clients,
      items.map((i) => pushItem(i.name, i.args)),
    );
  const first = items[0] as RunItem;
  if (key.startsWith(POP_PREFIX)) {
    const pop = parsePop(first.args, ctx.options.maxLeaseSeconds);
    if ("t" in pop) return items.map(() => pop);
    return popRun(ctx, clients, pop, items.length);
  }
  return ackRun(
    ctx,
    clients,
    key.slice(ACK_PREFIX.length),
    items.map((i) => i.value as string), // every QACK of a run has its id read (runKey, sameKeyItem)
  );
}
