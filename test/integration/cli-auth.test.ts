/**
 * `switchyard` as a child process with auth and TLS: hash-password round trip, the ready line,
 * the non-loopback warning, an unchanged Oh-Please-Queue config file, a bad config file naming
 * the key, and SIGHUP reloading the certificate.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import * as tls from "node:tls";
import { parsePasswordHash, verifyPassword } from "../../src/auth/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients } from "../helpers/clients.js";
import { rawClient } from "../helpers/okq-harness.js";
import { runCliToExit, startCli, testServeArgs } from "../helpers/spawn-cli.js";
import { createTestCertificate, writeTestCertificate } from "../helpers/test-certificate.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-cli-auth-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const BRIDGES_OFF = ["opq", "restmq", "ohpq", "ohpq-http", "gophermq", "gophermq-metrics"].flatMap((b) => [
  `--${b}-port`,
  "off",
]);

async function resp(address: string) {
  const [host, port] = address.split(":");
  const socket = net.connect(Number(port), host);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return rawClient(socket);
}

const cmd = (...args: string[]) => encodeCommand(args);

/** The JSON log lines (stderr) whose `msg` matches, as objects. */
function logLines(stderr: string, msg: RegExp): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => msg.test(String(l.msg)));
}

/** The SHA-256 fingerprint of the certificate a TLS server at `address` presents. */
async function fingerprint(address: string, ca: string): Promise<string> {
  const [host, port] = address.split(":");
  const socket = tls.connect({ host, port: Number(port), ca, ALPNProtocols: ["http/1.1"] });
  try {
    await new Promise((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    return socket.getPeerCertificate().fingerprint256;
  } finally {
    socket.destroy();
  }
}

describe("cli auth", () => {
  it("cli auth - hash-password reads stdin and prints a hash that logs the user in", async (t) => {
    const dir = await tempDir(t);
    const hashed = await runCliToExit(["hash-password"], { input: "s3cret pässword\n" });
    assert.equal(hashed.code, 0, hashed.stderr);
    const hash = hashed.stdout.trim();
    assert.match(hash, /^scrypt\$N=32768,r=8,p=1\$/);
    assert.equal(await verifyPassword("s3cret pässword", parsePasswordHash(hash)), true);
    assert.ok(!hashed.stdout.includes("s3cret"), "the password is not echoed");
    const config = join(dir, "switchyard.yaml");
    await writeFile(config, `users:\n  - name: ops\n    password_hash: "${hash}"\n    roles: [admin]\n`);
    const cli = await startCli(["serve", "--config", config, ...testServeArgs(join(dir, "data")).slice(1)]);
    t.after(() => cli.stop("SIGKILL"));
    assert.equal(cli.ready.auth, undefined, "auth is on: no auth key in the ready line");
    assert.deepEqual(
      logLines(cli.stderr(), /^auth on/).map((l) => [l.level, l.msg, l.users]),
      [["info", "auth on: every door asks for credentials", 1]],
    );
    const basic = `Basic ${Buffer.from("ops:s3cret pässword").toString("base64")}`;
    const c = createTestClients(cli.baseUrl, "connect", { authorization: basic });
    t.after(() => c.close());
    assert.deepEqual((await c.admin.listTopics({})).topics, []);
    assert.equal((await cli.stop("SIGTERM")).code, 0);
  });

  it("cli auth - hash-password refuses an empty stdin or an argument", async () => {
    const empty = await runCliToExit(["hash-password"], { input: "" });
    assert.equal(empty.code, 2, "a usage error");
    assert.match(empty.stderr, /one non-empty password line on stdin/);
    const arg = await runCliToExit(["hash-password", "hunter2"], { input: "x" });
    assert.equal(arg.code, 2);
    assert.match(arg.stderr, /unexpected argument hunter2 \(the password is read from stdin\)/);
  });

  it("cli auth - hash-password refuses a password longer than logins accept (1024 bytes)", async () => {
    const long = await runCliToExit(["hash-password"], { input: `${"é".repeat(513)}\n` });
    assert.equal(long.code, 2, "a usage error");
    assert.match(long.stderr, /the password is 1026 bytes; logins accept at most 1024 bytes/);
    assert.equal(long.stdout, "", "no hash printed");
    const longest = await runCliToExit(["hash-password"], { input: `${"x".repeat(1024)}\n` });
    assert.equal(longest.code, 0, longest.stderr);
    assert.match(longest.stdout, /^scrypt\$/);
  });

  it("cli auth - without users on a non-loopback --host the log warns that anyone may do anything", async (t) => {
    const dir = await tempDir(t);
    const cli = await startCli([...testServeArgs(dir), "--host", "0.0.0.0"]);
    t.after(() => cli.stop("SIGKILL"));
    assert.equal(cli.ready.auth, "off");
    const [warning] = logLines(cli.stderr(), /^auth off/);
    assert.equal(warning?.level, "warn");
    assert.match(String(warning?.msg), /^auth off, and --host 0\.0\.0\.0 is not a loopback address/);
  });

  it("cli auth - an unchanged Oh-Please-Queue config file starts the broker; flags override it", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "config.json");
    // The original ohpq config example, unchanged.
    await writeFile(
      file,
      JSON.stringify(
        {
          broker_id: "broker1",
          port: "8080",
          http_port: "8081",
          peers: ["localhost:8082"],
          savequeuepath: "./queues",
          enable_persistence: true,
          users: [
            { username: "bob", password: "password123", role: "publisher", allowed_queues: ["myqueue"] },
            { username: "alice", password: "alicepass", role: "subscriber", allowed_queues: ["read_all"] },
          ],
        },
        null,
        2,
      ),
    );
    // Its ports (8080, 8081) are overridden by flags, so the test needs no fixed port.
    const cli = await startCli([
      "serve",
      "--config",
      file,
      "--port",
      "0",
      "--okq-port",
      "0",
      ...BRIDGES_OFF,
      "--ohpq-port",
      "0",
      "--ohpq-http-port",
      "0",
    ]);
    t.after(() => cli.stop("SIGKILL"));
    assert.match(cli.stderr(), /peers localhost:8082 are not used/);
    assert.ok(existsSync(join(dir, "queues")), "savequeuepath is the data directory (relative to the file)");
    assert.ok((await readdir(join(dir, "queues"))).length > 0);
    const bob = await resp(cli.addresses.okq as string);
    t.after(() => bob.socket.destroy());
    await bob.roundtrip(cmd("AUTH", "bob", "password123"), "+OK\r\n");
    await bob.roundtrip(cmd("QLPUSH", "myqueue", "e1", "Hello, world!"), "+OK\r\n");
    await bob.roundtrip(
      cmd("QLPUSH", "other", "e1", "x"),
      "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
    );
    const alice = await resp(cli.addresses.okq as string);
    t.after(() => alice.socket.destroy());
    await alice.roundtrip(
      cmd("AUTH", "alice", "wrong"),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    await alice.roundtrip(cmd("AUTH", "alice", "alicepass"), "+OK\r\n");
    await alice.roundtrip(cmd("QRPOP", "myqueue", "EX", "0"), "*2\r\n$2\r\ne1\r\n$13\r\nHello, world!\r\n");
    assert.equal((await cli.stop("SIGTERM")).code, 0);
  });

  it("cli auth - a bad config file fails the start naming the key, without echoing passwords", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      "users:\n  - name: a\n    password: topsecret1\n    roles: [publisher]\n  - name: b\n    password: topsecret2\n    roles: [publisher, superuser]\n",
    );
    const bad = await runCliToExit(["serve", "--config", file, ...testServeArgs(dir).slice(1)]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.match(
      bad.stderr,
      /invalid config file .*bad\.yaml: users\[1\]\.roles\[1\]: expected one of publisher, subscriber, admin/,
    );
    assert.ok(!bad.stderr.includes("topsecret"), bad.stderr);
    await writeFile(file, "users:\n  - name: a\n    pasword: x\n    roles: [admin]\n");
    const typo = await runCliToExit(["serve", "--config", file, ...testServeArgs(dir).slice(1)]);
    assert.match(typo.stderr, /users\[0\]\.pasword: expected no such key/);
    await writeFile(file, "port: 0\ntls-cert: missing.pem\ntls-key: missing-key.pem\n");
    const tlsMissing = await runCliToExit(["serve", "--config", file, ...testServeArgs(dir).slice(1)]);
    assert.equal(tlsMissing.code, 1);
    assert.match(tlsMissing.stderr, /--tls-cert .*missing\.pem: cannot read it \(ENOENT\)/);
  });

  it("cli auth - SIGHUP reloads the TLS certificate; a broken pair is refused and the old one stays", async (t) => {
    const dir = await tempDir(t);
    const cert = await writeTestCertificate();
    t.after(() => cert.remove());
    const cli = await startCli([
      ...testServeArgs(dir),
      "--okq-port",
      "0",
      "--tls-cert",
      cert.certFile,
      "--tls-key",
      cert.keyFile,
    ]);
    t.after(() => cli.stop("SIGKILL"));
    const first = cert.fingerprint256;
    assert.equal(await fingerprint(cli.addresses.rpc as string, cert.cert), first);
    assert.equal(await fingerprint(cli.addresses.okq as string, cert.cert), first);
    const next = createTestCertificate("switchyard test 2");
    await cert.replace(next);
    cli.child.kill("SIGHUP");
    await cli.waitForStderr("tls certificate reloaded");
    assert.equal(await fingerprint(cli.addresses.rpc as string, next.cert), next.fingerprint256);
    assert.equal(await fingerprint(cli.addresses.okq as string, next.cert), next.fingerprint256);
    await writeFile(cert.keyFile, createTestCertificate().key); // a key that does not fit the certificate
    cli.child.kill("SIGHUP");
    await cli.waitForStderr("tls certificate not reloaded; the previous one stays");
    assert.equal(await fingerprint(cli.addresses.rpc as string, next.cert), next.fingerprint256);
    assert.equal((await cli.stop("SIGTERM")).code, 0);
  });
});
