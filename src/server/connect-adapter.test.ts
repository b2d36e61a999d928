import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { recordingLogger } from "../../test/helpers/recording-logger.js";
import type { Logger } from "../util/index.js";
import { createConnectAdapter } from "./connect-adapter.js";

/**
 * An HTTP/2 server of one adapter serving ListTopics. With `failWrites`, writing a response head
 * throws (as a bug in the response path would) while the client is still there.
 */
async function adapterServer(
  logger: Logger,
  failWrites: boolean,
): Promise<{ url: string; close: () => Promise<void> }> {
  const handler = createConnectAdapter({
    logger,
    acceptCompression: [],
    routes(router) {
      router.service(AdminService, {
        listTopics: () => ({ topics: [] }),
      });
    },
  });
  const server = http2.createServer((req, res) => {
    if (failWrites) {
      res.writeHead = () => {
        throw new Error("response head refused");
      };
    }
    handler(req, res as never);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("connect adapter", () => {
  it("adapter - a response that fails for a client still there is logged as an error and reset, not left open", async () => {
    const { logger, lines } = recordingLogger();
    const server = await adapterServer(logger, true);
    const session = http2.connect(server.url);
    session.on("error", () => {});
    try {
      const req = session.request({
        ":method": "POST",
        ":path": "/switchyard.v1.AdminService/ListTopics",
        "content-type": "application/proto",
        "connect-protocol-version": "1",
      });
      req.on("error", () => {});
      req.resume();
      req.end();
      const rstCode = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the failed response was left open")), 5_000);
        req.on("close", () => {
          clearTimeout(timer);
          resolve(req.rstCode ?? -1);
        });
      });
      assert.equal(rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
      assert.deepEqual(
        lines.filter(([level]) => level === "error").map(([level, message]) => [level, message]),
        [["error", "handler for rpc ListTopics of switchyard.v1.AdminService failed"]],
      );
    } finally {
      session.destroy();
      await server.close();
    }
  });

  it("adapter - a path that is no RPC goes to the fallback, 404 without one", async () => {
    const { logger } = recordingLogger();
    const server = await adapterServer(logger, false);
    const session = http2.connect(server.url);
    session.on("error", () => {});
    try {
      const status = await new Promise<number>((resolve) => {
        const req = session.request({ ":method": "GET", ":path": "/nothing?x=1" });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.resume();
        req.end();
      });
      assert.equal(status, 404);
    } finally {
      session.destroy();
      await server.close();
    }
  });
});
