import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { type ChainCache, callOf, composeOnce, leanRequest } from "./chain-parts.js";
import type { HotStreamMethod } from "./hot-methods.js";
import type { LeanCall } from "./lean-call.js";
import { LeanHandlerContext } from "./lean-context.js";

/**
 * The interceptor chain of a lean server-streaming call, as connect's server-streaming invocation
 * builds it: the interceptors (src/server/interceptors.ts) around a step that takes exactly one
 * request message from the request's iterable and starts the implementation. The chain is composed
 * once per interceptor list and method; the request carries its call.
 */

/** A composed chain: the stream request in, the stream response out. */
export type StreamChain = (req: StreamRequest) => Promise<StreamResponse>;

const chains: ChainCache<HotStreamMethod, StreamChain> = new WeakMap();

/** The chain of `hot` with `interceptors` around it (composed on first use, then reused). */
export function streamChainOf(hot: HotStreamMethod, interceptors: readonly Interceptor[]): StreamChain {
  return composeOnce(chains, interceptors, hot, runOwnStream as Parameters<Interceptor>[0]);
}

/**
 * The innermost step of the chain, as connect's server-streaming invocation: exactly one request
 * message (else UNIMPLEMENTED `protocol error: …`), then the implementation's output iterable.
 */
async function runOwnStream(req: StreamRequest | { stream: false }): Promise<StreamResponse> {
  const r = req as StreamRequest;
  const call = callOf(r);
  const hot = call.hot as HotStreamMethod;
  const input = await ensureSingle(r.message);
  const output = hot.impl(input, new LeanHandlerContext(call, r as never, false));
  return {
    stream: true,
    message: output as AsyncIterable<MessageShape<DescMessage>>,
    method: hot.method,
    service: hot.method.parent,
    header: call.responseHeader,
    trailer: call.responseTrailer,
  };
}

async function ensureSingle<T>(iterable: AsyncIterable<T>): Promise<T> {
  const it = iterable[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) {
    throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  }
  const second = await it.next();
  if (second.done !== true) {
    throw new ConnectError(
      "protocol error: received extra input message for server-streaming method",
      Code.Unimplemented,
    );
  }
  return first.value;
}

/** The StreamRequest interceptors see (see {@link leanRequest}). */
export function streamRequest(
  call: LeanCall,
  hot: HotStreamMethod,
  message: AsyncIterable<MessageShape<DescMessage>>,
): StreamRequest {
  return leanRequest<StreamRequest>(call, hot.method, message, true);
}
