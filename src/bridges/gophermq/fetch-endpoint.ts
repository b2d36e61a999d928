/**
 * `POST /api/fetch` (docs/gophermq.md "Endpoints", "Fetch"): leases what a subscriber has, up to
 * the fetch bounds, answers it, and hands the leases to the settler (fetch-settle.ts), which acks
 * them once the answer is out or gives them back. Fetches of one subscriber take turns.
 *
 * @module
 */
import { type BrokerClients, reasonOfAny } from "../bridge.js";
import type { EndpointAnswers } from "./answers.js";
import type { EndpointDeps } from "./endpoint-deps.js";
import { goJsonStrings } from "./go-json.js";
import { type GopherRequest, type GopherResponse, sendJson } from "./http-io.js";
import { badSubject } from "./subject.js";
import { createTurns } from "./turns.js";

/** How long a fetch waits for the acks and releases of earlier fetches of its subscriber. */
const SETTLED_WAIT_MS = 1000;

/** The fetch handler: answers the request and returns the status it sent. */
export type FetchEndpoint = (req: GopherRequest, res: GopherResponse, signal: AbortSignal) => Promise<number>;

/** Creates the fetch handler of one bridge. */
export function createFetchEndpoint(deps: EndpointDeps, answers: EndpointAnswers): FetchEndpoint {
  const { registry } = deps;
  const { bind, failed, send } = answers;

  /** The subject of subscriber `id`, or undefined when there is no such subscriber. */
  async function subjectOf(clients: BrokerClients, id: string): Promise<string | undefined> {
    const cached = registry.use(id);
    if (cached !== undefined) return cached;
    try {
      // Not known here: made before a restart (or forgotten after its idle expiry).
      const sub = await clients.admin.getSubscription({ name: `${deps.subscriptionPrefix}${id}` });
      const subject = sub.subscription?.topic;
      if (subject !== undefined && registry.hasRoom(0)) registry.add(id, subject);
      return subject;
    } catch (e) {
      const reason = reasonOfAny(e);
      if (reason === "SUBSCRIPTION_NOT_FOUND" || reason === "INVALID_NAME") return undefined;
      throw e;
    }
  }

  const turns = createTurns();

  /**
   * Leases what the subscriber has (up to the fetch limits), answers it, and acks it once the
   * answer is out; if the client goes away first, the messages are given back (fetch-settle.ts).
   */
  async function fetch(req: GopherRequest, res: GopherResponse, signal: AbortSignal): Promise<number> {
    const bound = await bind(req, res, ["subject", "id"] as const);
    if ("status" in bound) return bound.status as number;
    const { subject, id } = bound;
    // GopherMQ's handler does not map this error: 500.
    if (badSubject(subject)) return send(req, res, 500, "server error");
    const clients = deps.clientsFor(req);
    const subscription = `${deps.subscriptionPrefix}${id}`;
    const turn = turns.take(subscription);
    try {
      return await fetchInTurn(req, res, signal, { clients, subject, id, subscription, before: turn.before });
    } finally {
      turn.done();
    }
  }

  async function fetchInTurn(
    req: GopherRequest,
    res: GopherResponse,
    signal: AbortSignal,
    f: { clients: BrokerClients; subject: string; id: string; subscription: string; before: Promise<void> },
  ): Promise<number> {
    const { clients, subject, id, subscription } = f;
    const data: Uint8Array[] = [];
    const ackIds: string[] = [];
    try {
      // The bridge's own lookup; the Pull below, as the user, is what the broker judges.
      if (id === "" || (await subjectOf(deps.bridgeClients, id)) !== subject) return send(req, res, 404, "bad id");
      // One fetch of a subscriber at a time, and after the acks and releases of the ones before:
      // messages a fetch whose client went away gives back go to the next fetch.
      await f.before;
      await deps.settler.settled(subscription, SETTLED_WAIT_MS);
      let bytes = 0;
      while (data.length < deps.fetchMaxMessages && bytes < deps.fetchMaxBytes && !signal.aborted) {
        const room = Math.floor((deps.fetchMaxBytes - bytes) / deps.maxMessageBytes);
        const want = Math.min(deps.fetchMaxMessages - data.length, Math.max(1, room));
        const got = await clients.subscriber.pull({
          subscription,
          maxMessages: want,
          // The fetch's own byte bound, not the Pull's default of 4 MiB (README: max_bytes).
          maxBytes: BigInt(deps.fetchMaxBytes - bytes),
          ackDeadlineMs: BigInt(deps.fetchLeaseMs),
        });
        for (const m of got.messages) {
          const d = m.message?.data ?? new Uint8Array();
          data.push(d);
          ackIds.push(m.ackId);
          bytes += d.length;
        }
        if (got.messages.length < want) break;
      }
    } catch (e) {
      if (reasonOfAny(e) === "SUBSCRIPTION_NOT_FOUND") {
        registry.forget(id);
        // Messages taken by an earlier pull of this fetch are answered, not dropped.
        if (data.length === 0) return send(req, res, 404, "bad id");
      } else if (data.length === 0) return failed(req, res, "fetch", e);
      else deps.logger.warn("gophermq: fetch cut short; answering what it took", { subject, error: e });
    }
    // Encoded ahead with turns of the event loop between large messages (up to ~100 MB of JSON).
    sendJson(req, res, 200, { data: await goJsonStrings(data), id, subject });
    deps.settler.settle(res, signal, clients, subscription, ackIds);
    return 200;
  }

  return fetch;
}
