/**
 * HTTP/2 streams that are gone before the server routes them (found by the lean-rpc fuzzer): a
 * client that opens a stream and resets it at once, many times over one session, must not crash
 * the server (the stream's session is already unset when the 'stream' event fires).
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { startTestServer } from "../helpers/start-test-server.js";

test("rpc http2 - streams reset as soon as they are opened do not crash the server", async (t) => {
  const s = await startTestServer();
  t.after(() => s.close());
  const session = http2.connect(s.baseUrl);
  session.on("error", () => {});
  t.after(() => session.destroy());
  for (let i = 0; i < 300; i++) {
    const req = session.request({
      ":method": "POST",
      ":path": i % 2 ? "/switchyard.v1.PublisherService/Publish" : "/switchyard.v1.AdminService/ListTopics",
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    req.write(Buffer.from([0, 0, 0, 0, 0]));
    req.close(http2.constants.NGHTTP2_CANCEL);
  }
  await new Promise((r) => setTimeout(r, 300));
  const admin = createClient(AdminService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1" }));
  assert.deepEqual((await admin.listTopics({})).topics, []);
});

for (const leanRpc of ["on", "off"] as const) {
  test(`rpc http2 - streams reset with an error code right after their headers do not crash the server (lean ${leanRpc})`, async (t) => {
    // A reset with an error code (not CANCEL) makes Node emit 'error' on the server's stream; with no
    // listener that was an uncaught exception (connect-node's client sends INTERNAL_ERROR when a call's
    // signal was aborted with a custom reason).
    const s = await startTestServer({ config: { leanRpc } });
    t.after(() => s.close());
    const session = http2.connect(s.baseUrl);
    session.on("error", () => {});
    t.after(() => session.destroy());
    const codes = [
      http2.constants.NGHTTP2_INTERNAL_ERROR,
      http2.constants.NGHTTP2_PROTOCOL_ERROR,
      http2.constants.NGHTTP2_FLOW_CONTROL_ERROR,
      http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
    ];
    const paths = [
      "/switchyard.v1.PublisherService/Publish",
      "/switchyard.v1.AdminService/ListTopics",
      "/switchyard.v1.SubscriberService/Subscribe",
      "/metrics",
    ];
    for (let i = 0; i < 200; i++) {
      const req = session.request({
        ":method": "POST",
        ":path": paths[i % paths.length] as string,
        "content-type": i % 3 ? "application/grpc" : "application/proto",
        te: "trailers",
      });
      req.on("error", () => {});
      // Half the streams reset before any body, half after a partial frame.
      if (i % 2) req.write(Buffer.from([0, 0, 0, 0, 9, 1]));
      req.close(codes[i % codes.length]);
    }
    await new Promise((r) => setTimeout(r, 300));
    const admin = createClient(AdminService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1" }));
    assert.deepEqual((await admin.listTopics({})).topics, []);
  });
}
