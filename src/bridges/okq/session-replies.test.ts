/**
 * How the okQ session writes replies: a pipeline of quick commands (pushes, pops, acks) leaves in
 * one write, in order, each reply after its own command; a reply is never held behind a command
 * that may block.
 */
import assert from "node:assert/strict";
import { Duplex, PassThrough } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { createOkqHarness } from "../../../test/helpers/okq-harness.js";
import { createFakeClock } from "../../util/index.js";
import { encodeCommand } from "./resp-encoder.js";

function harness(t: TestContext) {
  const h = createOkqHarness({ clock: createFakeClock(), okq: {} });
  t.after(() => h.close());
  return h;
}

const cmd = (...args: (string | Buffer)[]) => encodeCommand(args);
const ev = (id: string, v: string) => `*2\r\n$${id.length}\r\n${id}\r\n$${v.length}\r\n${v}\r\n`;

/** A raw connection to the bridge that records every chunk the server writes. */
function rawConnection(h: ReturnType<typeof createOkqHarness>) {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const chunks: Buffer[] = [];
  fromServer.on("data", (c: Buffer) => chunks.push(c));
  const socket = Duplex.from({ readable: toServer, writable: fromServer });
  h.bridge.handleConnection(socket);
  return {
    chunks,
    send: (b: Buffer) => toServer.write(b),
    text: () => Buffer.concat(chunks).toString("latin1"),
    destroy: () => socket.destroy(),
  };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("okq session replies", () => {
  it("session - a pipeline of pushes, pops and acks is answered in order in one write", async (t) => {
    const h = harness(t);
    const c = rawConnection(h);
    t.after(() => c.destroy());
    c.send(
      Buffer.concat([
        cmd("QLPUSH", "w", "a", "1"),
        cmd("QLPUSH", "w", "b", "2"),
        cmd("QRPOP", "w"),
        cmd("QRPOP", "w"),
        cmd("QRPOP", "w"),
        cmd("QACK", "w", "a"),
        cmd("QACK", "w", "nope"),
        cmd("QACK", "w", "b"),
        cmd("QRPEEK", "w"),
      ]),
    );
    const expected = `+OK\r\n+OK\r\n${ev("a", "1")}${ev("b", "2")}$-1\r\n:1\r\n:0\r\n:1\r\n$-1\r\n`;
    await until(() => c.text().length >= expected.length, "the replies");
    assert.equal(c.text(), expected);
    assert.equal(c.chunks.length, 1, "one write for the whole pipeline");
    const stats = await h.clients.admin.getStats({ topics: ["w"] });
    assert.equal(stats.subscriptions[0]?.backlog, 0n, "both acks were applied");
  });

  it("session - replies are not held behind a blocking command (QNOTIFY)", async (t) => {
    const h = harness(t);
    const c = rawConnection(h);
    t.after(() => c.destroy());
    c.send(Buffer.concat([cmd("QLPUSH", "n", "a", "1"), cmd("QRPOP", "n"), cmd("QNOTIFY", "30"), cmd("PING")]));
    const before = `+OK\r\n${ev("a", "1")}`;
    await until(() => c.text().length >= before.length, "the replies before QNOTIFY");
    assert.equal(c.text(), before, "answered while QNOTIFY still waits (30 s), and nothing after it yet");
  });

  it("session - QUIT after quick commands: their replies and +OK, then the connection closes", async (t) => {
    const h = harness(t);
    const c = rawConnection(h);
    t.after(() => c.destroy());
    c.send(Buffer.concat([cmd("QLPUSH", "x", "a", "1"), cmd("QRPOP", "x"), cmd("QUIT"), cmd("QRPOP", "x")]));
    const expected = `+OK\r\n${ev("a", "1")}+OK\r\n`;
    await until(() => c.text().length >= expected.length, "the replies");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.text(), expected, "nothing after QUIT runs");
  });
});
