import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { describe, it, type TestContext } from "node:test";
import { silentLogger } from "../util/index.js";
import { formatAddress, ListenError } from "./listen.js";
import { createOnePortListener, type NodeHandler, type OnePortListener } from "./one-port-listener.js";

const echoVersion: NodeHandler = (req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`HTTP/${req.httpVersion} ${req.url}`);
};

async function start(t: TestContext, handler = echoVersion, firstBytesTimeoutMs?: number) {
  const listener = createOnePortListener({
    handler,
    logger: silentLogger,
    ...(firstBytesTimeoutMs === undefined ? {} : { firstBytesTimeoutMs }),
  });
  const address = await listener.listen({ name: "rpc", host: "127.0.0.1", port: 0, flag: "--port" });
  t.after(() => listener.destroy());
  return { listener, address, url: `http://${formatAddress(address)}` };
}

function h2Get(url: string, path: string, createConnection?: () => net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, createConnection ? { createConnection } : {});
    session.on("error", reject);
    const req = session.request({ ":path": path });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (s: string) => {
      body += s;
    });
    req.on("end", () => {
      session.close();
      resolve(body);
    });
    req.on("error", reject);
  });
}

/** Reads from `socket` until `pattern` matches what came so far. */
function readUntil(socket: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (b: Buffer) => {
      text += b.toString("latin1");
      if (pattern.test(text)) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error(`closed before ${pattern}: ${JSON.stringify(text)}`)));
  });
}

async function connect(t: TestContext, listener: OnePortListener, address: net.AddressInfo): Promise<net.Socket> {
  const socket = net.connect(address.port, address.address);
  t.after(() => socket.destroy());
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  assert.ok(listener.connections() >= 0);
  return socket;
}

describe("one-port listener", () => {
  it("listener - serves HTTP/1.1 and h2c on the same port", async (t) => {
    const { url } = await start(t);
    const res = await fetch(`${url}/a`, { headers: { connection: "close" } });
    assert.equal(await res.text(), "HTTP/1.1 /a");
    assert.equal(await h2Get(url, "/b"), "HTTP/2.0 /b");
  });

  it("listener - an HTTP/2 preface arriving byte by byte is still recognised", async (t) => {
    const { url, address } = await start(t);
    const body = await h2Get(url, "/slow", () => {
      const socket = net.connect(address.port, address.address);
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
      let first = true;
      socket.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
        if (!first) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
        first = false;
        const bytes = Buffer.from(chunk);
        // Send the first 30 bytes one per event loop turn, then the rest.
        let i = 0;
        const step = () => {
          if (i < 30 && i < bytes.length) {
            write(bytes.subarray(i, i + 1));
            i++;
            setImmediate(step);
          } else write(bytes.subarray(i));
        };
        step();
        const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        cb?.();
        return true;
      }) as typeof socket.write;
      return socket;
    });
    assert.equal(body, "HTTP/2.0 /slow");
  });

  it("listener - while closing, a request on a busy HTTP/1.1 connection gets 503 and Connection: close", async (t) => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let requests = 0;
    const handler: NodeHandler = (req, res) => {
      requests++;
      if (req.url === "/hold") void held.then(() => echoVersion(req, res));
      else echoVersion(req, res);
    };
    const { listener, address } = await start(t, handler);
    const socket = await connect(t, listener, address);
    const all = readUntil(socket, /shutting down\n\r\n0\r\n\r\n$/);
    socket.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => listener.inFlight() === 1);
    listener.stopAccepting();
    socket.write("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => listener.inFlight() === 2);
    assert.equal(requests, 1, "the handler never sees a request that arrives while closing");
    const drained = listener.drain(5_000);
    release();
    const text = await all;
    assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*HTTP\/1\.1 \/hold/);
    assert.match(text, /HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*connection: close/i);
    assert.equal(await drained, true);
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    assert.equal(listener.connections(), 0);
  });

  it("listener - while closing, a closingHandler answers in the port's own dialect", async (t) => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler: NodeHandler = (req, res) => void held.then(() => echoVersion(req, res));
    const listener = createOnePortListener({
      handler,
      logger: silentLogger,
      closingHandler: (_req, res) => {
        res.writeHead(503, { "Content-Length": "18" });
        res.end("ServiceUnavailable");
      },
    });
    const address = await listener.listen({ name: "opq", host: "127.0.0.1", port: 0, flag: "--opq-port" });
    t.after(() => listener.destroy());
    const socket = await connect(t, listener, address);
    const all = readUntil(socket, /ServiceUnavailable$/);
    socket.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => listener.inFlight() === 1);
    listener.stopAccepting();
    socket.write("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => listener.inFlight() === 2);
    release();
    const text = await all;
    const second = text.slice(text.indexOf("HTTP/1.1 503"));
    assert.match(second, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.equal(second.match(/connection: close/gi)?.length, 1, "Connection: close, once");
    assert.match(second, /\r\n\r\nServiceUnavailable$/);
  });

  it("listener - stopAccepting closes idle connections and refuses new ones", async (t) => {
    const { listener, address, url } = await start(t);
    const idle = await connect(t, listener, address);
    const closed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
    listener.stopAccepting();
    await closed;
    await assert.rejects(fetch(url), (e: unknown) => /ECONNREFUSED/.test(String((e as Error).cause)));
    assert.equal(await listener.drain(1_000), true);
  });

  it("listener - a connection that stays silent is dropped after firstBytesTimeoutMs", async (t) => {
    const { listener, address } = await start(t, echoVersion, 50);
    const socket = await connect(t, listener, address);
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  });

  it("listener - drain gives up after its timeout; destroy closes what is left", async (t) => {
    const { listener, address } = await start(t, () => {});
    const socket = await connect(t, listener, address);
    socket.write("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => listener.inFlight() === 1);
    listener.stopAccepting();
    assert.equal(await listener.drain(20), false);
    await listener.destroy();
    assert.equal(listener.connections(), 0);
  });

  it("listener - upgraded sockets belong to onUpgrade: kept by stopAccepting, closed by destroy", async (t) => {
    const listener = createOnePortListener({
      handler: echoVersion,
      logger: silentLogger,
      onUpgrade: (_req, socket) =>
        socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"),
    });
    const address = await listener.listen({ name: "rpc", host: "127.0.0.1", port: 0, flag: "--port" });
    t.after(() => listener.destroy());
    const socket = await connect(t, listener, address);
    const switched = readUntil(socket, /101 Switching Protocols/);
    socket.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n");
    await switched;
    listener.stopAccepting();
    assert.equal(await listener.drain(1_000), true);
    assert.equal(listener.connections(), 1, "the upgraded socket stays until destroy");
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await listener.destroy();
    await closed;
  });

  it("listener - a port in use fails with a message naming listener, port and flag", async (t) => {
    const { address } = await start(t);
    const other = createOnePortListener({ handler: echoVersion, logger: silentLogger });
    await assert.rejects(
      other.listen({ name: "rpc", host: "127.0.0.1", port: address.port, flag: "--port" }),
      (e: unknown) =>
        e instanceof ListenError &&
        e.code === "EADDRINUSE" &&
        e.message === `rpc listener: port ${address.port} on 127.0.0.1 is already in use (change it with --port)`,
    );
    await other.destroy();
  });
});

/** Waits (bounded) for a condition that a socket event will make true. */
async function until(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
