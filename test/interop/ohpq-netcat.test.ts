/**
 * The ohpq bridge driven by netcat (Debian's netcat-openbsd), as the README's example does,
 * against the real server (port 0, LMDB). Part of `npm run test:interop`, whose preflight
 * (scripts/interop-preflight.sh) fails with the apt-get line when `nc` is missing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(() => server.close());

/** Runs `nc -N host port` with `input` on stdin (-N: shut down the socket's sending side at EOF); its stdout. */
function nc(input: string): Promise<string> {
  const address = server.addresses.ohpq;
  assert.ok(address, "the ohpq listener is on");
  const i = address.lastIndexOf(":");
  const child = spawn("nc", ["-N", "-w", "5", address.slice(0, i), address.slice(i + 1)]);
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`nc did not finish; output so far ${JSON.stringify(out)}`));
    }, 10_000);
    child.once("error", reject);
    child.once("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe("ohpq with netcat", () => {
  it("ohpq - the README's nc session", async () => {
    const out = await nc(
      'AUTH bob password123\nPUB myqueue "Hello, world!"\nPUB myqueue hello again\nGET myqueue\nACK myqueue\nQUIT\n',
    );
    assert.equal(out, "OK authenticated\nOK\nOK\nMESSAGE myqueue Hello, world!\nOK\nOK bye\n");
    const next = await nc("GET myqueue\nGET myqueue\nACK myqueue\nGET myqueue\n");
    assert.equal(next, "MESSAGE myqueue hello again\nMESSAGE myqueue hello again\nOK\nEMPTY\n");
  });
});
