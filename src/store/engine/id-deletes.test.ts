/** The bookkeeping of the trim's id deletes (id-deletes.ts): what a plan takes, puts back and forgets. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KvWriter } from "../kv/kv.js";
import { IdDeletes } from "./id-deletes.js";
import { idStringKey, Table } from "./keys.js";
import type { TopicState } from "./state.js";

const key = (id: string, topic = 1) => idStringKey(Table.MessageId, topic, id);
const ids = (keys: readonly Buffer[]) => keys.map((k) => k.toString("utf8", 5)).sort();
const r = { view: () => undefined } as never; // no recovery: nothing is read
const topics = new Map<number, TopicState>([[1, {} as TopicState]]);

/** A writer that records puts. */
function recorder(): { w: KvWriter; puts: Array<[string, string]> } {
  const puts: Array<[string, string]> = [];
  const w = { put: (k: Buffer, v: Buffer) => puts.push([k.toString("utf8", 5), v.toString()]) } as unknown as KvWriter;
  return { w, puts };
}

describe("id deletes bookkeeping", () => {
  it("id deletes - a plan takes every waiting entry once", () => {
    const d = new IdDeletes();
    d.defer([key("a"), key("b")]);
    d.defer([key("a")]);
    assert.equal(d.size, 2);
    const plan = d.plan(r, [], topics);
    assert.deepEqual(ids(plan.keys), ["a", "b"]);
    assert.equal(d.size, 0);
    assert.deepEqual(d.plan(r, [], topics).keys, []);
  });

  it("id deletes - a write of a waiting entry takes it off the list", () => {
    const d = new IdDeletes();
    d.defer([key("a"), key("b")]);
    d.wrote(key("a"), Buffer.from("new"));
    assert.deepEqual(ids(d.plan(r, [], topics).keys), ["b"]);
  });

  it("id deletes - a write after the plan is put back by the step; a later delete or release cancels that", () => {
    const d = new IdDeletes();
    d.defer([key("a"), key("b"), key("c"), key("x", 2)]);
    const plan = d.plan(r, [], topics);
    d.wrote(key("a"), Buffer.from("a2")); // a publish of "a" that runs before the deletes
    d.wrote(key("b"), Buffer.from("b2"));
    d.deleted(key("b")); // then deleted by someone else: nothing to put back
    d.wrote(key("c"), Buffer.from("c2"));
    d.defer([key("c")]); // then released again: it should end deleted
    d.wrote(key("x", 2), Buffer.from("x2")); // topic 2 was deleted meanwhile
    d.wrote(key("z"), Buffer.from("z")); // not named by the plan
    const { w, puts } = recorder();
    d.applied(w, plan, topics);
    assert.deepEqual(puts, [["a", "a2"]]);
    d.wrote(key("a"), Buffer.from("a3")); // after the step: no longer its business
    assert.equal(plan.putBack.get(key("a").toString("latin1"))?.value.toString(), "a2");
    assert.deepEqual(ids(d.plan(r, [], topics).keys), ["c"], "c waits again");
  });

  it("id deletes - at most maxWaiting entries wait", () => {
    const d = new IdDeletes(2);
    assert.equal(d.hasRoom(), true);
    d.defer([key("a"), key("b")]);
    assert.equal(d.hasRoom(), false);
    d.plan(r, [], topics);
    assert.equal(d.hasRoom(), true);
  });
});
