/**
 * The short version of `npm run fuzz` inside `npm test`: every fuzzer for a few thousand cases
 * from a fresh random seed (printed on failure; rerun with `npm run fuzz -- --only NAME --seed S`).
 */
import { describe, it } from "node:test";
import { runFuzzer } from "./fuzz-kit.js";
import { FUZZERS } from "./fuzzers.js";

/** Cases per fuzzer: enough to cover every input shape, short enough for `npm test`. */
// The hostile-transport fuzzers open a connection per case and wait out leases: ~7 cases/s.
const SHORT_RUNS: Record<string, number> = { "resp-decoder": 5_000, "h2-hostile": 25, "bridge-hostile": 100 };
const DEFAULT_SHORT_RUNS = 1_000;

describe("fuzz (short)", () => {
  for (const fuzzer of FUZZERS) {
    it(`fuzz - ${fuzzer.name}: ${fuzzer.description}`, async () => {
      await runFuzzer(fuzzer, { runs: SHORT_RUNS[fuzzer.name] ?? DEFAULT_SHORT_RUNS });
    });
  }
});
