/** The okQ session: pipelined commands of every kind, hostile bytes, any chunking. */
import assert from "node:assert/strict";
import { duplexPair } from "node:stream";
import fc from "fast-check";
import { createOkqBridge } from "../../src/bridges/okq/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { recordMetrics } from "../helpers/okq-harness.js";
import { startFuzzBroker } from "./fuzz-broker.js";
import { chunked, type Fuzzer, mutated, until } from "./fuzz-kit.js";
import { readReplies } from "./resp-replies.js";

/** The first word of every error an okQ client may get (Redis' error codes). */
const ERROR_CODES = new Set(["ERR", "NOAUTH", "WRONGPASS", "NOPROTO"]);
const SERVER_FAULT = "ERR unexpected server-side error";

const NAMES = [
  "QLPUSH",
  "QRPUSH",
  "QRPOP",
  "QLPEEK",
  "QRPEEK",
  "QACK",
  "QREGISTER",
  "QNOTIFY",
  "QFLUSH",
  "QSTATUS",
  "QINFO",
  "PING",
  "INFO",
  "CLIENT",
  "SELECT",
  "HELLO",
  "COMMAND",
  "CONFIG",
  "ECHO",
  "AUTH",
  "qlpush",
  "qrpop",
  "NOPE",
  "",
];
const word = fc.oneof(
  fc.constantFrom(
    "q",
    "jobs",
    "e1",
    "e2",
    "EX",
    "0",
    "1",
    "-5",
    "abc",
    "NOBLOCK",
    "NOACK",
    "REDO",
    "3",
    "2",
    "SETNAME",
    "x y",
    "\u00e9",
  ),
  fc.string({ maxLength: 6 }),
  fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a).toString("latin1")),
);
/** Mostly a few queue names (so QSTATUS and QINFO stay small), sometimes anything. */
const first = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("q", "jobs", "3") }, { weight: 1, arbitrary: word });
const command = fc
  .tuple(fc.constantFrom(...NAMES), first, fc.array(word, { maxLength: 4 }), fc.boolean())
  .map(([name, head, rest, noArgs]) => {
    const args = noArgs ? [] : [head, ...rest];
    // QNOTIFY may only wait 0 s (a case must end); other timeouts are refused or immediate. Its
    // timeout parses as Go's strconv.Atoi does, so "+3" is 3 seconds too, and an inline command
    // splits a word like "4 x" or quotes into more than one argument: any digit means 0.
    if (name === "QNOTIFY" && args.length > 0 && /\d/.test(args[0] as string)) args[0] = "0";
    return [name, ...args];
  });
/** A piece of input, and whether it ends at a command boundary (so a final ECHO must be answered). */
interface Piece {
  bytes: Uint8Array;
  clean: boolean;
}
const resp = command.map(
  (c): Piece => ({ bytes: new Uint8Array(encodeCommand(c.map((a) => Buffer.from(a, "latin1")))), clean: true }),
);
const inline = command.map(
  (c): Piece => ({
    bytes: new Uint8Array(Buffer.from(`${c.join(" ")}\r\n`, "latin1")),
    clean: !/[\r\n]/.test(c.join(" ")),
  }),
);
const piece = fc.oneof(
  { weight: 6, arbitrary: resp },
  { weight: 2, arbitrary: inline },
  { weight: 1, arbitrary: mutated(resp.map((p) => p.bytes)).map((bytes): Piece => ({ bytes, clean: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((bytes): Piece => ({ bytes, clean: false })) },
);

export const okqSessionFuzzer: Fuzzer = {
  name: "okq-session",
  description:
    "okQ session on an in-memory broker: pipelined RESP and inline commands (every okQ and housekeeping " +
    "command, random arguments), mutated and random bytes, cut anywhere; every reply is well-formed RESP, " +
    "every error starts with a Redis error code, no server fault and no error logged, and the connection " +
    "either answers a final ECHO or was closed for a protocol error or QUIT",
  async start() {
    const fb = startFuzzBroker({ maxMessageBytes: 4096 });
    const { clients, logger } = fb;
    const bridge = createOkqBridge(
      { clients, logger, metrics: recordMetrics(), shutdownSignal: fb.shutdownSignal },
      { maxMessageBytes: 4096, maxPendingBytes: 64 * 1024, maxPendingCommands: 64 },
    );
    /** True once no session of the bridge has had work for a few event-loop turns; false after 3 s. */
    async function quiet(): Promise<boolean> {
      const deadline = Date.now() + 3_000;
      for (let idle = 0; idle < 5; ) {
        await new Promise((r) => setImmediate(r));
        idle = bridge.inFlight() === 0 ? idle + 1 : 0;
        if (Date.now() > deadline) return false;
      }
      return true;
    }
    let nonce = 0;
    const property = fc.asyncProperty(
      fc.array(piece, { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (pieces, cuts) => {
        const [client, server] = duplexPair();
        client.on("error", () => {});
        bridge.handleConnection(server);
        let received = Buffer.alloc(0);
        client.on("data", (d: Buffer) => {
          received = Buffer.concat([received, d]);
        });
        let closed = false;
        server.once("close", () => {
          closed = true;
        });
        server.once("finish", () => {
          closed = true;
        });
        // Input that ends at a command boundary gets a final ECHO, which must be answered (or the
        // connection was closed for a protocol error). Other input is checked once the session is quiet.
        const clean = pieces.every((p) => p.clean);
        const marker = `end-${++nonce}`;
        const tail = Buffer.from(`$${marker.length}\r\n${marker}\r\n`);
        const answered = () =>
          received.length >= tail.length && received.subarray(received.length - tail.length).equals(tail);
        try {
          const input = Buffer.concat([
            ...pieces.map((p) => Buffer.from(p.bytes)),
            ...(clean ? [encodeCommand(["ECHO", marker])] : []),
          ]);
          for (const chunk of chunked(input, cuts)) client.write(chunk);
          if (clean)
            await until(
              () => answered() || closed,
              () => `the final ECHO: ${JSON.stringify(received.toString("latin1"))}`,
              3_000,
            );
          else if (!(await quiet())) {
            // Mutated input may ask QNOTIFY for a longer wait than a case lasts (the generator asks
            // for 0 s): a wait the protocol allows, which must end when its client goes away.
            assert.match(input.toString("latin1"), /qnotify/i, "the session is still busy after 3 s");
            client.destroy();
            assert.ok(await quiet(), "the session is still busy 3 s after its client left");
          }
          const { replies, used } = readReplies(received);
          if (clean && answered()) assert.equal(used, received.length, "nothing after the final ECHO");
          for (const r of replies) {
            if (!("error" in r)) continue;
            assert.notEqual(r.error, SERVER_FAULT, "a server fault");
            assert.ok(ERROR_CODES.has(r.error.split(" ", 1)[0] as string), `error code of ${JSON.stringify(r.error)}`);
          }
          assert.deepEqual(fb.errors(), [], "nothing logged as an error");
        } finally {
          client.destroy();
          server.destroy();
        }
      },
    );
    return fb.target(property, bridge);
  },
};
