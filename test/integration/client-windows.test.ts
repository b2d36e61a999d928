/**
 * The receive windows of the Node client's sessions (src/client/session-manager.ts): what a
 * server sees the client announce (its SETTINGS and the connection's WINDOW_UPDATE), with the
 * defaults, with options, with Node's own `settings` given, and a response of several MiB
 * leaving the server whole while the client has not read any of it. A raw HTTP/2 server stands
 * in for the broker: the broker does not show what its peers announce.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import {
  CLIENT_CONNECTION_WINDOW_BYTES,
  CLIENT_STREAM_WINDOW_BYTES,
  createSwitchyardSessionManager,
  createSwitchyardTransport,
  type SwitchyardTransportOptions,
} from "../../src/client/index.js";

/** HTTP/2's initial window of a connection and of each stream (RFC 9113, 6.9.2). */
const DEFAULT_WINDOW_BYTES = 65_535;

interface Seen {
  streamWindowBytes: number | undefined;
  /** How much the server may send on the connection before the client reads (its window). */
  connectionWindowBytes: number;
}

/**
 * A raw HTTP/2 server that answers each call with an empty Connect message and records, per
 * request, the windows the client announced by then.
 */
async function windowRecorder(t: TestContext) {
  const seen: Seen[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("stream", (stream) => {
    const { session } = stream;
    if (session === undefined) return;
    // The client's WINDOW_UPDATE for the connection follows its HEADERS: read the window once
    // the request's body has arrived too.
    stream.resume();
    stream.on("end", () => {
      seen.push({
        streamWindowBytes: session.remoteSettings.initialWindowSize,
        connectionWindowBytes: session.state.remoteWindowSize ?? 0,
      });
      stream.respond({ ":status": 200, "content-type": "application/proto" });
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const transports: { close(): void }[] = [];
  t.after(async () => {
    for (const tr of transports) tr.close();
    for (const session of sessions) session.destroy(); // a shared manager's, closed after this
    await new Promise((resolve) => server.close(resolve));
  });
  const call = async (options: Omit<SwitchyardTransportOptions, "baseUrl"> = {}) => {
    const transport = createSwitchyardTransport({ baseUrl, ...options });
    transports.push(transport);
    await createClient(AdminService, transport).getTopic({ name: "t" });
    return seen.at(-1);
  };
  return { baseUrl, call, seen };
}

describe("client receive windows", () => {
  it("client windows - a session announces 4 MiB per stream and opens 16 MiB for the connection", async (t) => {
    const { call } = await windowRecorder(t);
    assert.deepEqual(await call(), {
      streamWindowBytes: CLIENT_STREAM_WINDOW_BYTES,
      connectionWindowBytes: CLIENT_CONNECTION_WINDOW_BYTES,
    });
    assert.equal(CLIENT_STREAM_WINDOW_BYTES, 4 * 1024 * 1024);
    assert.equal(CLIENT_CONNECTION_WINDOW_BYTES, 16 * 1024 * 1024);
  });

  it("client windows - options set them, and Node's own settings win over the stream window", async (t) => {
    const { call } = await windowRecorder(t);
    assert.deepEqual(await call({ streamWindowBytes: 1 << 20, connectionWindowBytes: 8 << 20 }), {
      streamWindowBytes: 1 << 20,
      connectionWindowBytes: 8 << 20,
    });
    assert.deepEqual(await call({ nodeOptions: { settings: { initialWindowSize: 300_000 } } }), {
      streamWindowBytes: 300_000,
      connectionWindowBytes: CLIENT_CONNECTION_WINDOW_BYTES,
    });
    // HTTP/2's defaults, for a client that wants them.
    assert.deepEqual(
      await call({ streamWindowBytes: DEFAULT_WINDOW_BYTES, connectionWindowBytes: DEFAULT_WINDOW_BYTES }),
      { streamWindowBytes: DEFAULT_WINDOW_BYTES, connectionWindowBytes: DEFAULT_WINDOW_BYTES },
    );
  });

  it("client windows - a shared session manager keeps its windows on every new connection", async (t) => {
    const { baseUrl, seen } = await windowRecorder(t);
    const sessionManager = createSwitchyardSessionManager(baseUrl, { connectionWindowBytes: 2 << 20 });
    const transport = createSwitchyardTransport({ baseUrl, sessionManager });
    t.after(() => sessionManager.abort());
    await createClient(AdminService, transport).getTopic({ name: "t" });
    sessionManager.abort(); // the next call connects again
    await createClient(AdminService, transport).getTopic({ name: "t" });
    assert.equal(seen.length, 2);
    for (const s of seen)
      assert.deepEqual(s, { streamWindowBytes: CLIENT_STREAM_WINDOW_BYTES, connectionWindowBytes: 2 << 20 });
  });

  it("client windows - a window outside HTTP/2's range is refused when the manager is made", () => {
    for (const [option, value] of [
      ["streamWindowBytes", 65_534],
      ["connectionWindowBytes", 2 ** 31],
      ["streamWindowBytes", 1.5e6 + 0.5],
    ] as const) {
      assert.throws(
        () => createSwitchyardSessionManager("http://127.0.0.1:1", { [option]: value }),
        (e: unknown) => e instanceof RangeError && e.message.startsWith(`${option} must be an integer from 65535`),
      );
    }
  });

  it("client windows - a 3 MiB response goes out whole while the client reads nothing", async (t) => {
    const server = http2.createServer();
    let written: () => void = () => {};
    const allWritten = new Promise<void>((resolve) => {
      written = resolve;
    });
    const body = Buffer.alloc(3 * 1024 * 1024, 5);
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      // The callback runs once the data is handed to the socket: within the client's windows.
      stream.write(body, () => written());
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sessionManager = createSwitchyardSessionManager(baseUrl);
    t.after(async () => {
      sessionManager.abort();
      await new Promise((resolve) => server.close(resolve));
    });
    const stream = await sessionManager.request("POST", "/big", {}, {});
    stream.pause();
    stream.end();
    await allWritten; // with HTTP/2's 64 KiB windows this waits for reads that never come
    let received = 0;
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    assert.equal(received, body.length);
  });
});
