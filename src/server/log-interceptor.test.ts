import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { type LogLine as Line, recordingLogger } from "../../test/helpers/recording-logger.js";
import { createLogInterceptor, peerKey } from "./log-interceptor.js";

/** A unary request as the interceptor sees it (only the fields it reads); `clientGone` aborts its signal. */
function unaryRequest(clientGone = false) {
  const controller = new AbortController();
  if (clientGone) controller.abort();
  return {
    stream: false,
    signal: controller.signal,
    service: { typeName: "switchyard.v1.PublisherService" },
    method: { name: "Publish" },
    contextValues: createContextValues().set(peerKey, "127.0.0.1:5000"),
  } as never;
}

async function call(debug: boolean, outcome: "ok" | ConnectError, clientGone = false): Promise<Line[]> {
  const { logger, lines } = recordingLogger(debug);
  const handler = createLogInterceptor(logger)(async () => {
    if (outcome !== "ok") throw outcome;
    return { stream: false } as never;
  });
  await handler(unaryRequest(clientGone)).catch(() => {});
  return lines;
}

describe("log interceptor", () => {
  it("log - with debug off a unary call logs only a server fault, at warn", async () => {
    assert.deepEqual(await call(false, "ok"), []);
    assert.deepEqual(await call(false, new ConnectError("no such topic", Code.NotFound)), []);
    const fault = await call(false, new ConnectError("disk on fire", Code.Internal));
    assert.equal(fault.length, 1);
    const [level, message, fields] = fault[0] as Line;
    assert.equal(level, "warn");
    assert.equal(message, "rpc failed");
    assert.equal(fields?.method, "switchyard.v1.PublisherService/Publish");
    assert.equal(fields?.peer, "127.0.0.1:5000");
    assert.equal(fields?.code, "Internal");
    assert.equal(fields?.message, "disk on fire");
    assert.equal(typeof fields?.durationMs, "number");
  });

  it("log - with debug on every unary call gets an rpc line with its code", async () => {
    const ok = await call(true, "ok");
    assert.deepEqual(
      ok.map(([level, message, fields]) => [level, message, fields?.code]),
      [["debug", "rpc", "OK"]],
    );
    const fault = await call(true, new ConnectError("disk on fire", Code.Internal));
    assert.deepEqual(
      fault.map(([level, message, fields]) => [level, message, fields?.code]),
      [
        ["debug", "rpc", "Internal"],
        ["warn", "rpc failed", "Internal"],
      ],
    );
  });

  it("log - a server-fault code of a call whose client left is a debug line only", async () => {
    const gone = new ConnectError("Premature close", Code.Unknown);
    assert.deepEqual(await call(false, gone, true), []);
    assert.deepEqual(
      (await call(true, gone, true)).map(([level, message, fields]) => [level, message, fields?.code]),
      [["debug", "rpc", "Unknown"]],
    );
  });
});
