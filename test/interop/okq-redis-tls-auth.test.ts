/**
 * redis-cli (Debian's redis-tools) against the okQ bridge with users and TLS: `--tls --cacert`,
 * `--user`/`--pass`, and Redis 6's refusals as redis-cli prints them. Part of `npm run
 * test:interop`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

const run = promisify(execFile);

let server: TestServer;
let certificate: TestCertificateFiles;

before(async () => {
  certificate = await writeTestCertificate();
  server = await startTestServer({
    config: {
      tlsCert: certificate.certFile,
      tlsKey: certificate.keyFile,
      users: [{ name: "app", password: "app-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["jobs"] }],
    },
  });
});
after(async () => {
  await server.close();
  await certificate.remove();
});

function cli(auth: string[], ...args: string[]): Promise<string> {
  const { host, port } = server.okq as { host: string; port: number };
  const base = ["--tls", "--cacert", certificate.certFile, "-h", host, "-p", String(port), "--no-auth-warning"];
  return run("redis-cli", [...base, ...auth, ...args]).then((r) => r.stdout);
}

describe("okq with redis-cli over TLS with users", () => {
  it("okq tls - redis-cli --tls --user --pass pushes, pops and acks", async () => {
    const app = ["--user", "app", "--pass", "app-pw"];
    assert.equal(await cli(app, "QLPUSH", "jobs", "e1", "hello"), "OK\n");
    assert.equal(await cli(app, "QRPOP", "jobs"), "e1\nhello\n");
    assert.equal(await cli(app, "QACK", "jobs", "e1"), "1\n");
    assert.match(
      await cli(app, "QLPUSH", "other", "e1", "x"),
      /NOPERM this user has no permissions to access one of the keys/,
    );
  });

  it("okq tls - without credentials NOAUTH; with a wrong password the AUTH error", async () => {
    assert.match(await cli([], "QRPOP", "jobs"), /NOAUTH Authentication required/);
    const wrong = await run("redis-cli", [
      "--tls",
      "--cacert",
      certificate.certFile,
      "-h",
      (server.okq as { host: string }).host,
      "-p",
      String((server.okq as { port: number }).port),
      "--no-auth-warning",
      "--user",
      "app",
      "--pass",
      "nope",
      "PING",
    ]);
    assert.equal(wrong.stderr, "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n");
    assert.match(wrong.stdout, /^NOAUTH Authentication required\./);
  });
});
