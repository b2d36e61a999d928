import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { type Authenticator, createAuthenticator, type Principal, userPrincipal } from "../auth/index.js";
import type { AnyUnaryImpl } from "../rpc/lean/hot-methods.js";
import { LeanCall } from "../rpc/lean/lean-call.js";
import { unaryHooksOf } from "../rpc/lean/unary-hooks.js";
import { IN_PROCESS_PRINCIPAL, PEER_ADDRESS } from "./auth-interceptor.js";
import { createServerInterceptors } from "./interceptors.js";

const auth: Authenticator = createAuthenticator({
  users: [
    { name: "pub", password: "pub-pw", tokens: ["tok-pub"], roles: ["publisher"], topics: ["orders"] },
    { name: "sub", password: "sub-pw", tokens: ["tok-sub"], roles: ["subscriber"], topics: ["orders"] },
  ],
});
const interceptors = createServerInterceptors({
  shutdownSignal: new AbortController().signal,
  auth,
  // As src/server/subscription-topics.ts answers: a known subscription at once, else a lookup.
  subscriptionTopic: (name) => (name === "orders-sub" ? "orders" : Promise.resolve(undefined)),
});

/** A lean Publish call with `authorization`, or made in process as `principal`; its implementation records that it ran. */
function publishCall(authorization: string | undefined, ran: string[], principal?: Principal): LeanCall {
  const impl: AnyUnaryImpl = async () => {
    ran.push("impl");
    return OUTPUT;
  };
  return new LeanCall({
    hot: { method: PublisherService.method.publish, impl },
    protocolName: "grpc",
    headers: { ":path": "/switchyard.v1.PublisherService/Publish", ...(authorization ? { authorization } : {}) },
    timeoutMs: undefined,
    secure: false,
    responseHeader: {},
    responseTrailer: {},
    peer: { remoteAddress: "127.0.0.9", remotePort: 40000 },
    valuesOf: (peer) => {
      const values = createContextValues().set(PEER_ADDRESS, peer.remoteAddress ?? "");
      return principal ? values.set(IN_PROCESS_PRINCIPAL, principal) : values;
    },
  });
}
const OUTPUT = { results: [] };

describe("auth interceptor - the unary hook of the lean path", () => {
  it("auth hook - with auth on every server interceptor has a unary hook: lean calls take the hooked way", async () => {
    assert.equal(unaryHooksOf(interceptors)?.length, 2); // the shutdown rule and auth
    const ran: string[] = [];
    // The hooked way hands on what the implementation returned (the chain would make a new message).
    const out = await publishCall("Bearer tok-pub", ran).invoke(
      { topic: "orders", messages: [] } as never,
      interceptors,
    );
    assert.equal(out, OUTPUT);
    assert.deepEqual(ran, ["impl"]);
  });

  it("auth hook - refusals are the interceptor's: code, ErrorDetail reason, WWW-Authenticate; the implementation never runs", async () => {
    const ran: string[] = [];
    const refused = async (call: LeanCall, topic: string) => {
      try {
        await call.invoke({ topic, messages: [] } as never, interceptors);
      } catch (e) {
        assert.ok(e instanceof ConnectError);
        return e;
      }
      return assert.fail("expected a refusal");
    };
    const none = await refused(publishCall(undefined, ran), "orders");
    assert.equal(none.code, Code.Unauthenticated);
    assert.equal(none.metadata.get("www-authenticate"), auth.wwwAuthenticate);
    assert.equal(none.findDetails(ErrorDetailSchema)[0]?.reason, "UNAUTHENTICATED");
    const other = await refused(publishCall("Bearer tok-pub", ran), "billing");
    assert.equal(other.code, Code.PermissionDenied);
    assert.equal(other.metadata.get("www-authenticate"), null);
    assert.deepEqual(other.findDetails(ErrorDetailSchema)[0]?.metadata, {
      required_role: "publisher",
      scope: "topic",
      topic: "billing",
    });
    // An in-process principal is the caller whatever the headers say; an anonymous one is refused.
    const bridge = userPrincipal("bridge", ["publisher"], ["billing"]);
    assert.equal(await publishCall(undefined, ran, bridge).invoke({ topic: "billing" } as never, interceptors), OUTPUT);
    const anonymous: Principal = { kind: "anonymous", name: "anonymous", roles: [], topics: [] };
    assert.equal((await refused(publishCall("Bearer tok-pub", ran, anonymous), "orders")).code, Code.Unauthenticated);
    assert.deepEqual(ran, ["impl"]);
  });

  it("auth hook - settled at once for remembered credentials and a topic rule; a promise for a subscription's topic not known yet", async () => {
    const hook = unaryHooksOf(interceptors)?.[1];
    assert.ok(hook);
    const call = publishCall("Bearer tok-pub", []);
    assert.equal(hook.before(call, { topic: "orders" }), undefined);
    const pullAs = (authorization: string) =>
      new LeanCall({
        hot: { method: SubscriberService.method.pull, impl: async () => ({}) },
        protocolName: "connect",
        headers: { authorization },
        timeoutMs: undefined,
        secure: false,
        responseHeader: {},
        responseTrailer: {},
        peer: { remoteAddress: "127.0.0.9", remotePort: 40001 },
      });
    // pub has no subscriber role: refused at once, before any lookup.
    assert.throws(
      () => hook.before(pullAs(basic("pub", "pub-pw")), { subscription: "orders-sub" }),
      (e: ConnectError) => e.code === Code.PermissionDenied,
    );
    // sub's permission depends on the subscription's topic: known, so settled at once...
    assert.equal(hook.before(pullAs("Bearer tok-sub"), { subscription: "orders-sub" }), undefined);
    // ...else a lookup, so a promise (no such subscription: judged by its name as a topic).
    const other = hook.before(pullAs("Bearer tok-sub"), { subscription: "billing" });
    assert.ok(other instanceof Promise);
    await assert.rejects(
      other,
      (e: ConnectError) => e.code === Code.PermissionDenied && e.rawMessage.includes("billing"),
    );
  });
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
