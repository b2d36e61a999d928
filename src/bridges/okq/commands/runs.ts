import type { BrokerClients } from "../../bridge.js";
import type { OkqContext } from "../context.js";
import type { Reply } from "../resp-encoder.js";
import { isKeyword, utf8 } from "./command.js";
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
  args: Buffer[];
}

/** The run a command can join (equal keys join), or undefined when it runs on its own. */
export function runKey(ctx: OkqContext, name: string, args: readonly Buffer[]): string | undefined {
  if (isBatchablePush(name, args)) return "push";
  if (name === "QRPOP" && args.length >= 1) {
    const pop = parsePop(args, ctx.options.maxLeaseSeconds);
    if ("t" in pop || pop.queue === undefined) return undefined;
    return `pop\u0000${pop.queue}\u0000${pop.expires}\u0000${pop.noack}`;
  }
  if (name === "QACK" && args.length >= 2 && !isKeyword(args[2], "REDO")) {
    const queue = utf8(args[0] as Buffer);
    const id = utf8(args[1] as Buffer);
    if (queue === undefined || id === undefined || id === "") return undefined;
    return `ack\u0000${queue}`;
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
  if (key.startsWith("pop\u0000")) {
    const pop = parsePop(first.args, ctx.options.maxLeaseSeconds);
    if ("t" in pop) return items.map(() => pop);
    return popRun(ctx, clients, pop, items.length);
  }
  const queue = utf8(first.args[0] as Buffer) as string;
  return ackRun(
    ctx,
    clients,
    queue,
    items.map((i) => utf8(i.args[1] as Buffer) as string),
  );
}
