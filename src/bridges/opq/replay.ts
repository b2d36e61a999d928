import type { BrokerClients } from "../bridge.js";
import { reasonOf } from "../bridge.js";
import type { Form } from "./form.js";
import { goAtoi } from "./push.js";
import { isOpqSubscription } from "./topics.js";

/** What a replay request asks for, or how it is refused (README "OPQ bridge"). */
export type ReplayRequest =
  | { topic: string; cmd: bigint }
  /** 400 `BadRequest` (plain body): `topic` or `cmd` missing, or `cmd` not an integer. */
  | { refused: "bad-request" };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads `topic` and `cmd` (the first value of each) in OPQ's order. */
export function replayRequest(form: Form): ReplayRequest {
  const topic = form.get("topic")?.[0];
  if (topic === undefined) return { refused: "bad-request" };
  const cmdText = form.get("cmd")?.[0];
  if (cmdText === undefined) return { refused: "bad-request" };
  const cmd = goAtoi(cmdText);
  if (cmd === undefined) return { refused: "bad-request" };
  let name: string;
  try {
    name = utf8.decode(Buffer.from(topic, "latin1"));
  } catch {
    name = ""; // no topic has such a name: "not ready"
  }
  return { topic: name, cmd };
}

/**
 * The seq a replay of message index `cmd` (0-based) seeks to: `cmd + 1`, since an OPQ topic's
 * messages are its seqs 1, 2, …; a `cmd` past the end (or negative, which OPQ read as a huge
 * unsigned number) goes to the next seq, so nothing stored is delivered again.
 */
export function replaySeq(cmd: bigint, lastSeq: bigint): bigint {
  if (cmd < 0n || cmd >= lastSeq) return lastSeq + 1n;
  return cmd + 1n;
}

/**
 * Replays an OPQ topic from message index `cmd`: a Seek of its subscription (which also ends a
 * push backoff at once). `clients` act for the request's user: a replay is a Seek, which needs
 * the subscriber role on the topic, and a Peek (which changes nothing) asks the broker that first,
 * so a user it refuses learns nothing about the topic. `server` (the bridge's own clients) then
 * reads whether the topic has an OPQ delivery and its last seq. Resolves false when it has none
 * ("delivery service is not ready"); broker errors (PERMISSION_DENIED, …) are thrown.
 */
export async function replay(
  server: BrokerClients,
  clients: BrokerClients,
  topic: string,
  cmd: bigint,
): Promise<boolean> {
  if (topic === "") return false;
  try {
    if (clients !== server) await clients.subscriber.peek({ subscription: topic, maxMessages: 1 });
    const { subscription } = await server.admin.getSubscription({ name: topic });
    if (!isOpqSubscription(subscription)) return false;
  } catch (e) {
    const reason = reasonOf(e);
    if (reason === "SUBSCRIPTION_NOT_FOUND" || reason === "TOPIC_NOT_FOUND" || reason === "INVALID_NAME") return false;
    throw e;
  }
  const stats = await server.admin.getStats({ topics: [topic] });
  const lastSeq = stats.topics[0]?.lastSeq ?? 0n;
  await clients.replay.seek({ subscription: topic, target: { case: "seq", value: replaySeq(cmd, lastSeq) } });
  return true;
}
