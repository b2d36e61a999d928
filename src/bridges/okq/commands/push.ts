import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PublishResult } from "../../../../gen/switchyard/v1/publisher_pb.js";
import type { PublishMessageSchema } from "../../../../gen/switchyard/v1/types_pb.js";
import { type BrokerClients, reasonOf } from "../../bridge.js";
import { BRIDGE, type OkqContext } from "../context.js";
import { errorReply, isDenied } from "../errors.js";
import { error, OK, type Reply } from "../resp-encoder.js";
import { type CommandSession, type CommandSpec, isKeyword, utf8 } from "./command.js";

/**
 * QLPUSH / QRPUSH: one Publish per queue. okQ's list is consumed from the right, so QLPUSH is
 * the back of the queue (priority 0, FIFO by seq) and QRPUSH "jumps the queue": it is published
 * with the top priority (9), so it goes out before every QLPUSHed event.
 */
export interface PushItem {
  queue: Buffer;
  id: Buffer;
  contents: Buffer;
  /** QRPUSH */
  front: boolean;
}

/** Priority of QRPUSHed events: the broker's highest, delivered before everything else. */
export const FRONT_PRIORITY = 9;

/** Most events in one Publish of a pipelined run (the broker's batch limit is 1000). */
export const MAX_PUSH_BATCH = 1000;
/** Most contents bytes in one Publish of a pipelined run (the broker's batch limit is 16 MiB). */
export const MAX_PUSH_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Pushes a run of events (from one pipelined read) with one Publish per queue, and answers each
 * like okQ: `+OK`, or `-ERR duplicate event <id>` when the id is still unacked in the queue.
 * A Publish refused as a whole (one event over the size limit, say) is retried event by event,
 * so each event gets its own answer.
 */
export async function pushBatch(ctx: OkqContext, clients: BrokerClients, items: readonly PushItem[]): Promise<Reply[]> {
  const replies: Reply[] = new Array(items.length);
  const groups = new Map<string, { index: number; id: string }[]>();
  items.forEach((item, index) => {
    const queue = utf8(item.queue);
    const id = utf8(item.id);
    if (queue === undefined) replies[index] = error("ERR queue name must be valid UTF-8");
    else if (id === undefined || id === "") replies[index] = error("ERR event id must be a non-empty UTF-8 string");
    else {
      const group = groups.get(queue) ?? [];
      group.push({ index, id });
      groups.set(queue, group);
    }
  });
  await Promise.all(
    [...groups].map(async ([queue, group]) => {
      const got = await publishGroup(ctx, clients, queue, group, items);
      group.forEach((g, k) => {
        replies[g.index] = got[k] as Reply;
      });
    }),
  );
  return replies;
}

async function publishGroup(
  ctx: OkqContext,
  clients: BrokerClients,
  queue: string,
  group: readonly { index: number; id: string }[],
  items: readonly PushItem[],
): Promise<Reply[]> {
  const messages = group.map((g) => {
    const item = items[g.index] as PushItem;
    return { id: g.id, data: item.contents, priority: item.front ? FRONT_PRIORITY : 0 };
  });
  try {
    const results = await ctx.callsFor(clients).publish(queue, messages);
    return results.map((r, k) => (r.duplicate ? error(`ERR duplicate event ${group[k]?.id}`) : OK));
  } catch (e) {
    if (group.length > 1) {
      return Promise.all(group.map((g) => publishGroup(ctx, clients, queue, [g], items).then((r) => r[0] as Reply)));
    }
    const first = items[(group[0] as { index: number }).index] as PushItem;
    return [errorReply(e, ctx.logger, first.front ? "QRPUSH" : "QLPUSH")];
  }
}

/** A QLPUSH/QRPUSH that can join a pipelined batch (NOBLOCK pushes cannot). */
export function isBatchablePush(name: string, args: readonly Buffer[]): boolean {
  return (name === "QLPUSH" || name === "QRPUSH") && args.length >= 3 && !isKeyword(args[3], "NOBLOCK");
}

/** The push of one command's arguments. */
export function pushItem(name: string, args: readonly Buffer[]): PushItem {
  return {
    queue: args[0] as Buffer,
    id: args[1] as Buffer,
    contents: args[2] as Buffer,
    front: name === "QRPUSH",
  };
}

/**
 * A single QLPUSH/QRPUSH. With NOBLOCK (okQ: handed to a worker pool, `+OK` at once, errors
 * lost) the client explicitly gives up the durability answer: the push runs in the background,
 * bounded by `maxNoblockInFlight`; over it the answer is okQ's `too busy` error.
 */
function pushCommand(front: boolean): CommandSpec {
  const name = front ? "QRPUSH" : "QLPUSH";
  return {
    minArgs: 3,
    quick: true,
    async run(s: CommandSession, args) {
      const item = pushItem(name, args);
      if (!isKeyword(args[3], "NOBLOCK")) return (await pushBatch(s.ctx, s.clients, [item]))[0] as Reply;
      const { ctx } = s;
      if (ctx.background.size >= ctx.options.maxNoblockInFlight) {
        return error("ERR too busy to process NOBLOCK event");
      }
      const copy = { ...item, contents: Buffer.from(item.contents) };
      const p: Promise<unknown> = pushBatch(ctx, s.clients, [copy])
        .then(([reply]) => {
          if (reply?.t === "error") ctx.metrics.error(BRIDGE, name);
        })
        .catch((e: unknown) => ctx.logger.error("okq: NOBLOCK push failed", { error: e }))
        .finally(() => ctx.background.delete(p));
      ctx.background.add(p);
      return OK;
    },
  };
}

export const QLPUSH = pushCommand(false);
export const QRPUSH = pushCommand(true);

/** A message as the bridge publishes it. */
export type OutgoingMessage = MessageInitShape<typeof PublishMessageSchema>;

/**
 * One Publish of (possibly several connections' of one user) messages to a queue, creating the
 * queue first if needed, and again if it was deleted behind our back (TOPIC_NOT_FOUND).
 */
export async function publishDirect(
  ctx: OkqContext,
  clients: BrokerClients,
  queue: string,
  messages: readonly OutgoingMessage[],
): Promise<PublishResult[]> {
  const publish = async () => {
    if (!ctx.queues.known(queue)) {
      // The server creates the queue, so first the broker is asked whether this user may publish
      // to it: an empty Publish, judged by the auth interceptor before the core refuses it.
      if (ctx.options.authenticator) await askedFirst(clients.publisher.publish({ topic: queue, messages: [] }));
      await ctx.queues.ensure(queue);
    }
    return clients.publisher.publish({ topic: queue, messages: [...messages] });
  };
  try {
    return (await publish()).results;
  } catch (e) {
    if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
    ctx.queues.forget(queue);
    return (await publish()).results;
  }
}

/**
 * Awaits a call made only to learn whether the user may act on a queue: a refusal by the auth
 * interceptor (UNAUTHENTICATED, PERMISSION_DENIED) is thrown, any other answer means "allowed".
 */
export async function askedFirst(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (e) {
    if (isDenied(e)) throw e;
  }
}
