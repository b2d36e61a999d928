/**
 * Pipelined runs: which commands join one run (one Pull, one Ack), and that a pipeline answers
 * exactly what the same commands answer one at a time (property, over pipelines that mix
 * byte-identical and differently spelled QRPOPs, QACKs of several queues, REDO, empty and
 * non-UTF-8 ids).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createOkqHarness, type RawClient } from "../../../../test/helpers/okq-harness.js";
import { createFakeClock } from "../../../util/index.js";
import { noMetrics } from "../../bridge.js";
import { type OkqContext, resolveOkqOptions } from "../context.js";
import { PendingInput } from "../pending-events.js";
import { encodeCommand } from "../resp-encoder.js";
import { collectRun } from "./runs.js";

const b = (s: string) => Buffer.from(s, "latin1");

/** The run the first of `commands` starts (each an argument list, name first), and what is left. */
function runOf(commands: string[][]): { names: string[]; values: (string | undefined)[]; left: number } {
  const ctx = { options: resolveOkqOptions({}), metrics: noMetrics } as unknown as OkqContext;
  const pending = new PendingInput(ctx.options, { bytes: 0 });
  for (const c of commands) pending.push({ type: "command", args: c.map(b) });
  const first = pending.take();
  assert.equal(first.type, "command");
  const args = (first as { args: Buffer[] }).args;
  const run = collectRun(ctx, { name: (first as { name: string }).name, args: args.slice(1) }, pending);
  return {
    names: run?.items.map((i) => i.name) ?? [],
    values: run?.items.map((i) => i.value) ?? [],
    left: pending.length,
  };
}

describe("okq runs", () => {
  it("runs - QRPOPs join while they parse alike, spelled the same or not", () => {
    const pop = ["QRPOP", "q", "EX", "60"];
    assert.equal(runOf([pop, pop, ["qrpop", "q", "ex", "60"], ["QRPOP", "q", "EX", "060"], pop]).left, 0);
    assert.deepEqual(runOf([pop, pop, ["QRPOP", "q"], pop]), {
      names: ["QRPOP", "QRPOP"],
      values: [undefined, undefined],
      left: 2,
    });
    assert.equal(runOf([pop, ["QRPOP", "q", "EX", "61"]]).left, 1);
    assert.equal(runOf([pop, ["QRPOP", "r", "EX", "60"]]).left, 1);
    assert.equal(runOf([pop, ["QRPOP", "q", "EX", "60", "NOACK"]]).left, 1);
  });

  it("runs - QACKs of one queue join with their own ids; REDO, empty and non-UTF-8 ids end the run", () => {
    const r = runOf([
      ["QACK", "q", "a"],
      ["QACK", "q", "b"],
      ["qack", "q", "c"],
      ["QACK", "q", "d", "REDO"],
      ["QACK", "q", "e"],
    ]);
    assert.deepEqual(r, { names: ["QACK", "QACK", "QACK"], values: ["a", "b", "c"], left: 2 });
    assert.equal(
      runOf([
        ["QACK", "q", "a"],
        ["QACK", "q", ""],
      ]).left,
      1,
    );
    assert.equal(
      runOf([
        ["QACK", "q", "a"],
        ["QACK", "q", "\xff"],
      ]).left,
      1,
    );
    assert.equal(
      runOf([
        ["QACK", "q", "a"],
        ["QACK", "r", "b"],
      ]).left,
      1,
    );
    assert.equal(
      runOf([
        ["QACK", "q", "a"],
        ["QACK", "q", "b", "x"],
      ]).left,
      0,
      "a third argument that is not REDO",
    );
  });
});

/** Reads whole replies (the kinds okQ's queue commands answer) off a raw client. */
function replyLength(buf: Buffer, at = 0): number {
  if (at >= buf.length) return -1;
  const end = buf.indexOf("\r\n", at);
  if (end < 0) return -1;
  const head = buf.toString("latin1", at, end);
  if (head[0] === "$") {
    const n = Number(head.slice(1));
    if (n < 0) return end + 2 - at;
    return end + 2 + n + 2 <= buf.length ? end + 2 + n + 2 - at : -1;
  }
  if (head[0] === "*") {
    let p = end + 2;
    for (let k = 0; k < Number(head.slice(1)); k++) {
      const n = replyLength(buf, p);
      if (n < 0) return -1;
      p += n;
    }
    return p - at;
  }
  return end + 2 - at;
}

/** Reads the next `count` whole replies off `c`, as text. */
async function readReplies(c: RawClient, count: number): Promise<string> {
  let out = "";
  for (let i = 0; i < count; i++) {
    const deadline = Date.now() + 5_000;
    while (replyLength(c.buffered()) < 0) {
      if (Date.now() > deadline) throw new Error("no reply");
      await new Promise((r) => setTimeout(r, 1));
    }
    const reply = c.buffered().subarray(0, replyLength(c.buffered()));
    out += reply.toString("latin1");
    await c.expect(reply);
  }
  return out;
}

/** Sends each command after the reply of the one before; returns the replies. */
async function oneByOne(c: RawClient, commands: Buffer[]): Promise<string> {
  let out = "";
  for (const command of commands) {
    c.send(command);
    out += await readReplies(c, 1);
  }
  return out;
}

const step = fc.oneof(
  fc.constant(["QRPOP", "q", "EX", "60"]),
  fc.constant(["qrpop", "q", "ex", "60"]),
  fc.constant(["QRPOP", "q"]),
  fc.constant(["QRPOP", "q", "EX", "0"]),
  fc.constant(["QRPOP", "r", "EX", "60"]),
  fc.constantFrom("e1", "e2", "e3", "e4", "r1", "", "\xff", "nope").map((id) => ["QACK", "q", id]),
  fc.constantFrom("e1", "e2", "r1").map((id) => ["QACK", "r", id]),
  fc.constantFrom("e1", "e2").map((id) => ["QACK", "q", id, "REDO"]),
  fc.constantFrom("e5", "e1").map((id) => ["QLPUSH", "q", id, "v"]),
);

describe("okq runs against one by one", () => {
  it("runs - a pipeline answers what its commands answer one at a time", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 24 }), async (steps) => {
        const commands = steps.map((s) => encodeCommand(s.map(b)));
        const answers: string[] = [];
        for (const pipelined of [true, false]) {
          const h = createOkqHarness({ clock: createFakeClock() });
          try {
            const c = h.connect();
            const setup = ["e1", "e2", "e3", "e4"].map((id) => encodeCommand(["QLPUSH", "q", id, `v-${id}`]));
            setup.push(encodeCommand(["QLPUSH", "r", "r1", "w"]));
            await oneByOne(c, setup);
            if (pipelined) c.send(Buffer.concat(commands));
            answers.push(pipelined ? await readReplies(c, commands.length) : await oneByOne(c, commands));
          } finally {
            await h.close();
          }
        }
        assert.equal(answers[0], answers[1]);
      }),
      { numRuns: 60 },
    );
  });
});
