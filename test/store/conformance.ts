/**
 * The store contract as a node:test suite. Every backend runs it unchanged: memory.test.ts and
 * lmdb.test.ts today, a clustered backend later (aedes-persistence abstract.js; bullmq's adapter
 * conformance). The cases live in ./conformance/*.ts, one area per file.
 */
import { describe } from "node:test";
import type { Store } from "../../src/store/index.js";
import { appendCases } from "./conformance/append.js";
import { catalogCases } from "./conformance/catalog.js";
import { deadLetterCases } from "./conformance/dead-letter.js";
import { deliveryCases } from "./conformance/delivery.js";
import { durabilityCases } from "./conformance/durability.js";
import { lifecycleCases } from "./conformance/lifecycle.js";
import { modelCases } from "./conformance/model.js";
import { orderedLinesCases } from "./conformance/ordered-lines.js";
import { orderingFilterCases } from "./conformance/ordering-filter.js";
import { peekBackCases } from "./conformance/peek-back.js";
import { rejectCases } from "./conformance/reject.js";
import { replayCases } from "./conformance/replay.js";
import { replayModelCases } from "./conformance/replay-model.js";
import { retentionCases } from "./conformance/retention.js";
import { settleCases } from "./conformance/settle.js";
import { ttlCases } from "./conformance/ttl.js";

export type { StoreFactory, StoreHarness } from "./conformance/helpers.js";

/**
 * Runs the conformance suite against a backend. `factory` makes a fresh, empty store per test;
 * `reopen` opens a new store on the same data after the test closed the first; `cleanup`
 * closes whatever is still open and removes the data.
 */
export function describeStoreConformance(
  name: string,
  factory: () => Promise<{ store: Store; reopen(): Promise<Store>; cleanup(): Promise<void> }>,
): void {
  describe(`store conformance - ${name}`, () => {
    describe("catalog", () => catalogCases(factory));
    describe("append", () => appendCases(factory));
    describe("delivery", () => deliveryCases(factory));
    describe("settle", () => settleCases(factory));
    describe("lifecycle", () => lifecycleCases(factory));
    describe("durability", () => durabilityCases(factory));
    describe("ordering and filters", () => orderingFilterCases(factory));
    describe("ttl", () => ttlCases(factory));
    describe("model", () => modelCases(factory));
    describe("dead letters", () => deadLetterCases(factory));
    describe("reject", () => rejectCases(factory));
    describe("replay", () => replayCases(factory));
    describe("retention", () => retentionCases(factory));
    describe("replay model", () => replayModelCases(factory));
    describe("peek from back", () => peekBackCases(factory));
    describe("ordered lines", () => orderedLinesCases(factory));
  });
}
