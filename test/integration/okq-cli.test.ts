/**
 * `switchyard serve --okq-port` as a real child process: the ready line names the okq listener,
 * a taken port stops the start naming --okq-port, SIGTERM with a RESP client connected exits 0.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { rawClient } from "../helpers/okq-harness.js";
import { runCliToExit, startCli, testServeArgs } from "../helpers/spawn-cli.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-okq-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The serve arguments with the okq listener on `port`. */
function withOkq(args: string[], port: string): string[] {
  const out = [...args];
  out[out.indexOf("--okq-port") + 1] = port;
  return out;
}

describe("okq cli", () => {
  it("okq cli - the ready line has the okq address; SIGTERM with a client connected exits 0", async (t) => {
    const cli = await startCli(withOkq(testServeArgs(await tempDir(t)), "0"));
    t.after(() => cli.stop("SIGKILL"));
    assert.deepEqual(Object.keys(cli.addresses), ["rpc", "okq"]);
    const [host, port] = (cli.addresses.okq ?? "").split(":");
    assert.notEqual(port, "0");
    const socket = net.connect(Number(port), host);
    t.after(() => socket.destroy());
    const c = rawClient(socket);
    await c.roundtrip(encodeCommand(["QLPUSH", "cliq", "1", "x"]), "+OK\r\n");
    assert.deepEqual(await cli.stop("SIGTERM"), { code: 0, signal: null });
    await c.closed();
  });

  it("okq cli - a taken okq port stops the start naming --okq-port", async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as net.AddressInfo).port;
    const exit = await runCliToExit(withOkq(testServeArgs(await tempDir(t)), String(port)));
    assert.equal(exit.code, 1);
    assert.equal(exit.stdout, "", "no ready line");
    assert.match(
      exit.stderr,
      new RegExp(`okq listener: port ${port} on 127\\.0\\.0\\.1 is already in use \\(change it with --okq-port\\)`),
    );
  });
});
