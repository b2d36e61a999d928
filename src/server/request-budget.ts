import type { ByteBudget } from "../util/index.js";

/** What is used of a request: its body as an async iterable (connect-node reads it so). */
type CountedRequest = AsyncIterable<Buffer>;
/** What is used of a response: its 'close' event. */
interface ClosingResponse {
  once(event: "close", listener: () => void): unknown;
}

/**
 * Counts a request's body against `budget` (the client's share of the shared budget) as its
 * handler reads it (connect-node reads through the request's async iterator), and gives the bytes
 * back when the response closes. A chunk that does not fit fails the read with `overBudget()`,
 * which the handler renders as that call's error (connect-node: in the protocol's own form).
 * With a `gate` (the credentials check), no byte is read before it resolves, and its rejection
 * fails the read the same way.
 */
export function countRequestBody(
  req: CountedRequest,
  res: ClosingResponse,
  budget: ByteBudget,
  overBudget: () => Error,
  gate?: Promise<void>,
): void {
  let taken = 0;
  const iterate = req[Symbol.asyncIterator].bind(req) as () => AsyncIterator<Buffer>;
  Object.defineProperty(req, Symbol.asyncIterator, {
    configurable: true,
    value: async function* counted(): AsyncGenerator<Buffer> {
      if (gate !== undefined) await gate;
      const it = iterate();
      let done = false;
      try {
        for (;;) {
          const next = await it.next();
          done = next.done === true;
          if (done) return;
          const chunk = next.value;
          if (!budget.tryTake(chunk.length)) throw overBudget();
          taken += chunk.length;
          yield chunk;
        }
      } finally {
        // Leaving early lets go of the request as connect's own loop would (destroying it).
        if (!done) await it.return?.();
      }
    },
  });
  res.once("close", () => {
    budget.release(taken);
    taken = 0;
  });
}
