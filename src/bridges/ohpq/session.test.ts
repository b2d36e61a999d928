/** The ohpq session over duplexPair (no ports): the golden transcripts, whole and byte by byte. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { createOhpqHarness, type OhpqHarnessOptions, TRANSCRIPT_USERS } from "../../../test/helpers/ohpq-harness.js";
import { parseTranscript, replayTranscript } from "../../../test/helpers/transcript.js";
import { createFakeClock } from "../../util/index.js";

const TRANSCRIPTS = new URL("../../../test/transcripts/ohpq/", import.meta.url).pathname;

function harness(t: TestContext, options: OhpqHarnessOptions = {}) {
  const clock = createFakeClock();
  const h = createOhpqHarness({ clock, users: TRANSCRIPT_USERS, ...options });
  t.after(() => h.close());
  return { ...h, clock };
}

describe("ohpq session transcripts", () => {
  for (const file of readdirSync(TRANSCRIPTS).filter((f) => f.endsWith(".txt"))) {
    const steps = parseTranscript(join(TRANSCRIPTS, file), { lineEnding: "\n" });
    it(`ohpq session - transcript ${file} (whole)`, async (t) => {
      await replayTranscript(harness(t).connect(), steps);
    });
    it(`ohpq session - transcript ${file} (byte by byte)`, async (t) => {
      await replayTranscript(harness(t).connect(), steps, { byteByByte: true });
    });
  }
});
