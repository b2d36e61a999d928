import type { ReceivedMessage } from "../../../../gen/switchyard/v1/types_pb.js";
import { reasonOf } from "../../bridge.js";
import { errorReply, isAbsent } from "../errors.js";
import { goAtoi } from "../go-format.js";
import { array, bulk, error, int, NULL, OK, type Reply } from "../resp-encoder.js";
import { type CommandSpec, isKeyword, utf8 } from "./command.js";

/** okQ's default QRPOP lease: 30 s. */
const DEFAULT_EXPIRES_S = 30;

/** An event as okQ answers it: `[eventID, contents]`, or nil. */
function event(m: ReceivedMessage | undefined): Reply {
  if (!m?.message) return NULL;
  return array([bulk(m.message.id), bulk(Buffer.from(m.message.data))]);
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
  async run(s, args) {
    const queue = utf8(args[0] as Buffer);
    let expires = DEFAULT_EXPIRES_S;
    let noack = false;
    let rest = args.slice(1);
    if (rest.length > 1 && isKeyword(rest[0], "EX")) {
      const parsed = parseOkqInt(rest[1] as Buffer, "expires");
      if (typeof parsed !== "number") return parsed;
      if (parsed === 0) noack = true;
      else expires = parsed;
      rest = rest.slice(2);
    }
    if (isKeyword(rest[0], "NOACK")) noack = true;
    const max = s.ctx.options.maxLeaseSeconds;
    if (!noack && expires > max) return error(`ERR bad expires value: ${expires} > ${max}`);
    if (queue === undefined) return NULL;
    try {
      const res = await s.ctx.clients.subscriber.pull({
        subscription: queue,
        maxMessages: 1,
        waitMs: 0,
        ackDeadlineMs: BigInt(expires * 1000),
        autoAck: noack,
      });
      return event(res.messages[0]);
    } catch (e) {
      if (isAbsent(e)) return NULL;
      return errorReply(e, s.ctx.logger, "QRPOP");
    }
  },
};

/** QRPEEK: the next event QRPOP would take; QLPEEK: the one it would take last. Nothing is leased. */
function peekCommand(fromBack: boolean): CommandSpec {
  return {
    minArgs: 1,
    async run(s, args) {
      const queue = utf8(args[0] as Buffer);
      if (queue === undefined) return NULL;
      try {
        const res = await s.ctx.clients.subscriber.peek({ subscription: queue, maxMessages: 1, fromBack });
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
  async run(s, args) {
    const queue = utf8(args[0] as Buffer);
    const id = utf8(args[1] as Buffer);
    if (queue === undefined || id === undefined || id === "") return int(0);
    const redo = isKeyword(args[2], "REDO");
    try {
      if (redo) await s.ctx.clients.subscriber.nack({ subscription: queue, messageIds: [id], delayMs: 0n });
      else await s.ctx.clients.subscriber.ack({ subscription: queue, messageIds: [id] });
      return int(1);
    } catch (e) {
      if (isAbsent(e) || NOT_THERE.has(reasonOf(e) ?? "")) return int(0);
      return errorReply(e, s.ctx.logger, "QACK");
    }
  },
};

/** `QFLUSH queue`: drops every event of the queue, popped or not. Always `+OK`. */
export const QFLUSH: CommandSpec = {
  minArgs: 1,
  async run(s, args) {
    const queue = utf8(args[0] as Buffer);
    if (queue === undefined) return OK;
    try {
      await s.ctx.clients.admin.purgeTopic({ name: queue });
      return OK;
    } catch (e) {
      if (isAbsent(e)) return OK;
      return errorReply(e, s.ctx.logger, "QFLUSH");
    }
  },
};
