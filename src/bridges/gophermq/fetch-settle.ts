import type { Logger } from "../../util/index.js";
import { type BrokerClients, reasonOf } from "../bridge.js";
import type { GopherResponse } from "./http-io.js";

/** What {@link createFetchSettler} needs. */
export interface FetchSettlerDeps {
  logger: Logger;
  /**
   * How long a fetch's answer may take to be written out (the client reading it) before the
   * connection is dropped and its messages given back. Must be well below the fetch's lease.
   */
  writeTimeoutMs: number;
}

/** Settles the leases of fetches once their answers are out (docs/gophermq.md "Fetch"). */
export interface FetchSettler {
  /**
   * Takes over the leases `ackIds` of a fetch whose answer is being written to `res`: they are
   * acked once the response has finished (its last byte handed to the operating system), and
   * given back (ModifyAckDeadline 0: available again at once) when the response closes first,
   * when `signal` (the request's) has aborted already, or when the answer is not written out
   * within the write timeout (the connection is then dropped).
   */
  settle(
    res: GopherResponse,
    signal: AbortSignal,
    clients: BrokerClients,
    subscription: string,
    ackIds: readonly string[],
  ): void;
  /** Settles (acks and releases) not yet done. */
  pending(): number;
  /**
   * Resolves once the settles of `subscription` started so far are done, or after `timeoutMs`:
   * a fetch waits for them, so messages an earlier fetch just gave back are there for it.
   */
  settled(subscription: string, timeoutMs: number): Promise<void>;
  /** Resolves once no settle is pending, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/**
 * Whether the answer on `res` was written out whole. Node emits `finish` on an HTTP/1.1 response
 * even when its socket died with the write pending (the write callback then carries the error),
 * so the socket, taken now while the response still holds it, must be intact; an HTTP/2 stream
 * must have ended without a reset.
 */
function answerDelivered(res: GopherResponse): () => boolean {
  if ("stream" in res) {
    const stream = res.stream;
    return () => res.writableFinished && (stream.rstCode ?? 0) === 0;
  }
  const socket = res.socket;
  return () => res.writableFinished && socket !== null && !socket.destroyed;
}

/** Creates the settler of one bridge. */
export function createFetchSettler(deps: FetchSettlerDeps): FetchSettler {
  const inFlight = new Set<Promise<void>>();
  const bySubscription = new Map<string, Set<Promise<void>>>();

  function track(subscription: string, work: Promise<void>): void {
    inFlight.add(work);
    let mine = bySubscription.get(subscription);
    if (!mine) {
      mine = new Set();
      bySubscription.set(subscription, mine);
    }
    mine.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      mine.delete(work);
      if (mine.size === 0 && bySubscription.get(subscription) === mine) bySubscription.delete(subscription);
    });
  }

  function run(
    kind: "ack" | "release",
    clients: BrokerClients,
    subscription: string,
    ackIds: readonly string[],
  ): Promise<void> {
    const call =
      kind === "ack"
        ? clients.subscriber.ack({ subscription, ackIds: [...ackIds] })
        : clients.subscriber.modifyAckDeadline({ subscription, ackIds: [...ackIds], ackDeadlineMs: 0n });
    return call.then(
      () => undefined,
      (error: unknown) => {
        // Deleted meanwhile: nothing left to settle. Anything else: the leases end on their own
        // and the messages come back then (an ack that failed may deliver them twice).
        if (reasonOf(error) === "SUBSCRIPTION_NOT_FOUND") return;
        deps.logger.warn(`gophermq: fetch ${kind} failed; the leases end on their own`, {
          subscription,
          messages: ackIds.length,
          error,
        });
      },
    );
  }

  return {
    settle(res, signal, clients, subscription, ackIds) {
      if (ackIds.length === 0) return;
      let done = false;
      const finish = (kind: "ack" | "release") => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        res.off("finish", onFinish);
        res.off("close", onClose);
        track(subscription, run(kind, clients, subscription, ackIds));
      };
      const delivered = answerDelivered(res);
      const onFinish = () => finish(delivered() ? "ack" : "release");
      const onClose = () => finish(delivered() ? "ack" : "release");
      const timer = setTimeout(() => {
        if (done) return;
        finish("release");
        res.destroy();
      }, deps.writeTimeoutMs);
      timer.unref?.();
      if (signal.aborted) finish("release");
      else if (res.writableFinished) finish(delivered() ? "ack" : "release");
      else {
        res.once("finish", onFinish);
        res.once("close", onClose);
      }
    },
    pending: () => inFlight.size,
    async settled(subscription, timeoutMs) {
      const mine = bySubscription.get(subscription);
      if (!mine) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...mine]), timeout]);
      clearTimeout(timer);
    },
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 10))]);
      }
    },
  };
}
