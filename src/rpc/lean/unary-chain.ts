import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Interceptor, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import {
  type CarriesCall,
  type ChainCache,
  callOf,
  composeOnce,
  kLeanCall,
  leanRequest,
  sharedGetter,
} from "./chain-parts.js";
import type { HotMethod } from "./hot-methods.js";
import type { LeanCall } from "./lean-call.js";

/** A composed unary chain: the request in, the response out. */
type UnaryChain = (req: UnaryRequest) => Promise<unknown>;

const chains: ChainCache<HotMethod, UnaryChain> = new WeakMap();

/** The innermost step of every chain: the implementation of the request's call. */
function runOwnCall(req: UnaryRequest | { stream: true }): Promise<UnaryResponse> {
  const r = req as UnaryRequest;
  return callOf(r).run(r);
}

/** The interceptors composed around the implementation (the first is the outermost), made once. */
export function chainOf(hot: HotMethod, interceptors: readonly Interceptor[]): UnaryChain {
  return composeOnce(chains, interceptors, hot, runOwnCall as Parameters<Interceptor>[0]);
}

/** The UnaryRequest interceptors see (see {@link leanRequest}). */
export function unaryRequest(call: LeanCall, message: MessageShape<DescMessage>): UnaryRequest {
  return leanRequest<UnaryRequest>(call, call.hot.method, message, false);
}

/** The response's headers and trailers: getters shared by every response (see {@link sharedGetter}). */
const HEADER_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].responseHeader;
});
const TRAILER_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].responseTrailer;
});

/**
 * The UnaryResponse of the implementation; its headers and trailers are the call's own (read
 * through the call it carries, as a request does: {@link kLeanCall}).
 */
export function unaryResponse(call: LeanCall, message: MessageShape<DescMessage>): UnaryResponse {
  const { method } = call.hot;
  const res = { stream: false, message, method, service: method.parent, [kLeanCall]: call };
  Object.defineProperty(res, "header", HEADER_PART);
  Object.defineProperty(res, "trailer", TRAILER_PART);
  return res as unknown as UnaryResponse;
}
