import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type DescService,
  type JsonValue,
  type MessageShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type HandlerContext,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { ReceivedDeliveries } from "../rpc/convert.js";
import { type ChainCache, composeOnce } from "../rpc/lean/chain-parts.js";
import { copyHeaders } from "../rpc/lean/headers.js";
import type { AnyUnaryImpl } from "../rpc/lean/hot-methods.js";
import { type DeliveriesSink, deliveriesSinkKey, pullResponseOf } from "../rpc/pull-response.js";

/** Base of the URL the in-process calls carry (the router transport's). */
const IN_MEMORY_URL = "https://in-memory";

/**
 * An in-process transport that calls the methods of `direct` without encoding anything: the
 * request message goes to the same server interceptors (`interceptors`, the first outermost, as
 * connect-node runs them) and the same implementation the router of `fallback` would reach, and
 * the implementation's message comes back as the response. Everything else (other methods, and
 * any call with a signal, a timeout, headers or a string that is not well-formed UTF-16) goes
 * through `fallback` unchanged.
 *
 * What a caller sees is what it sees through the router: a response message made with
 * `create(output, …)` (a Pull's, from the core's deliveries, by src/rpc/pull-response.ts, or
 * none when the caller takes the deliveries themselves, asking with `deliveriesSinkKey`), the
 * same context values on the server side (empty, then set by the interceptors), request headers
 * of a binary Connect call, and failures as the client decodes them from the wire — a
 * ConnectError with the server error's code, message, metadata and details (as received,
 * undecoded), and "internal error" for anything that is not a ConnectError. The handler context's
 * signal, `Headers` and URL are made only when something reads them (most calls read none).
 */
export function createDirectTransport(
  fallback: Transport,
  direct: ReadonlyMap<DescMethodUnary, AnyUnaryImpl>,
  interceptors: readonly Interceptor[],
): Transport {
  const chains: ChainCache<DescMethodUnary, (req: UnaryRequest) => Promise<UnaryResponse>> = new WeakMap();
  const innermostOf = (method: DescMethodUnary, impl: AnyUnaryImpl) => {
    return async (req: UnaryRequest): Promise<UnaryResponse> => {
      const call = (req as UnaryRequest & { [kCall]: DirectCall })[kCall];
      const result = await impl(req.message, req === call.request ? call : replacedContext(call, req));
      if (!(result instanceof ReceivedDeliveries && method.output.typeName === "switchyard.v1.PullResponse")) {
        return call.respond(create(method.output, result as MessageShape<DescMessage>));
      }
      if (call.sink === undefined) return call.respond(pullResponseOf(result.deliveries));
      call.sink.deliveries = result.deliveries; // the caller asked for them (deliveriesSinkKey)
      return call.respond(pullResponseOf([]));
    };
  };
  const chainOf = (method: DescMethodUnary, impl: AnyUnaryImpl) =>
    chains.get(interceptors)?.get(method) ??
    composeOnce(chains, interceptors, method, innermostOf(method, impl) as Parameters<Interceptor>[0]);

  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      const impl = direct.get(method as DescMethodUnary);
      if (impl === undefined || signal !== undefined || timeoutMs !== undefined || header !== undefined) {
        return fallback.unary(method, signal, timeoutMs, header, input, contextValues);
      }
      const message = create(method.input, input);
      // Over the wire a string with a lone surrogate arrives with U+FFFD in its place: such a
      // request takes the router, so the implementation sees exactly what it would see there.
      if (!isWellFormedDeep(message)) return fallback.unary(method, signal, timeoutMs, header, input, contextValues);
      const sink = contextValues?.get(deliveriesSinkKey);
      return callDirect(method as DescMethodUnary, chainOf(method as DescMethodUnary, impl), message, sink) as never;
    },
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      fallback.stream(method, signal, timeoutMs, header, input, contextValues),
  };
}

/** The call of a request or response: an own enumerable property, so a spread copy leads to it too. */
const kCall = Symbol("directCall");

/** True when every string in `value` (map keys included) is well-formed UTF-16 (no lone surrogate). */
export function isWellFormedDeep(value: unknown): boolean {
  if (typeof value === "string") return (value as string & { isWellFormed(): boolean }).isWellFormed();
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.every(isWellFormedDeep);
  // (for…in: no entry arrays per object on this per-call walk; messages have no inherited fields)
  const record = value as Record<string, unknown>;
  for (const k in record) {
    if (!isWellFormedDeep(k) || !isWellFormedDeep(record[k])) return false;
  }
  return true;
}

/** The reason a direct call's signal aborts with when the call ends (as the router's: an AbortError), made once. */
const CALL_ENDED = new DOMException("This operation was aborted", "AbortError");
/** A direct call has no deadline (one with a timeout takes the router). */
const noTimeout = (): undefined => undefined;
const REQUEST_HEADER = { "content-type": "application/proto", "connect-protocol-version": "1" };
const RESPONSE_HEADER = { "content-type": "application/proto" };

/**
 * One direct call, and the handler context of its own request: what `createHandlerContext` makes
 * for a call with no timeout and no request or shutdown signal (the only calls that go direct),
 * each costly part made when first read. A signal first read after the call ended is already
 * aborted with the reason it ended with.
 */
class DirectCall implements HandlerContext {
  readonly values = createContextValues();
  readonly protocolName = "connect";
  readonly requestMethod = "POST";
  readonly timeoutMs = noTimeout;
  readonly service: DescService;
  private controller: AbortController | undefined;
  private ended: { reason: unknown } | undefined;
  private urlText: string | undefined;
  private requestHeaders: Headers | undefined;
  private responseHeaders: Headers | undefined;
  private responseTrailers: Headers | undefined;
  readonly request: UnaryRequest;
  private response: UnaryResponse | undefined;

  constructor(
    readonly method: DescMethodUnary,
    message: MessageShape<DescMessage>,
    readonly sink: DeliveriesSink | undefined,
  ) {
    this.service = method.parent;
    this.request = directRequest(this, method, message);
  }

  get url(): string {
    this.urlText ??= `${IN_MEMORY_URL}/${this.method.parent.typeName}/${this.method.name}`;
    return this.urlText;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.ended.reason);
    }
    return this.controller.signal;
  }

  get requestHeader(): Headers {
    this.requestHeaders ??= new Headers(REQUEST_HEADER);
    return this.requestHeaders;
  }

  get responseHeader(): Headers {
    this.responseHeaders ??= new Headers(RESPONSE_HEADER);
    return this.responseHeaders;
  }

  get responseTrailer(): Headers {
    this.responseTrailers ??= new Headers();
    return this.responseTrailers;
  }

  /** Aborts the signal (the first reason stays), now if it was read, else when it is. */
  abort(reason?: unknown): void {
    if (this.ended) return;
    this.ended = { reason };
    this.controller?.abort(reason);
  }

  /** The response of the implementation's `output` (kept: {@link settle} knows it). */
  respond(output: MessageShape<DescMessage>): UnaryResponse {
    const res = { stream: false, message: output, method: this.method, service: this.method.parent, [kCall]: this };
    this.response = Object.defineProperties(res, LAZY_RESPONSE) as unknown as UnaryResponse;
    return this.response;
  }

  /** The caller's response for `res` (what the chain returned): headers and trailers are the call's. */
  settle(res: UnaryResponse): UnaryResponse {
    if (res === this.response) return res; // its header and trailer are the call's already
    copyHeaders(res.header, this.responseHeader);
    copyHeaders(res.trailer, this.responseTrailer);
    return { ...res, header: this.responseHeader, trailer: this.responseTrailer } as UnaryResponse;
  }
}

/**
 * The request interceptors see: the cheap fields as values, and the costly ones (URL, signal,
 * `Headers`) as getters that make them when first read (spreading reads them).
 */
function directRequest(call: DirectCall, method: DescMethodUnary, message: MessageShape<DescMessage>): UnaryRequest {
  const req = {
    stream: false,
    message,
    method,
    service: method.parent,
    requestMethod: "POST",
    contextValues: call.values,
    [kCall]: call,
  };
  return Object.defineProperties(req, LAZY_REQUEST) as unknown as UnaryRequest;
}

/** A getter of the call's `key` on an object that carries its call, shared by every such object. */
function callGetter(
  key: "url" | "signal" | "requestHeader" | "responseHeader" | "responseTrailer",
): PropertyDescriptor {
  return {
    get(this: { [kCall]: DirectCall }) {
      return this[kCall][key];
    },
    enumerable: true,
    configurable: true,
  };
}

// The same getter functions on every request and response: V8 then gives them all one shape
// (getters made per object, in an object literal, would give each object its own).
const LAZY_REQUEST = { url: callGetter("url"), signal: callGetter("signal"), header: callGetter("requestHeader") };
const LAZY_RESPONSE = { header: callGetter("responseHeader"), trailer: callGetter("responseTrailer") };

/**
 * The handler context of a call whose request an interceptor replaced: that request's service,
 * headers, signal and values, the rest the call's.
 */
function replacedContext(call: DirectCall, req: UnaryRequest): HandlerContext & Pick<DirectCall, "abort"> {
  return {
    method: call.method,
    url: call.url,
    protocolName: call.protocolName,
    requestMethod: call.requestMethod,
    timeoutMs: noTimeout,
    responseHeader: call.responseHeader,
    responseTrailer: call.responseTrailer,
    service: req.service,
    requestHeader: req.header,
    signal: req.signal,
    values: req.contextValues,
    abort: (reason?: unknown) => call.abort(reason),
  };
}

async function callDirect(
  method: DescMethodUnary,
  chain: (req: UnaryRequest) => Promise<UnaryResponse>,
  message: MessageShape<DescMessage>,
  sink: DeliveriesSink | undefined,
): Promise<UnaryResponse> {
  const call = new DirectCall(method, message, sink);
  try {
    return call.settle(await chain(call.request));
  } catch (e) {
    call.abort(e);
    throw asReceived(e, call.responseHeader, call.responseTrailer);
  } finally {
    call.abort(CALL_ENDED); // after an error: already aborted with it (the first reason stays)
  }
}

/**
 * The error a client of the router transport gets for `e` thrown by the chain: the Connect
 * protocol sends the code, the message and the details (binary), and the error's metadata in the
 * response headers, and the client builds a new ConnectError from them.
 */
function asReceived(e: unknown, responseHeader: Headers, responseTrailer: Headers): ConnectError {
  const error =
    e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
  const metadata = new Headers(responseHeader);
  metadata.set("content-type", "application/json");
  for (const [key, value] of error.metadata) metadata.set(key, value);
  for (const [key, value] of responseTrailer) metadata.append(key, value);
  const received = new ConnectError(error.rawMessage, error.code, metadata);
  for (const d of error.details) {
    if ("desc" in d) {
      const message = create(d.desc, d.value);
      let debug: JsonValue | undefined;
      try {
        debug = toJson(d.desc, message);
      } catch {
        // As the protocol does: a detail that has no JSON form travels without its debug copy.
      }
      received.details.push({
        type: d.desc.typeName,
        value: toBinary(d.desc, message),
        debug,
      });
    } else {
      received.details.push({ type: d.type, value: d.value, debug: d.debug });
    }
  }
  return received;
}
