import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { linkSignals } from "./link-signals.js";

describe("linkSignals", () => {
  it("aborts with the first source's reason, and lets go of every source on dispose", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, b.signal);
    assert.equal(getEventListeners(a.signal, "abort").length, 1);
    b.abort("b went");
    assert.equal(linked.signal.aborted, true);
    assert.equal(linked.signal.reason, "b went");
    assert.equal(getEventListeners(a.signal, "abort").length, 0, "aborting removes the other listeners");
    const again = linkSignals(a.signal);
    again.dispose();
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
    assert.equal(again.signal.aborted, false);
  });

  it("is aborted at once when a source already is", () => {
    const a = new AbortController();
    a.abort(new Error("gone"));
    const linked = linkSignals(new AbortController().signal, a.signal);
    assert.equal(linked.signal.aborted, true);
    assert.equal((linked.signal.reason as Error).message, "gone");
  });

  it("many calls on one long-lived signal leave no listener behind", () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const call = new AbortController();
      const linked = linkSignals(call.signal, shutdown.signal);
      if (i % 2 === 0) call.abort();
      linked.dispose();
    }
    assert.equal(getEventListeners(shutdown.signal, "abort").length, 0);
  });
});
