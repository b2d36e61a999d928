import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it, type TestContext } from "node:test";
import { silentLogger } from "../util/index.js";
import { formatAddress } from "./listen.js";
import {
  createOnePortListener,
  HTTP2_CONNECTION_WINDOW_BYTES,
  HTTP2_STREAM_WINDOW_BYTES,
  type NodeHandler,
} from "./one-port-listener.js";

/** Answers with the number of request body bytes it read. */
const countBody: NodeHandler = (req, res) => {
  let n = 0;
  req.on("data", (b: Buffer) => {
    n += b.length;
  });
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(String(n));
  });
};

async function startH2(t: TestContext): Promise<http2.ClientHttp2Session> {
  const listener = createOnePortListener({ handler: countBody, logger: silentLogger });
  const address = await listener.listen({ name: "rpc", host: "127.0.0.1", port: 0, flag: "--port" });
  t.after(() => listener.destroy());
  const session = http2.connect(`http://${formatAddress(address)}`);
  t.after(() => session.destroy());
  session.on("error", () => {});
  return session;
}

/** POSTs `bytes` bytes on `session`; resolves with the answer's body. */
function post(session: http2.ClientHttp2Session, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": "/count" });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (s: string) => {
      body += s;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
    req.end(Buffer.alloc(bytes, 1));
  });
}

describe("HTTP/2 receive windows", () => {
  it("http2 - the server lets a client send 256 KiB per stream and 1 MiB per connection unacknowledged", async (t) => {
    const session = await startH2(t);
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    assert.equal(settings.initialWindowSize, HTTP2_STREAM_WINDOW_BYTES);
    // The connection's window is raised by a WINDOW_UPDATE right after the settings; a round trip
    // (this request) is enough for the client to have seen it.
    assert.equal(await post(session, 0), "0");
    assert.equal(session.state.remoteWindowSize, HTTP2_CONNECTION_WINDOW_BYTES);
  });

  it("http2 - bodies larger than both windows still arrive whole, several at once", async (t) => {
    const session = await startH2(t);
    const sizes = [3 * HTTP2_STREAM_WINDOW_BYTES + 17, HTTP2_CONNECTION_WINDOW_BYTES + 1, 90 * 1024];
    const answers = await Promise.all(sizes.map((n) => post(session, n)));
    assert.deepEqual(answers, sizes.map(String));
  });
});
