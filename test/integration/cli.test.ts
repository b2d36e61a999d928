/**
 * `switchyard serve` as a real child process: the ready line, startup errors, signals.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { runCliToExit, startCli, testServeArgs } from "../helpers/spawn-cli.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Listens on a free loopback port and returns it (closed by the test's teardown). */
async function occupyPort(t: TestContext): Promise<number> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return (blocker.address() as net.AddressInfo).port;
}

describe("cli", () => {
  it("cli - serve prints one ready line with the bound rpc address, SIGTERM exits 0", async (t) => {
    const cli = await startCli(testServeArgs(await tempDir(t)));
    t.after(() => cli.stop("SIGKILL"));
    assert.deepEqual(Object.keys(cli.addresses), ["rpc"]);
    assert.match(cli.addresses.rpc ?? "", /^127\.0\.0\.1:\d+$/);
    assert.notEqual(cli.addresses.rpc, "127.0.0.1:0");
    assert.deepEqual(cli.ready, { ...cli.addresses, auth: "off" }, "no users: the ready line says auth is off");
    assert.equal(cli.stdout(), `switchyard ready ${JSON.stringify(cli.ready)}\n`);
    const res = await fetch(`${cli.baseUrl}/healthz`, { headers: { connection: "close" } });
    assert.equal(await res.text(), "ok\n");
    const exit = await cli.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(cli.stderr(), /SIGTERM received/);
    assert.equal(cli.stdout().split("\n").filter(Boolean).length, 1, "stdout carries only the ready line");
  });

  it("cli - SIGINT also shuts down gracefully with exit 0", async (t) => {
    const cli = await startCli(testServeArgs(await tempDir(t)));
    t.after(() => cli.stop("SIGKILL"));
    assert.deepEqual(await cli.stop("SIGINT"), { code: 0, signal: null });
  });

  it("cli - a second signal during shutdown exits 1 at once", async (t) => {
    const cli = await startCli([...testServeArgs(await tempDir(t)), "--shutdown-grace-ms", "60000"]);
    t.after(() => cli.stop("SIGKILL"));
    // A request whose body never completes stays in flight, so shutdown waits out its grace period.
    const [host, port] = (cli.addresses.rpc ?? "").split(":");
    const socket = net.connect(Number(port), host);
    t.after(() => socket.destroy());
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    // Expect: 100-continue makes the server answer "100 Continue" as it takes up the request.
    const taken = new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.write(
      "POST /switchyard.v1.AdminService/ListTopics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
    );
    await taken;
    cli.child.kill("SIGTERM");
    await cli.waitForStderr("shutting down");
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 1, signal: null });
    assert.match(cli.stderr(), /SIGTERM again, exiting now/);
  });

  it("cli - a port in use stops the start with a clear message and exit 1", async (t) => {
    const port = await occupyPort(t);
    const args = testServeArgs(await tempDir(t));
    args[args.indexOf("--port") + 1] = String(port);
    const exit = await runCliToExit(args);
    assert.equal(exit.code, 1);
    assert.equal(exit.stdout, "", "no ready line");
    assert.match(
      exit.stderr,
      new RegExp(`rpc listener: port ${port} on 127\\.0\\.0\\.1 is already in use \\(change it with --port\\)`),
    );
  });

  it("cli - bad flags and values exit non-zero with a message", async () => {
    const unknown = await runCliToExit(["serve", "--bogus"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown flag --bogus/);
    const badPort = await runCliToExit(["serve", "--port", "seventy"]);
    assert.notEqual(badPort.code, 0);
    assert.match(badPort.stderr, /invalid --port "seventy": expected an integer from 0 to 65535/);
    const badBridge = await runCliToExit(["serve", "--okq-port", "on"]);
    assert.match(badBridge.stderr, /invalid --okq-port "on"/);
    const command = await runCliToExit(["launch"]);
    assert.notEqual(command.code, 0);
    assert.match(command.stderr, /unknown command "launch"/);
  });

  it("cli - --help lists every flag and exits 0", async () => {
    const help = await runCliToExit(["serve", "--help"]);
    assert.equal(help.code, 0);
    for (const flag of [
      "--config",
      "--data-dir",
      "--host",
      "--port",
      "--okq-port",
      "--opq-port",
      "--restmq-port",
      "--ohpq-port",
      "--ohpq-http-port",
      "--gophermq-port",
      "--gophermq-metrics-port",
      "--durability",
      "--max-message-bytes",
      "--log-level",
      "--tls-cert",
      "--tls-key",
      "--ohpq-broker-id",
    ]) {
      assert.ok(help.stdout.includes(flag), `${flag} missing from --help`);
    }
  });

  it("cli - bin/switchyard.js runs without --import tsx", async () => {
    const help = await runCliToExit(["--help"], { entry: "bin/switchyard.js", importTsx: false });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: switchyard \[options\] \[command\]/);
    assert.match(help.stdout, /^ {2}serve /m);
    assert.match(help.stdout, /^ {2}topics /m);
  });
});
