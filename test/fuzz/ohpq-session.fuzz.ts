/** The ohpq ("Oh, Please Queue") text session: any lines, any bytes, any chunking, auth on. */
import assert from "node:assert/strict";
import { duplexPair } from "node:stream";
import fc from "fast-check";
import { splitToken } from "../../src/bridges/ohpq/text-format.js";
import { createFakeClock, type Logger, silentLogger } from "../../src/util/index.js";
import { createOhpqHarness, TRANSCRIPT_USERS } from "../helpers/ohpq-harness.js";
import { rawClient } from "../helpers/okq-harness.js";
import { chunked, type Fuzzer, whenEvent } from "./fuzz-kit.js";

/** Every reply line a command may get (SUB and QUIT are left out: they push or close). */
const REPLY =
  /^(OK|OK authenticated|PONG|EMPTY|MESSAGE \S+ .*|ERROR (not authenticated|authentication failed|permission denied|no pending message|unknown command|invalid arguments|invalid queue name|message too large|queue full|line too long))$/s;
/** Longest line: small, so that the limit is reached often. */
const MAX_LINE_BYTES = 1024;

const keyword = fc.constantFrom("AUTH", "PUB", "GET", "ACK", "PING", "pub", "Get", "ack", "NOPE", "");
const word = fc.oneof(
  fc.constantFrom(
    "q",
    "jobs",
    "myqueue",
    "alice",
    "s3cret",
    "bob",
    "password123",
    '"',
    '"quoted"',
    '"a\\"b"',
    "\\",
    "\t",
    "\r",
  ),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a.filter((x) => x !== 10)).toString("latin1")),
);
const commandLine = fc
  .tuple(keyword, fc.array(word, { maxLength: 4 }), fc.constantFrom(" ", "  ", "\t "))
  .map(([k, words, sep]) => [k, ...words].join(sep));
const randomLine = fc
  .uint8Array({ maxLength: 40 })
  .map((a) => Buffer.from(a.filter((x) => x !== 10)).toString("latin1"));
const longLine = fc.constantFrom(`PUB q ${"x".repeat(MAX_LINE_BYTES)}`, "y".repeat(MAX_LINE_BYTES + 1));
const line = fc
  .oneof(
    { weight: 10, arbitrary: commandLine },
    { weight: 3, arbitrary: randomLine },
    { weight: 1, arbitrary: longLine },
  )
  .filter((l) => {
    const first = splitToken(Buffer.from(l, "latin1"))?.token.toString("latin1").toUpperCase();
    return first !== "SUB" && first !== "QUIT";
  });

/** True when the line is a command (not empty or spaces only, once a trailing CR is dropped). */
function answered(l: string): boolean {
  const body = l.endsWith("\r") ? l.slice(0, -1) : l;
  return splitToken(Buffer.from(body, "latin1")) !== undefined;
}

export const ohpqSessionFuzzer: Fuzzer = {
  name: "ohpq-session",
  description:
    "ohpq text session with auth on: command lines of every kind, random bytes, over-long lines, cut anywhere; " +
    "one well-formed reply per command in order, the connection closed only after 'ERROR line too long', " +
    "no internal error, nothing logged as an error",
  async start() {
    const failures: string[] = [];
    const logger: Logger = { ...silentLogger, error: (m) => failures.push(m) };
    const h = createOhpqHarness({
      clock: createFakeClock(),
      logger,
      users: TRANSCRIPT_USERS,
      ohpq: { maxLineBytes: MAX_LINE_BYTES },
      maxMessageBytes: 512,
    });
    const property = fc.asyncProperty(
      fc.array(line, { maxLength: 12 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (lines, login, cuts) => {
        // Not h.connect(): the harness keeps every connection it made.
        const [client, server] = duplexPair();
        client.once("close", () => server.destroy());
        server.once("close", () => client.destroy());
        h.bridge.handleConnection(server);
        const c = rawClient(client);
        try {
          const all = [...(login ? ["AUTH alice s3cret"] : []), ...lines, "AUTH alice s3cret", "PING"];
          // Replies expected up to and including the first over-long line (which closes the connection).
          const tooLong = all.findIndex((l) => Buffer.byteLength(l, "latin1") > MAX_LINE_BYTES);
          const sent = tooLong === -1 ? all : all.slice(0, tooLong + 1);
          const expected =
            sent.filter(answered).length + (tooLong === -1 ? 0 : 1 - (answered(all[tooLong] as string) ? 1 : 0));
          for (const chunk of chunked(Buffer.from(`${all.join("\n")}\n`, "latin1"), cuts)) c.send(chunk);
          const replies = () => c.buffered().toString("latin1").split("\n").slice(0, -1);
          await whenEvent(
            client,
            ["data", "close"],
            () => replies().length >= expected,
            () => `${expected} replies; got ${JSON.stringify(replies())}`,
            3_000,
          );
          const got = replies();
          for (const r of got) assert.match(r, REPLY);
          if (tooLong === -1) assert.equal(got[got.length - 1], "PONG");
          else {
            assert.equal(got[expected - 1], "ERROR line too long");
            await c.closed();
          }
          assert.equal(got.length, expected, "one reply per command");
          assert.deepEqual(failures.splice(0), [], "nothing logged as an error");
        } finally {
          c.socket.destroy();
        }
      },
    );
    return {
      property,
      async reset() {
        const { topics } = await h.clients.admin.listTopics({});
        for (const t of topics) await h.clients.admin.deleteTopic({ name: t.name }).catch(() => {});
      },
      close: () => h.close(),
    };
  },
};
