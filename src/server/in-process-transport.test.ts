/**
 * The direct in-process transport against the router transport it stands in for: the same
 * service implementation and interceptors behind both, and a caller that cannot tell them apart
 * (responses, the requests the interceptors see, errors as decoded from the wire), plus the calls
 * it leaves to the router.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, type DescMethodUnary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  createRouterTransport,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PullResponseSchema, SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../model/index.js";
import { ReceivedDeliveries } from "../rpc/convert.js";
import type { AnyUnaryImpl } from "../rpc/lean/hot-methods.js";
import { type DeliveriesSink, deliveriesSinkKey } from "../rpc/pull-response.js";
import { createDirectTransport, isWellFormedDeep } from "./in-process-transport.js";

const seenKey = createContextKey<string>("", { description: "test: set by the outer interceptor" });

/** What the interceptors and the implementation saw of each call. */
interface Seen {
  order: string[];
  contentType: string | null;
  url: string;
  valueAtStart: string;
  valueInImpl: string;
  request: unknown;
  /** The implementation's signal and deadline, as it saw them. */
  signal?: AbortSignal;
  timeoutMs?: number | undefined;
}

function setup() {
  const seen: Seen[] = [];
  let current: Seen;
  const outer: Interceptor = (next) => async (req) => {
    current = {
      order: ["outer"],
      contentType: req.header.get("content-type"),
      url: req.url,
      valueAtStart: req.contextValues.get(seenKey),
      valueInImpl: "",
      request: undefined,
    };
    seen.push(current);
    req.contextValues.set(seenKey, "set-by-outer");
    const res = await next(req);
    current.order.push("outer-done");
    return res;
  };
  const inner: Interceptor = (next) => (req) => {
    current.order.push("inner");
    return next(req);
  };
  const interceptors = [outer, inner];
  const pull = async (
    req: MessageShape<DescMessage>,
    ctx: { values: { get(k: typeof seenKey): string }; signal: AbortSignal; timeoutMs(): number | undefined },
  ) => {
    const r = req as unknown as { subscription: string; maxMessages: number };
    current.order.push("impl");
    current.signal = ctx.signal;
    current.timeoutMs = ctx.timeoutMs();
    current.valueInImpl = ctx.values.get(seenKey);
    current.request = toBinary(SubscriberService.method.pull.input, req as never);
    if (r.subscription === "fails") {
      throw new ConnectError("no such queue", Code.NotFound, { "x-why": "test" }, [
        {
          desc: ErrorDetailSchema,
          value: { reason: "SUBSCRIPTION_NOT_FOUND", metadata: { failed_message_ids: "a,b" } },
        },
      ]);
    }
    if (r.subscription === "throws") throw new Error("a bug");
    // What the real Pull returns (src/rpc/subscriber-service.ts): the direct path builds its response itself.
    if (r.subscription === "deliveries") return new ReceivedDeliveries(DELIVERIES);
    // An init shape, not a message: both paths must answer a full PullResponse.
    return {
      messages: [
        { ackId: "ack-1", deliveryAttempt: r.maxMessages, message: { id: "m1", data: new Uint8Array([1, 2]) } },
      ],
    };
  };
  const router = createRouterTransport((r) => r.service(SubscriberService, { pull: pull as never }), {
    router: { interceptors },
  });
  let fallbackCalls = 0;
  const counted: Transport = {
    unary(...a) {
      fallbackCalls++;
      return router.unary(...a);
    },
    stream: router.stream,
  };
  const direct = createDirectTransport(
    counted,
    new Map<DescMethodUnary, AnyUnaryImpl>([[SubscriberService.method.pull, pull as unknown as AnyUnaryImpl]]),
    interceptors,
  );
  return {
    seen,
    viaRouter: createClient(SubscriberService, router),
    viaDirect: createClient(SubscriberService, direct),
    fallbackCalls: () => fallbackCalls,
  };
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConnectError);
    return e;
  }
  assert.fail("expected a failure");
}

/** Two deliveries as the core hands them out: one with every optional time, one with none. */
const DELIVERIES: Delivery[] = [
  {
    ackId: "1-2-1-0",
    deliveryAttempt: 3,
    message: {
      topic: "q",
      seq: 2,
      id: "évent-2",
      data: new Uint8Array([7, 8, 9]),
      attributes: { k: "v" },
      publishTimeMs: 1_700_000_000_123,
      priority: 4,
      orderingKey: "key",
      deliverAtMs: 1_700_000_001_000,
      expireAtMs: 1_700_000_009_999,
    },
  },
  {
    ackId: "",
    deliveryAttempt: 1,
    message: {
      topic: "q",
      seq: 3,
      id: "e3",
      data: new Uint8Array(0),
      attributes: {},
      publishTimeMs: 5,
      priority: 0,
      orderingKey: "",
      deliverAtMs: 0,
      expireAtMs: 0,
    },
  },
];

describe("in-process direct transport", () => {
  it("direct transport - the core's deliveries (the real Pull's answer): the router's response", async () => {
    const s = setup();
    const a = await s.viaRouter.pull({ subscription: "deliveries" });
    const b = await s.viaDirect.pull({ subscription: "deliveries" });
    assert.equal(s.fallbackCalls(), 0);
    assert.deepEqual(toBinary(PullResponseSchema, b), toBinary(PullResponseSchema, a));
    assert.deepEqual(b, create(PullResponseSchema, new ReceivedDeliveries(DELIVERIES)));
    assert.equal(b.messages[1]?.message?.deliverAt, undefined);
    assert.equal(b.messages[0]?.message?.expireAt?.nanos, 999_000_000);
  });

  it("direct transport - a Pull whose caller asks for the deliveries hands them over and makes no message", async () => {
    const s = setup();
    const sink: DeliveriesSink = { deliveries: undefined };
    const contextValues = createContextValues().set(deliveriesSinkKey, sink);
    const res = await s.viaDirect.pull({ subscription: "deliveries" }, { contextValues });
    assert.equal(sink.deliveries, DELIVERIES);
    assert.deepEqual(res, create(PullResponseSchema), "no messages: the caller takes the deliveries");
    // Through the router (a call with headers goes there) the sink stays empty and the messages come.
    const other: DeliveriesSink = { deliveries: undefined };
    const routed = await s.viaDirect.pull(
      { subscription: "deliveries" },
      { headers: { "x-a": "1" }, contextValues: createContextValues().set(deliveriesSinkKey, other) },
    );
    assert.equal(other.deliveries, undefined);
    assert.deepEqual(routed, create(PullResponseSchema, new ReceivedDeliveries(DELIVERIES)));
  });

  it("direct transport - the same response, interceptor order and request as the router, without the router", async () => {
    const s = setup();
    const a = await s.viaRouter.pull({ subscription: "q", maxMessages: 7 });
    const b = await s.viaDirect.pull({ subscription: "q", maxMessages: 7 });
    assert.equal(s.fallbackCalls(), 0);
    assert.deepEqual(toBinary(PullResponseSchema, b), toBinary(PullResponseSchema, a));
    assert.deepEqual(b, create(PullResponseSchema, b), "a full message, defaults filled in");
    assert.equal(b.messages[0]?.message?.publishTime, undefined);
    assert.equal(b.messages[0]?.deliveryAttempt, 7);
    const [r, d] = s.seen;
    assert.deepEqual(d?.order, r?.order);
    assert.deepEqual(d?.order, ["outer", "inner", "impl", "outer-done"]);
    assert.deepEqual(d?.request, r?.request);
    assert.equal(d?.contentType, r?.contentType);
    assert.equal(d?.url, r?.url);
    assert.equal(d?.valueAtStart, "", "server context values start empty");
    assert.equal(d?.valueInImpl, "set-by-outer");
    assert.equal(r?.valueInImpl, "set-by-outer");
  });

  it("direct transport - the implementation's signal is live during the call and aborted after it, as the router's", async () => {
    const s = setup();
    await s.viaRouter.pull({ subscription: "q", maxMessages: 1 });
    await s.viaDirect.pull({ subscription: "q", maxMessages: 1 });
    await assert.rejects(s.viaDirect.pull({ subscription: "fails", maxMessages: 1 }));
    const [r, d, failed] = s.seen;
    for (const x of [r, d, failed]) {
      assert.equal(x?.timeoutMs, undefined, "no deadline");
      assert.equal(x?.signal?.aborted, true, "aborted once the call ended");
    }
    assert.equal(d?.signal?.reason?.name, r?.signal?.reason?.name);
    assert.equal(d?.signal?.reason?.name, "AbortError");
    assert.ok(failed?.signal?.reason instanceof ConnectError, "a failed call's signal carries its error");
  });

  it("direct transport - a request an interceptor replaces is the one the implementation sees; a late signal is aborted", async () => {
    let late: (() => AbortSignal) | undefined;
    const replace: Interceptor = (next) => (req) => next({ ...req, header: new Headers({ "x-replaced": "1" }) });
    const impl = async (_req: unknown, ctx: { requestHeader: Headers; signal: AbortSignal }) => {
      late = () => ctx.signal; // not read during the call
      return { messages: [{ ackId: ctx.requestHeader.get("x-replaced") ?? "none" }] };
    };
    const direct = new Map([[SubscriberService.method.pull, impl as unknown as AnyUnaryImpl]]);
    for (const interceptors of [[], [replace]]) {
      const router = createRouterTransport((r) => r.service(SubscriberService, { pull: impl as never }), {
        router: { interceptors },
      });
      for (const transport of [router, createDirectTransport(router, direct, interceptors)]) {
        const res = await createClient(SubscriberService, transport).pull({ subscription: "q" });
        assert.equal(res.messages[0]?.ackId, interceptors.length > 0 ? "1" : "none");
        assert.equal(late?.().aborted, true, "a signal first read after the call is already aborted");
        assert.equal(late?.().reason?.name, "AbortError");
      }
    }
  });

  it("direct transport - a ConnectError reaches the caller as the router's client decodes it", async () => {
    const s = setup();
    const a = await failure(s.viaRouter.pull({ subscription: "fails" }));
    const b = await failure(s.viaDirect.pull({ subscription: "fails" }));
    assert.equal(b.code, a.code);
    assert.equal(b.rawMessage, a.rawMessage);
    assert.equal(b.message, a.message);
    assert.equal(b.metadata.get("x-why"), a.metadata.get("x-why"));
    assert.deepEqual(b.details, a.details, "details as received: type and bytes");
    assert.deepEqual(b.findDetails(ErrorDetailSchema), a.findDetails(ErrorDetailSchema));
    assert.equal(b.findDetails(ErrorDetailSchema)[0]?.metadata.failed_message_ids, "a,b");
  });

  it("direct transport - anything but a ConnectError is an internal error, as over the wire", async () => {
    const s = setup();
    const a = await failure(s.viaRouter.pull({ subscription: "throws" }));
    const b = await failure(s.viaDirect.pull({ subscription: "throws" }));
    assert.equal(a.code, Code.Internal);
    assert.equal(b.code, a.code);
    assert.equal(b.rawMessage, "internal error");
    assert.equal(b.rawMessage, a.rawMessage);
  });

  it("direct transport - calls with a signal, a timeout or headers go through the router", async () => {
    const s = setup();
    await s.viaDirect.pull({ subscription: "q" }, { signal: new AbortController().signal });
    await s.viaDirect.pull({ subscription: "q" }, { timeoutMs: 5_000 });
    await s.viaDirect.pull({ subscription: "q" }, { headers: { "x-a": "1" } });
    assert.equal(s.fallbackCalls(), 3);
    await s.viaDirect.pull({ subscription: "q" });
    assert.equal(s.fallbackCalls(), 3);
  });

  it("direct transport - a lone surrogate goes through the router, which hands the server U+FFFD", async () => {
    const s = setup();
    await s.viaDirect.pull({ subscription: "q\ud800" });
    assert.equal(s.fallbackCalls(), 1);
    const request = s.seen[0]?.request as Uint8Array;
    assert.ok(Buffer.from(request).includes(Buffer.from("q\ufffd")), "the server saw the replacement character");
    assert.equal(isWellFormedDeep({ a: ["x", { b: "ok" }], m: { k: 1n } }), true);
    assert.equal(isWellFormedDeep({ a: ["x", { b: "\udc00" }] }), false);
    assert.equal(isWellFormedDeep({ m: { "\ud800": "v" } }), false, "map keys count");
  });
});
