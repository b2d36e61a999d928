import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import type { AnyUnaryImpl, HotMethod } from "./hot-methods.js";
import { LeanCall } from "./lean-call.js";
import { type UnaryHook, unaryHooksOf, withUnaryHook } from "./unary-hooks.js";

/** A lean call of Publish whose implementation is `impl`. */
function callOf(impl: AnyUnaryImpl): LeanCall {
  const hot: HotMethod = { method: PublisherService.method.publish, impl };
  return new LeanCall({
    hot,
    protocolName: "grpc",
    headers: { ":path": "/switchyard.v1.PublisherService/Publish", ":authority": "localhost" },
    timeoutMs: undefined,
    secure: false,
    responseHeader: {},
    responseTrailer: {},
    peer: { remoteAddress: "127.0.0.1", remotePort: 40000 },
  });
}

/** An interceptor (which must not run: the test fails if it does) with a hook that records what it sees. */
function hooked(
  name: string,
  log: string[],
  options: { throwInBefore?: boolean; replace?: unknown } = {},
): Interceptor {
  const chainMustNotRun: Interceptor = () => () => {
    throw new Error(`the chain of ${name} ran`);
  };
  const hook: UnaryHook<string> = {
    before() {
      log.push(`before ${name}`);
      if (options.throwInBefore) throw new ConnectError(`${name} refused`, Code.PermissionDenied);
      return name;
    },
    after(state, call, failed, error) {
      assert.equal(state, name);
      assert.equal(call.method.name, "Publish");
      log.push(`after ${name} ${failed ? (error as ConnectError).rawMessage : "ok"}`);
      return failed && options.replace !== undefined ? options.replace : error;
    },
  };
  return withUnaryHook(chainMustNotRun, hook);
}

describe("unary hooks", () => {
  it("are used only when every interceptor has one; null ones add no step", () => {
    const log: string[] = [];
    const a = hooked("a", log);
    const plain: Interceptor = (next) => next;
    const identity = withUnaryHook((next) => next, null);
    assert.equal(unaryHooksOf([a, plain]), undefined);
    assert.equal(unaryHooksOf([a, identity])?.length, 1);
    assert.deepEqual(unaryHooksOf([]), []);
  });

  it("run outermost first before the implementation and innermost first after it", async () => {
    const log: string[] = [];
    const output = { results: [] };
    const call = callOf(async () => {
      log.push("impl");
      return output;
    });
    const out = await call.invoke({} as never, [hooked("outer", log), hooked("inner", log)]);
    // No interceptor sees the output on the hooked way: it is handed on as the implementation
    // returned it, and serializeMessage (codec.ts) makes it a PublishResponse only if needed.
    assert.equal(out, output);
    assert.deepEqual(log, ["before outer", "before inner", "impl", "after inner ok", "after outer ok"]);
  });

  it("pass the failure outwards, each may replace it, and the call fails with the last", async () => {
    const log: string[] = [];
    const call = callOf(async () => {
      throw new ConnectError("boom", Code.Internal);
    });
    const replaced = new ConnectError("replaced", Code.Unavailable);
    await assert.rejects(
      call.invoke({} as never, [hooked("outer", log), hooked("inner", log, { replace: replaced })]),
      (e) => e === replaced,
    );
    assert.deepEqual(log, ["before outer", "before inner", "after inner boom", "after outer replaced"]);
  });

  it("a hook that throws before the call: the implementation does not run, only the hooks outside it see the error", async () => {
    const log: string[] = [];
    const call = callOf(async () => {
      log.push("impl");
      return {};
    });
    await assert.rejects(
      call.invoke({} as never, [hooked("outer", log), hooked("inner", log, { throwInBefore: true })]),
      /inner refused/,
    );
    assert.deepEqual(log, ["before outer", "before inner", "after outer inner refused"]);
  });
});
