import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Interceptor, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { HotMethod } from "./hot-methods.js";
import type { LeanCall } from "./lean-call.js";

/**
 * The call a request of the lean path belongs to: an own enumerable property, so a request an
 * interceptor rebuilds by spreading (`{ ...req, header }`) still leads to its call.
 */
const kLeanCall = Symbol("leanCall");
type LeanUnaryRequest = UnaryRequest & { readonly [kLeanCall]: LeanCall };

/** Chains composed so far, per interceptor list and method (both live as long as the server). */
const chains = new WeakMap<readonly Interceptor[], Map<HotMethod, (req: UnaryRequest) => Promise<unknown>>>();

/** The innermost step of every chain: the implementation of the request's call. */
function runOwnCall(req: UnaryRequest | { stream: true }): Promise<UnaryResponse> {
  const r = req as LeanUnaryRequest;
  return r[kLeanCall].run(r);
}

/** The interceptors composed around the implementation (the first is the outermost), made once. */
export function chainOf(hot: HotMethod, interceptors: readonly Interceptor[]): (req: UnaryRequest) => Promise<unknown> {
  let byMethod = chains.get(interceptors);
  if (byMethod === undefined) {
    byMethod = new Map();
    chains.set(interceptors, byMethod);
  }
  let chain = byMethod.get(hot);
  if (chain === undefined) {
    let next = runOwnCall as Parameters<Interceptor>[0];
    for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
    chain = next as (req: UnaryRequest) => Promise<unknown>;
    byMethod.set(hot, chain);
  }
  return chain;
}

/** The UnaryRequest interceptors see; its costly parts are made when first read (spreading reads them). */
export function unaryRequest(call: LeanCall, message: MessageShape<DescMessage>): UnaryRequest {
  const { method } = call.hot;
  return {
    [kLeanCall]: call,
    stream: false,
    message,
    method,
    requestMethod: "POST",
    service: method.parent,
    get url() {
      return call.url;
    },
    get signal() {
      return call.signal;
    },
    get header() {
      return call.requestHeader;
    },
    get contextValues() {
      return call.values;
    },
  } as LeanUnaryRequest;
}

/** The UnaryResponse of the implementation; its headers and trailers are the call's own. */
export function unaryResponse(call: LeanCall, message: MessageShape<DescMessage>): UnaryResponse {
  const { method } = call.hot;
  return {
    stream: false,
    message,
    method,
    service: method.parent,
    get header() {
      return call.responseHeader;
    },
    get trailer() {
      return call.responseTrailer;
    },
  } as UnaryResponse;
}
