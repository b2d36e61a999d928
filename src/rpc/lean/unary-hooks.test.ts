import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { describe, it } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import type { AnyUnaryImpl, HotMethod } from "./hot-methods.js";
import { LeanCall } from "./lean-call.js";
import { type UnaryHook, unaryHooksOf, withUnaryHook } from "./unary-hooks.js";

/** The request message of every call here (the hooks' `before` sees it). */
const MESSAGE = { topic: "t" };

/** A lean call of Publish whose implementation is `impl`. */
function callOf(impl: AnyUnaryImpl, headers: http2.IncomingHttpHeaders = {}): LeanCall {
  const hot: HotMethod = { method: PublisherService.method.publish, impl };
  return new LeanCall({
    hot,
    protocolName: "grpc",
    headers: { ":path": "/switchyard.v1.PublisherService/Publish", ":authority": "localhost", ...headers },
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
  options: { throwInBefore?: boolean; replace?: unknown; wait?: Promise<void> } = {},
): Interceptor {
  const chainMustNotRun: Interceptor = () => () => {
    throw new Error(`the chain of ${name} ran`);
  };
  const hook: UnaryHook<string> = {
    before(_call, message) {
      log.push(`before ${name}`);
      assert.deepEqual(message, MESSAGE);
      if (options.throwInBefore) throw new ConnectError(`${name} refused`, Code.PermissionDenied);
      return options.wait === undefined
        ? name
        : options.wait.then(() => {
            log.push(`waited ${name}`);
            return name;
          });
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
    const out = await call.invoke(MESSAGE as never, [hooked("outer", log), hooked("inner", log)]);
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
      call.invoke(MESSAGE as never, [hooked("outer", log), hooked("inner", log, { replace: replaced })]),
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
      call.invoke(MESSAGE as never, [hooked("outer", log), hooked("inner", log, { throwInBefore: true })]),
      /inner refused/,
    );
    assert.deepEqual(log, ["before outer", "before inner", "after outer inner refused"]);
  });

  it("a before that returns a promise: the hooks inside and the implementation run once it resolves", async () => {
    const log: string[] = [];
    let release = () => {};
    const wait = new Promise<void>((resolve) => {
      release = resolve;
    });
    const call = callOf(async () => {
      log.push("impl");
      return {};
    });
    const done = call.invoke(MESSAGE as never, [
      hooked("outer", log),
      hooked("waits", log, { wait }),
      hooked("inner", log),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ["before outer", "before waits"]);
    release();
    await done;
    assert.deepEqual(log, [
      "before outer",
      "before waits",
      "waited waits",
      "before inner",
      "impl",
      "after inner ok",
      "after waits ok",
      "after outer ok",
    ]);
  });

  it("a before whose promise rejects: the call fails with it, only the hooks outside it see it", async () => {
    const log: string[] = [];
    const call = callOf(async () => {
      log.push("impl");
      return {};
    });
    const wait = Promise.reject(new ConnectError("no", Code.Unauthenticated));
    await assert.rejects(
      call.invoke(MESSAGE as never, [hooked("outer", log), hooked("waits", log, { wait }), hooked("inner", log)]),
      /no/,
    );
    assert.deepEqual(log, ["before outer", "before waits", "after outer no"]);
  });

  it("requestHeaderValue answers what requestHeader.get answers, without making the Headers", () => {
    const headers = {
      authorization: " \tBasic abc \t",
      "x-many": ["a ", " b"],
      "x-empty": "",
    };
    const names = ["authorization", "Authorization", "x-many", "x-empty", "x-absent"];
    const lazy = callOf(async () => ({}), headers);
    const got = names.map((n) => lazy.requestHeaderValue(n));
    const made = callOf(async () => ({}), headers);
    assert.deepEqual(
      got,
      names.map((n) => made.requestHeader.get(n)),
    );
    assert.equal(got[0], "Basic abc");
    // Pseudo-headers are no header names: `Headers` has none of them.
    assert.equal(lazy.requestHeaderValue(":path"), null);
    // Once made, the Headers answer (an interceptor may have changed them).
    made.requestHeader.set("authorization", "Bearer x");
    assert.equal(made.requestHeaderValue("authorization"), "Bearer x");
  });
});
