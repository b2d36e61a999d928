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
