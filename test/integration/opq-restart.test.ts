/**
 * OPQ delivery across a crash: the real CLI process on a temp data dir, SIGKILLed while the target
 * holds a delivery open, then started again on the same data.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { opqForm, opqPush } from "../helpers/opq-client.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";
import { startWebhookTarget } from "../helpers/webhook-target.js";

/** `switchyard serve` on port 0 with only the OPQ bridge on, and short delivery attempts. */
function opqServeArgs(dataDir: string): string[] {
  const args = testServeArgs(dataDir);
  const i = args.indexOf("--opq-port");
  args.splice(i, 2, "--opq-port", "0");
  return [...args, "--opq-timeout-ms", "1000"];
}

it("opq - a crash in the middle of delivery loses nothing: delivery resumes in order (duplicates only across the crash)", async (t) => {
  const target = await startWebhookTarget();
  const dataDir = await mkdtemp(join(tmpdir(), "switchyard-opq-"));
  t.after(async () => {
    await target.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  let holding = true;
  target.on("/r", () => (holding ? "hold" : 200));
  const url = target.url("/r");
  const first = await startCli(opqServeArgs(dataDir));
  try {
    const opq = `http://${first.addresses.opq}`;
    for (const m of ["m0", "m1", "m2", "m3"]) await opqPush(opq, "crash", url, [["message", m]]);
    await target.waitFor("/r", 1);
  } finally {
    await first.stop("SIGKILL");
  }
  holding = false;
  target.release(500);
  const second = await startCli(opqServeArgs(dataDir));
  try {
    const opq = `http://${second.addresses.opq}`;
    const got = await target.waitFor("/r", 5);
    const message = (i: number) => new URLSearchParams(got[i]?.body.toString()).get("message");
    assert.deepEqual(
      got.map((_, i) => message(i)),
      ["m0", "m0", "m1", "m2", "m3"],
      "m0 again once its lease from the killed process ran out, then the rest in order",
    );
    // The topic and its delivery position are on disk: a replay works after the restart too.
    const a = await opqForm(opq, "/opq/replay", [
      ["topic", "crash"],
      ["cmd", "3"],
    ]);
    assert.deepEqual([a.status, a.body], [201, "success"]);
    const again = await target.waitFor("/r", 6);
    assert.equal(new URLSearchParams(again[5]?.body.toString()).get("message"), "m3");
  } finally {
    const exit = await second.stop();
    assert.equal(exit.code, 0);
  }
});
