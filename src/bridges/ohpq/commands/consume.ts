import type { BrokerClients } from "../../bridge.js";
import { reasonOfAny } from "../../bridge.js";
import { errorLine, isAbsent, REPLY } from "../errors.js";
import { messageLine, utf8 } from "../text-format.js";
import type { CommandSession, CommandSpec } from "./command.js";

/** The queue of a one-argument command, or the reply that refuses it. */
function queueArg(tokens: readonly Buffer[]): string | { reply: string } {
  if (tokens.length !== 1) return { reply: REPLY.invalidArguments };
  return utf8(tokens[0] as Buffer) ?? { reply: REPLY.invalidQueueName };
}

/**
 * `GET <queue>` (README "Oh, Please Queue" bridge): the connection's pending message of the queue again, if it
 * has one; else the head of the queue, leased and made pending; else `EMPTY` (never blocks; an
 * unknown queue is empty). With a SUB on the queue, its stream is what fills the slot, so GET
 * shows the pending message or answers `EMPTY`. A connection holds at most `maxPendingMessages`
 * of GET's (`ERROR too many pending messages`).
 */
export const GET: CommandSpec = {
  async run(s, { tokens }) {
    const queue = queueArg(tokens);
    if (typeof queue !== "string") return queue.reply;
    const held = s.pending.get(queue);
    if (held) {
      held.shown = true;
      return messageLine(queue, held.data);
    }
    if (s.isSubscribed(queue)) return REPLY.empty;
    if (s.pending.heldByGet() >= s.ctx.options.maxPendingMessages) return REPLY.tooManyPending;
    const clients = s.clients as BrokerClients;
    let got: Awaited<ReturnType<BrokerClients["subscriber"]["pull"]>>;
    try {
      got = await clients.subscriber.pull({
        subscription: queue,
        maxMessages: 1,
        waitMs: 0,
        ackDeadlineMs: BigInt(s.pending.leaseMs),
      });
    } catch (e) {
      return isAbsent(e) ? REPLY.empty : errorLine(e, s.ctx.logger, "GET");
    }
    const m = got.messages[0];
    if (!m?.message) return REPLY.empty;
    const data = m.message.data;
    s.pending.put({ queue, ackId: m.ackId, data, source: "get", clients, shown: true });
    return messageLine(queue, data);
  },
};

/**
 * `ACK <queue>` (README "Oh, Please Queue" bridge): acks the connection's pending message of the queue, `OK`;
 * `ERROR no pending message` when there is none (or its ack timeout passed and it went back).
 */
export const ACK: CommandSpec = {
  async run(s, { tokens }) {
    const queue = queueArg(tokens);
    if (typeof queue !== "string") return queue.reply;
    const held = s.pending.get(queue);
    if (!held) return REPLY.noPending;
    try {
      await (s.clients as BrokerClients).subscriber.ack({ subscription: queue, ackIds: [held.ackId] });
    } catch (e) {
      const reason = reasonOfAny(e);
      // Delivered again since (its lease ended): no longer this connection's to ack.
      if (reason === "LEASE_EXPIRED") {
        s.pending.drop(held);
        return REPLY.noPending;
      }
      // Gone already (purged, or the queue deleted): what the ACK asked for.
      if (reason === "DELIVERY_UNKNOWN" || isAbsent(e)) {
        s.pending.drop(held);
        return REPLY.ok;
      }
      return errorLine(e, s.ctx.logger, "ACK");
    }
    s.pending.drop(held);
    return REPLY.ok;
  },
};

/**
 * `SUB <queue>` (README "Oh, Please Queue" bridge): `OK subscribed`, then the server pushes the queue's messages
 * as `MESSAGE` lines, one at a time: each is pending until its ACK. Creates the queue when it
 * does not exist. A second SUB of the same queue answers `OK subscribed` and changes nothing.
 */
export const SUB: CommandSpec = {
  async run(s, { tokens }) {
    const queue = queueArg(tokens);
    if (typeof queue !== "string") return queue.reply;
    if (s.isSubscribed(queue)) return REPLY.subscribed;
    if (!s.canSubscribe()) return REPLY.tooManySubscriptions;
    const refused = await mayRead(s, s.clients as BrokerClients, queue);
    if (refused !== undefined) return refused;
    s.subscribe(queue);
    return REPLY.subscribed;
  },
};

/**
 * Checks, with the user's own call, that the queue exists and the user may read it (a Peek;
 * the server answers PERMISSION_DENIED); creates a missing queue. Then, with the bridge's
 * clients, that the broker does not push the queue's messages itself (a stream of it would be
 * refused, and retried, only once the SUB was answered). An error line, or undefined.
 */
async function mayRead(s: CommandSession, clients: BrokerClients, queue: string): Promise<string | undefined> {
  const peek = () => clients.subscriber.peek({ subscription: queue, maxMessages: 1 });
  try {
    try {
      await peek();
    } catch (e) {
      if (!isAbsent(e)) throw e;
      s.ctx.queues.forget(queue); // deleted behind the cache's back, perhaps
      await s.ctx.queues.ensure(queue);
      await peek();
    }
    const { subscription } = await s.ctx.bridgeClients.admin.getSubscription({ name: queue });
    return subscription?.push ? REPLY.pushQueue : undefined;
  } catch (e) {
    return errorLine(e, s.ctx.logger, "SUB");
  }
}
