import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import type { LeanCall } from "./lean-call.js";

/**
 * What the unary and the server-streaming interceptor chains of the lean path share: the request
 * object interceptors see, which carries its call, and chains composed once per interceptor list
 * and method.
 */

/**
 * The call a request of the lean path belongs to: an own enumerable property, so a request an
 * interceptor rebuilds by spreading (`{ ...req, header }`) still leads to its call.
 */
export const kLeanCall = Symbol("leanCall");

/** The call of a request made by {@link leanRequest} (or spread from one). */
export function callOf(req: UnaryRequest | StreamRequest): LeanCall {
  return (req as unknown as { [kLeanCall]: LeanCall })[kLeanCall];
}

/**
 * The request interceptors see: the cheap fields as values, and the costly ones (URL, signal,
 * `Headers`, context values) as getters that make them when first read (spreading reads them).
 */
export function leanRequest<R extends UnaryRequest | StreamRequest>(
  call: LeanCall,
  method: DescMethod,
  message: R["message"],
  stream: R["stream"],
): R {
  return {
    [kLeanCall]: call,
    stream,
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
  } as unknown as R;
}

/** Chains composed so far, per interceptor list and method (both live as long as the server). */
export type ChainCache<M, C> = WeakMap<readonly Interceptor[], Map<M, C>>;

/**
 * The interceptors composed around `innermost` (the first interceptor is the outermost), made on
 * the first call for this list and method and reused after.
 */
export function composeOnce<M, C>(
  cache: ChainCache<M, C>,
  interceptors: readonly Interceptor[],
  method: M,
  innermost: Parameters<Interceptor>[0],
): C {
  let byMethod = cache.get(interceptors);
  if (byMethod === undefined) {
    byMethod = new Map();
    cache.set(interceptors, byMethod);
  }
  let chain = byMethod.get(method);
  if (chain === undefined) {
    let next = innermost;
    for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
    chain = next as C;
    byMethod.set(method, chain);
  }
  return chain;
}
