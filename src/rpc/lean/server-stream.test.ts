/**
 * The lean Subscribe stream on its own (anything that falls through gets a 500): every way a
 * stream ends lets go of the call and of the request bytes it counted, a request answered before
 * its body ended is closed, and a reader that stops reading pauses the stream at its window.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it, type TestContext } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { SubscribeRequestSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import { listenLeanOnly } from "../../../test/helpers/lean-only-listener.js";
import { grpcEnvelope, openSession } from "../../../test/helpers/raw-h2.js";
import { openRawStream } from "../../../test/helpers/raw-h2-stream.js";
import { createBroker } from "../../core/index.js";
import { createServerInterceptors } from "../../server/interceptors.js";
import { createMemoryStore } from "../../store/index.js";
import { createByteBudget, sharePerPeer, silentLogger } from "../../util/index.js";
import { createLeanRpc } from "./lean-rpc.js";

const SUBSCRIBE = { ":path": "/switchyard.v1.SubscriberService/Subscribe", "content-type": "application/grpc" };
const subscribe = (subscription: string, maxOutstandingMessages = 0) =>
  grpcEnvelope(
    toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { subscription, maxOutstandingMessages })),
  );

async function start(t: TestContext) {
  const broker = createBroker({ store: createMemoryStore() });
  await broker.createTopic({ name: "q", queue: true });
  const shutdown = new AbortController();
  const total = createByteBudget(1 << 20);
  const lean = createLeanRpc({
    broker,
    logger: silentLogger,
    interceptors: createServerInterceptors({ shutdownSignal: shutdown.signal }),
    shutdownSignal: shutdown.signal,
    readMaxBytes: 64 * 1024,
    requestBudget: sharePerPeer(total, 1 << 20),
  });
  const listener = await listenLeanOnly(lean);
  const session = await openSession(listener.baseUrl);
  t.after(async () => {
    session.destroy();
    shutdown.abort();
    await listener.destroy();
    await broker.close();
  });
  const settled = async () => {
    for (let i = 0; i < 200 && (lean.inFlight() > 0 || total.used() > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { inFlight: lean.inFlight(), usedBytes: total.used(), fellThrough: listener.fellThrough() };
  };
  return { broker, session, settled };
}

describe("lean server stream", () => {
  it("lean server stream - every ending lets go of the call and its request bytes", async (t) => {
    const { session, settled } = await start(t);
    const bodies: [string, Uint8Array, Record<string, string>][] = [
      ["not found", subscribe("nope"), {}],
      ["two messages", Buffer.concat([subscribe("q"), subscribe("q")]), {}],
      [
        "a message, then bytes that do not parse",
        Buffer.concat([subscribe("q"), grpcEnvelope(Buffer.from([0x0a]))]),
        {},
      ],
      ["a bad deadline header", subscribe("q"), { "grpc-timeout": "never" }],
      ["a body past the read limit", grpcEnvelope(Buffer.alloc(100_000)), {}],
    ];
    for (const [name, body, headers] of bodies) {
      const res = await openRawStream(session, { ...SUBSCRIBE, ...headers }, body).done;
      assert.notEqual(res.trailers["grpc-status"], undefined, name);
      assert.notEqual(res.trailers["grpc-status"], "0", name);
      assert.deepEqual(await settled(), { inFlight: 0, usedBytes: 0, fellThrough: 0 }, name);
    }
    const open = openRawStream(session, SUBSCRIBE, subscribe("q"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    open.cancel();
    await open.done;
    assert.deepEqual(await settled(), { inFlight: 0, usedBytes: 0, fellThrough: 0 }, "a cancelled stream");
  });

  it("lean server stream - a request answered while its client still uploads is closed, not left open", async (t) => {
    const { session, settled } = await start(t);
    const req = session.request({ ":method": "POST", ...SUBSCRIBE });
    req.on("error", () => {});
    req.resume();
    // Two messages, and the body never ends: the answer (UNIMPLEMENTED) goes out at once.
    req.write(Buffer.concat([subscribe("q"), subscribe("q")]));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once("trailers", resolve));
    assert.equal(trailers["grpc-status"], "12");
    // What still comes is dropped, up to one more request's worth; past it the stream is reset
    // with NO_ERROR (as the unary lean path does), so it cannot be held open by uploading.
    const closed = new Promise<void>((resolve) => req.once("close", () => resolve()));
    for (let i = 0; i < 10 && !req.closed; i++) req.write(Buffer.alloc(16 * 1024));
    await closed;
    assert.equal(req.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.deepEqual(await settled(), { inFlight: 0, usedBytes: 0, fellThrough: 0 });
  });

  it("lean server stream - a reader that stops reading pauses the stream after its first batch", async (t) => {
    const { broker, session, settled } = await start(t);
    const data = Buffer.alloc(100_000, 1);
    // 200 × 100 kB: five responses of at most 4 MiB each, all within the window of 1000.
    for (let i = 0; i < 200; i++) await broker.publish("q", [{ data }]);
    // The client reads nothing: HTTP/2 flow control fills, the write waits for 'drain', and the
    // core generator is not asked for a second batch.
    const req = session.request({ ":method": "POST", ...SUBSCRIBE });
    req.on("error", () => {});
    req.pause();
    req.end(subscribe("q", 1000));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stats = await broker.getStats(["q"]);
    const leased = stats.subscriptions.find((s) => s.name === "q")?.inFlight ?? -1;
    assert.ok(leased > 0 && leased <= 42, `leased ${leased}: one response's worth (4 MiB) at most`);
    req.close(http2.constants.NGHTTP2_CANCEL);
    assert.deepEqual(await settled(), { inFlight: 0, usedBytes: 0, fellThrough: 0 });
    const after = await broker.getStats(["q"]);
    assert.equal(
      after.subscriptions.find((s) => s.name === "q")?.inFlight,
      0,
      "the cancelled stream gave its messages back",
    );
  });
});
