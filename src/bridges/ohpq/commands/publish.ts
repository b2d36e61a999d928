import type { BrokerClients } from "../../bridge.js";
import { reasonOfAny } from "../../bridge.js";
import { errorLine, isAbsent, REPLY } from "../errors.js";
import type { LineEvent } from "../line-decoder.js";
import { parseMessage, splitToken, utf8 } from "../text-format.js";
import type { CommandSession, CommandSpec } from "./command.js";

/** Most PUBs merged into one Publish (the broker's batch limit). */
export const MAX_PUB_RUN = 1000;
/** Most message bytes merged into one Publish (half the broker's 16 MiB batch limit). */
export const MAX_PUB_RUN_BYTES = 8 * 1024 * 1024;

/** A parsed `PUB <queue> <message>`. */
export interface Pub {
  queue: string;
  data: Buffer;
}

/** Parses PUB's arguments (what follows the keyword); the error reply when they are wrong. */
export function parsePub(rest: Buffer): Pub | string {
  const split = splitToken(rest);
  if (split === undefined || split.rest.length === 0) return REPLY.invalidArguments;
  const queue = utf8(split.token);
  if (queue === undefined) return REPLY.invalidQueueName;
  return { queue, data: parseMessage(split.rest) };
}

/**
 * `PUB <queue> <message>` (README "Oh, Please Queue" bridge): the message is a quoted string or the rest of the
 * line. `OK` once the broker has stored it durably (a Publish is answered after its commit and
 * sync). The first PUB to a queue creates it (a topic plus its same-name subscription).
 */
export const PUB: CommandSpec = {
  async run(s, { rest }) {
    const pub = parsePub(rest);
    if (typeof pub === "string") return pub;
    return (await publishRun(s, pub.queue, [pub.data]))[0] as string;
  },
};

/**
 * Takes from `lines` (read after `first`) the PUBs of the same queue right behind it, up to
 * {@link MAX_PUB_RUN} messages and {@link MAX_PUB_RUN_BYTES}: a pipelined run of one connection,
 * published as one call. Returns the run's messages and the lines taken.
 */
export function takePubRun(first: Pub, lines: LineEvent[]): { messages: Buffer[]; lines: Buffer[] } {
  const messages = [first.data];
  const taken: Buffer[] = [];
  let bytes = first.data.length;
  while (messages.length < MAX_PUB_RUN) {
    const next = lines[0];
    if (next?.type !== "line") break;
    const split = splitToken(next.line);
    if (split === undefined || split.token.toString("latin1").toUpperCase() !== "PUB") break;
    const pub = parsePub(split.rest);
    if (typeof pub === "string" || pub.queue !== first.queue) break;
    if (bytes + pub.data.length > MAX_PUB_RUN_BYTES) break;
    lines.shift();
    taken.push(next.line);
    messages.push(pub.data);
    bytes += pub.data.length;
  }
  return { messages, lines: taken };
}

/**
 * Reasons a batch can fail for although some of its messages would have been stored one by one:
 * one message too large, or a queue limit (`max_messages`, `max_bytes`) that refuses the whole
 * batch where the first messages still fit. The run is then published again one message at a
 * time, so its replies are those of one-by-one PUBs.
 */
const PER_MESSAGE = new Set(["PAYLOAD_TOO_LARGE", "BATCH_TOO_LARGE", "INVALID_ARGUMENT", "BACKLOG_FULL"]);

/**
 * Publishes consecutive PUBs of one queue (a pipelined run of one connection) as one Publish:
 * the same outcome as one by one, in one commit. One reply per message, in order.
 */
export async function publishRun(s: CommandSession, queue: string, messages: readonly Buffer[]): Promise<string[]> {
  const clients = s.clients as BrokerClients;
  const request = { topic: queue, messages: messages.map((data) => ({ data })) };
  const all = (line: string) => messages.map(() => line);
  try {
    await publishCreating(s, clients, queue, request);
    return all(REPLY.ok);
  } catch (e) {
    if (messages.length > 1 && PER_MESSAGE.has(reasonOfAny(e) ?? "")) {
      const out: string[] = [];
      for (const m of messages) out.push(...(await publishRun(s, queue, [m])));
      return out;
    }
    return all(errorLine(e, s.ctx.logger, "PUB"));
  }
}

/** Publish as the user; a missing queue is created (with the bridge's clients) and published to again. */
async function publishCreating(
  s: CommandSession,
  clients: BrokerClients,
  queue: string,
  request: { topic: string; messages: { data: Buffer }[] },
): Promise<void> {
  try {
    await clients.publisher.publish(request);
    return;
  } catch (e) {
    // The user's call comes first, so a PUB the server refuses creates nothing.
    if (!isAbsent(e)) throw e;
  }
  s.ctx.queues.forget(queue); // it may have been deleted through another door since it was made
  await s.ctx.queues.ensure(queue);
  await clients.publisher.publish(request);
}
