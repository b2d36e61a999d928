/**
 * Accept errors (issue 16, item 10). Node's contract: once a `net.Server` listens, a failed
 * accept(2) (EMFILE or ENFILE when descriptors run out, ENOMEM, …) that libuv reports through the
 * server handle's `onconnection` callback becomes an `error` event, and an `error` event with no
 * listener kills the process. Whether libuv reports one depends on its version and the errno: an
 * LD_PRELOAD shim making accept4 fail (ENFILE, EMFILE, ENOBUFS, ENOMEM, EPERM) showed that the
 * libuv 1.46 of Node 20.20 retries quietly instead, while libuv's own EMFILE path and older
 * versions call back with the error. So this test drives that exact callback of every listening
 * server of a real broker with the errnos a kernel gives, then checks that each listener
 * survived, logged it, and still serves.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { constants } from "node:os";
import { test } from "node:test";
import type { Logger } from "../../src/util/index.js";
import { startTestServer } from "../helpers/start-test-server.js";

interface ServerHandle {
  onconnection(status: number): void;
}

/** The listening `net.Server`s of this process (Node keeps them as active handles). */
function listeningServers(): net.Server[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is net.Server => h instanceof net.Server && h.listening);
}

function recordingLogger(lines: { message: string; fields: Record<string, unknown> | undefined }[]): Logger {
  const record = (message: string, fields?: Record<string, unknown>) => lines.push({ message, fields });
  return { info: () => {}, warn: record, error: record } as unknown as Logger;
}

/** Sends `request` and resolves with the first bytes of the answer. */
function ask(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(request));
    s.setTimeout(5_000, () => s.destroy(new Error(`no answer on port ${port}`)));
    s.once("data", (d: Buffer) => {
      resolve(d.toString("latin1"));
      s.destroy();
    });
    s.once("error", reject);
  });
}

test("accept errors - EMFILE, ENFILE and ENOMEM on every listener are survived and logged", async (t) => {
  const lines: { message: string; fields: Record<string, unknown> | undefined }[] = [];
  const before = new Set(listeningServers());
  const s = await startTestServer({ logger: recordingLogger(lines) });
  t.after(() => s.close());
  const servers = listeningServers().filter((x) => !before.has(x));
  assert.equal(servers.length, Object.keys(s.addresses).length, "one listening server per listener");

  const errnos = [constants.errno.EMFILE, constants.errno.ENFILE, constants.errno.ENOMEM];
  for (const server of servers) {
    const handle = (server as unknown as { _handle: ServerHandle })._handle;
    for (const errno of errnos) {
      // What libuv calls when accept(2) fails (the status is the negated errno).
      assert.doesNotThrow(() => handle.onconnection(-errno), `port ${(server.address() as net.AddressInfo).port}`);
    }
    assert.equal(server.listening, true);
  }
  // One line per listener (the rest of a burst is counted, not logged), naming the error.
  const logged = lines.filter((l) => l.message.includes("accepting a connection failed; still listening"));
  assert.equal(logged.length, servers.length);
  assert.deepEqual(new Set(logged.map((l) => l.fields?.code)), new Set(["EMFILE"]));

  // Every listener still serves.
  const port = (key: string) => Number((s.addresses[key] as string).split(":").pop());
  assert.equal(await ask(port("okq"), "PING\r\n"), "+PONG\r\n");
  assert.equal(await ask(port("ohpq"), "PING\n"), "PONG\n");
  for (const key of ["rpc", "opq", "restmq", "ohpq-http", "gophermq", "gophermq-metrics"]) {
    assert.match(await ask(port(key), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 \d{3}/, key);
  }
});
