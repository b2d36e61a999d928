/** The queue directory's waits leave nothing behind (QNOTIFY on queues that are never created). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerClients } from "../bridge.js";
import { createQueueDirectory } from "./queue-directory.js";

describe("okq queue directory", () => {
  it("queue directory - aborted waits for names never created leave no entry behind", async () => {
    // created() never calls the broker: no clients needed.
    const dir = createQueueDirectory({} as BrokerClients);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const ac = new AbortController();
      waits.push(dir.created(`never-${i}`, ac.signal).catch(() => {}));
      // Two waiters on some names: the entry goes with the last one.
      if (i % 10 === 0) {
        const other = new AbortController();
        waits.push(dir.created(`never-${i}`, other.signal).catch(() => {}));
        other.abort();
      }
      ac.abort();
    }
    await Promise.all(waits);
    assert.equal(dir.waitingNames(), 0);
  });

  it("queue directory - a wait still in progress keeps its name", async () => {
    const dir = createQueueDirectory({} as BrokerClients);
    const keep = new AbortController();
    const gone = new AbortController();
    const kept = dir.created("q", keep.signal).catch(() => {});
    const left = dir.created("q", gone.signal).catch(() => {});
    gone.abort();
    await left;
    assert.equal(dir.waitingNames(), 1);
    keep.abort();
    await kept;
    assert.equal(dir.waitingNames(), 0);
  });
});
