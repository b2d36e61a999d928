/**
 * A fast-check property: whatever lines a client sends, the session answers every non-empty line
 * with exactly one well-formed reply line, in order, stays open, and never fails internally.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createOhpqHarness, TRANSCRIPT_USERS } from "../../../test/helpers/ohpq-harness.js";
import { createFakeClock, type Logger } from "../../util/index.js";
import { splitToken } from "./text-format.js";

/** Every reply a line may get (SUB and QUIT are left out of the input: they push or close). */
const REPLY =
  /^(OK|OK authenticated|PONG|EMPTY|MESSAGE \S+ .*|ERROR (not authenticated|authentication failed|permission denied|no pending message|unknown command|invalid arguments|invalid queue name|message too large))$/s;

const keyword = fc.constantFrom("AUTH", "PUB", "GET", "ACK", "PING", "pub", "Get", "ack", "NOPE", "");
const word = fc.oneof(
  fc.constantFrom("q", "jobs", "myqueue", "bob", "password123", '"', '"quoted"', '"a\\"b"', "\\", "\t", "\r"),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a.filter((x) => x !== 10)).toString("latin1")),
);
const commandLine = fc
  .tuple(keyword, fc.array(word, { maxLength: 4 }), fc.constantFrom(" ", "  ", "\t "))
  .map(([k, words, sep]) => [k, ...words].join(sep));
const randomLine = fc
  .uint8Array({ maxLength: 40 })
  .map((a) => Buffer.from(a.filter((x) => x !== 10)).toString("latin1"));
const line = fc.oneof(commandLine, randomLine).filter((l) => {
  const first = splitToken(Buffer.from(l, "latin1"))?.token.toString("latin1").toUpperCase();
  return first !== "SUB" && first !== "QUIT";
});

/** True when the line is a command (not empty or spaces only, once a trailing CR is dropped). */
function answered(l: string): boolean {
  const body = l.endsWith("\r") ? l.slice(0, -1) : l;
  return splitToken(Buffer.from(body, "latin1")) !== undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ohpq session property", () => {
  it("ohpq property - arbitrary lines get one well-formed reply each, in order, and never an internal failure", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 25 }), fc.boolean(), async (lines, withAuth) => {
        const failures: unknown[] = [];
        const logger: Logger = { info() {}, warn() {}, error: (m, f) => failures.push({ m, f }) };
        const h = createOhpqHarness({
          clock: createFakeClock(),
          logger,
          ...(withAuth ? { users: TRANSCRIPT_USERS } : {}),
        });
        try {
          const c = h.connect();
          c.send(Buffer.from(`${lines.join("\n")}\nAUTH alice s3cret\nPING\n`, "latin1"));
          const expected = lines.filter(answered).length + 2;
          const deadline = Date.now() + 5_000;
          let got: string[] = [];
          while (Date.now() < deadline) {
            got = c.buffered().toString("latin1").split("\n").slice(0, -1);
            if (got.length >= expected) break;
            await sleep(2);
          }
          assert.equal(got.length, expected, `one reply per line; got ${JSON.stringify(got)}`);
          for (const reply of got) assert.match(reply, REPLY);
          assert.equal(got[got.length - 1], "PONG");
          assert.deepEqual(failures, []);
        } finally {
          await h.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
