import type { BrokerClients } from "../../bridge.js";
import { errorLine, isAbsent, REPLY } from "../errors.js";
import { parseMessage, splitToken, utf8 } from "../text-format.js";
import type { CommandSession, CommandSpec } from "./command.js";

/**
 * `PUB <queue> <message>` (protocols.md §4.3): the message is a quoted string or the rest of the
 * line. `OK` once the broker has stored it durably (a Publish is answered after its commit and
 * sync). The first PUB to a queue creates it (a topic plus its same-name subscription).
 */
export const PUB: CommandSpec = {
  async run(s, { rest }) {
    const split = splitToken(rest);
    if (split === undefined || split.rest.length === 0) return REPLY.invalidArguments;
    const queue = utf8(split.token);
    if (queue === undefined) return REPLY.invalidQueueName;
    return publish(s, s.clients as BrokerClients, queue, parseMessage(split.rest));
  },
};

async function publish(s: CommandSession, clients: BrokerClients, queue: string, data: Buffer): Promise<string> {
  const request = { topic: queue, messages: [{ data }] };
  try {
    await clients.publisher.publish(request);
    return REPLY.ok;
  } catch (e) {
    // The user's call comes first, so a PUB the server refuses creates nothing.
    if (!isAbsent(e)) return errorLine(e, s.ctx.logger, "PUB");
  }
  try {
    await s.ctx.queues.ensure(queue);
    await clients.publisher.publish(request);
    return REPLY.ok;
  } catch (e) {
    return errorLine(e, s.ctx.logger, "PUB");
  }
}
