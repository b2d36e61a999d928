import { createContextValues } from "@connectrpc/connect";
import type { ReceivedMessage } from "../../../../gen/switchyard/v1/types_pb.js";
import { type DeliveriesSink, deliveriesSinkKey } from "../../../rpc/pull-response.js";
import { type BrokerClients, metadataOf, reasonOf } from "../../bridge.js";
import type { OkqContext } from "../context.js";
import { errorReply, isAbsent } from "../errors.js";
import { goAtoi } from "../go-format.js";
import { error, eventReply, int, NULL, OK, type Reply } from "../resp-encoder.js";
import { type CommandSpec, isKeyword, utf8, utf8Name } from "./command.js";

/** okQ's default QRPOP lease: 30 s. */
const DEFAULT_EXPIRES_S = 30;

/** An event as okQ answers it: `[eventID, contents]`, or nil. */
export function event(m: ReceivedMessage | undefined): Reply {
  if (!m?.message) return NULL;
  // Not copied: the contents are the broker's hand-out copy, copied once into the socket write (reply-writer.ts).
  return eventReply(m.message.id, m.message.data);
}

/** okQ's `parseInt(from, as)`: Go's Atoi, then `< 0` refused. */
export function parseOkqInt(arg: Buffer, as: string): number | Reply {
  const got = goAtoi(arg);
  if ("error" in got) return error(`ERR bad ${as} value: ${got.error}`);
  if (got.value < 0) return error(`ERR bad ${as} value: ${got.value} < 0`);
  return got.value;
}

/**
 * `QRPOP queue [EX seconds] [NOACK]`: a lease of the next event with the EX deadline (default
 * 30 s). `EX 0` (okQ 3ed64e7) and `NOACK` (b690c53) both mean at-most-once: auto-acked as it is
 * handed out. EX is recognised only with its value, as in okQ. The lease expires at its deadline
 * (no sweeper interval) and the event is then the next one popped.
 */
export const QRPOP: CommandSpec = {
  minArgs: 1,
  quick: true,
  async run(s, args) {
    const pop = parsePop(args, s.ctx.options.maxLeaseSeconds);
    if ("t" in pop) return pop;
    return (await popRun(s.ctx, s.clients, pop, 1))[0] as Reply;
  },
};

/**
 * One Pull for (possibly several connections') pops of one queue; `key` is `[queue, expires, noack]`
 * as JSON. One reply per slot: an event, or nil past the events pulled. The events come straight
 * from the core's deliveries when the in-process transport answers the Pull (it is asked to, with
 * `deliveriesSinkKey`: src/rpc/pull-response.ts), with no message made for them; from the
 * response's messages otherwise.
 */
export async function pullDirect(clients: BrokerClients, key: string, slots: readonly null[]): Promise<Reply[]> {
  const [queue, expires, noack] = JSON.parse(key) as [string, number, boolean];
  const sink: DeliveriesSink = { deliveries: undefined };
  const res = await clients.subscriber.pull(
    {
      subscription: queue,
      maxMessages: slots.length,
      waitMs: 0,
      ackDeadlineMs: BigInt(expires * 1000),
      autoAck: noack,
    },
    { contextValues: createContextValues().set(deliveriesSinkKey, sink) },
  );
  const out: Reply[] = new Array(slots.length);
  const { deliveries } = sink;
  for (let i = 0; i < slots.length; i++) {
    const d = deliveries?.[i];
    out[i] = d ? eventReply(d.message.id, d.message.data) : deliveries ? NULL : event(res.messages[i]);
  }
  return out;
}

/** A parsed QRPOP: undefined queue when the name cannot exist (not UTF-8). */
export interface Pop {
  queue: string | undefined;
  expires: number;
  noack: boolean;
}

/** Parses `QRPOP queue [EX seconds] [NOACK]` like okQ; an error reply for a bad EX. */
export function parsePop(args: readonly Buffer[], maxLeaseSeconds: number): Pop | Reply {
  const queue = utf8Name(args[0] as Buffer);
  let expires = DEFAULT_EXPIRES_S;
  let noack = false;
  let at = 1; // the next argument after the queue
  if (args.length - at > 1 && isKeyword(args[at], "EX")) {
    const parsed = parseOkqInt(args[at + 1] as Buffer, "expires");
    if (typeof parsed !== "number") return parsed;
    if (parsed === 0) noack = true;
    else expires = parsed;
    at += 2;
  }
  if (isKeyword(args[at], "NOACK")) noack = true;
  if (!noack && expires > maxLeaseSeconds) return error(`ERR bad expires value: ${expires} > ${maxLeaseSeconds}`);
  return { queue, expires, noack };
}

/**
 * `count` pipelined QRPOPs of one queue with the same options as one Pull of up to `count`
 * events: the same events, in the same order, as popping them one by one; nil for the rest.
 */
export async function popRun(ctx: OkqContext, clients: BrokerClients, pop: Pop, count: number): Promise<Reply[]> {
  const nils = (n: number) => Array.from({ length: n }, () => NULL);
  if (pop.queue === undefined) return nils(count);
  try {
    return await ctx
      .callsFor(clients)
      .pull(JSON.stringify([pop.queue, pop.expires, pop.noack]), new Array(count).fill(null));
  } catch (e) {
    if (isAbsent(e)) return nils(count);
    return nils(count).map(() => errorReply(e, ctx.logger, "QRPOP"));
  }
}

/** QRPEEK: the next event QRPOP would take; QLPEEK: the one it would take last. Nothing is leased. */
function peekCommand(fromBack: boolean): CommandSpec {
  return {
    minArgs: 1,
    quick: true,
    async run(s, args) {
      const queue = utf8(args[0] as Buffer);
      if (queue === undefined) return NULL;
      try {
        const res = await s.clients.subscriber.peek({ subscription: queue, maxMessages: 1, fromBack });
        return event(res.messages[0]);
      } catch (e) {
        if (isAbsent(e)) return NULL;
        return errorReply(e, s.ctx.logger, fromBack ? "QLPEEK" : "QRPEEK");
      }
    },
  };
}

export const QLPEEK = peekCommand(true);
export const QRPEEK = peekCommand(false);

/** Failures of an ack or nack by message id that mean "not there": okQ answers `:0`. */
const NOT_THERE = new Set(["DELIVERY_UNKNOWN", "LEASE_EXPIRED", "INVALID_ARGUMENT"]);

/**
 * `QACK queue eventID [REDO]`: an ack by message id, which removes the event whether it was
 * popped or is still waiting (as okQ's LREM on both lists). REDO is a nack by message id: the
 * event is available again at once, in its place at the front. `:1` when done, `:0` when the
 * event is not in the queue.
 */
export const QACK: CommandSpec = {
  minArgs: 2,
  quick: true,
  async run(s, args) {
    const queue = utf8(args[0] as Buffer);
    const id = utf8(args[1] as Buffer);
    if (queue === undefined || id === undefined || id === "") return int(0);
    if (!isKeyword(args[2], "REDO")) return (await ackRun(s.ctx, s.clients, queue, [id]))[0] as Reply;
    try {
      await s.clients.subscriber.nack({ subscription: queue, messageIds: [id], delayMs: 0n });
      return int(1);
    } catch (e) {
      if (isAbsent(e) || NOT_THERE.has(reasonOf(e) ?? "")) return int(0);
      return errorReply(e, s.ctx.logger, "QACK");
    }
  },
};

/**
 * Pipelined QACKs of one queue as one Ack by message ids. The broker applies every id it can and
 * lists the ids that failed in the error metadata, so each QACK still gets its own `:1`/`:0`.
 * Ids repeated in the run, or with a comma (the metadata's separator), are acked one by one.
 */
export function ackRun(
  ctx: OkqContext,
  clients: BrokerClients,
  queue: string,
  ids: readonly string[],
): Promise<Reply[]> {
  return ctx.callsFor(clients).ack(queue, ids);
}

/**
 * True when a run of ids is acked one by one: an id repeats, or has a comma (the metadata's
 * separator). (A Set made from the array at once is the cheapest check measured: about 90 ns per
 * id, against 120 for one Set kept and cleared, filled id by id.)
 */
function needsOneByOne(ids: readonly string[]): boolean {
  if (ids.length < 2) return false;
  if (new Set(ids).size < ids.length) return true;
  for (const id of ids) if (id.includes(",")) return true;
  return false;
}

/** One Ack by message ids (possibly of several connections of one user); never throws. */
export async function ackDirect(
  ctx: OkqContext,
  clients: BrokerClients,
  queue: string,
  ids: readonly string[],
): Promise<Reply[]> {
  const one = async (id: string) => (await ackDirect(ctx, clients, queue, [id]))[0] as Reply;
  if (needsOneByOne(ids)) {
    const out: Reply[] = [];
    for (const id of ids) out.push(await one(id));
    return out;
  }
  try {
    await clients.subscriber.ack({ subscription: queue, messageIds: [...ids] });
    return ids.map(() => int(1));
  } catch (e) {
    if (isAbsent(e)) return ids.map(() => int(0));
    const reason = reasonOf(e);
    if (reason === "INVALID_ARGUMENT") return ids.map(() => int(0));
    if (reason !== "DELIVERY_UNKNOWN" && reason !== "LEASE_EXPIRED") {
      return ids.map(() => errorReply(e, ctx.logger, "QACK"));
    }
    const failed = new Set((metadataOf(e).failed_message_ids ?? "").split(","));
    return ids.map((id) => int(failed.has(id) ? 0 : 1));
  }
}

/** `QFLUSH queue`: drops every event of the queue, popped or not. Always `+OK`. */
export const QFLUSH: CommandSpec = {
  minArgs: 1,
  async run(s, args) {
    const queue = utf8(args[0] as Buffer);
    if (queue === undefined) return OK;
    try {
      await s.clients.admin.purgeTopic({ name: queue });
      return OK;
    } catch (e) {
      if (isAbsent(e)) return OK;
      return errorReply(e, s.ctx.logger, "QFLUSH");
    }
  },
};
