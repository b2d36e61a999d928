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
  const req = { [kLeanCall]: call, stream, message, method, requestMethod: "POST", service: method.parent };
  // One defineProperty per part with ready descriptors: cheaper than defineProperties, which
  // reads its descriptor map anew on every call.
  Object.defineProperty(req, "url", URL_PART);
  Object.defineProperty(req, "signal", SIGNAL_PART);
  Object.defineProperty(req, "header", REQUEST_HEADER_PART);
  Object.defineProperty(req, "contextValues", VALUES_PART);
  return req as unknown as R;
}

/** An object of the lean path that carries its call (a request, or a unary response). */
export type CarriesCall = { [kLeanCall]: LeanCall };

/**
 * A lazy part of an object that carries its call ({@link kLeanCall}), read through `get`: one
 * descriptor (so one getter function) shared by every such object, so V8 gives them all one
 * shape (getters written in an object literal are new functions per object, and give each
 * object its own). Enumerable and configurable, as an object literal's getter is.
 */
export function sharedGetter(get: (this: CarriesCall) => unknown): PropertyDescriptor {
  return { get, enumerable: true, configurable: true };
}

// (A function per part, not one reading a part by name: each reads one property of the call.)
const URL_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].url;
});
const SIGNAL_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].signal;
});
const REQUEST_HEADER_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].requestHeader;
});
const VALUES_PART = sharedGetter(function (this: CarriesCall) {
  return this[kLeanCall].values;
});

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
