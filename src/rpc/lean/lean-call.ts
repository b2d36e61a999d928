import type * as http2 from "node:http2";
import { create, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { copyHeaders, toNodeHeaders, toWebHeaders, webHeaderValue } from "./headers.js";
import { invokeHooked } from "./hooked-invoke.js";
import type { HotMethod, LeanMethod } from "./hot-methods.js";
import { LeanHandlerContext, leanProtocolKey } from "./lean-context.js";
import type { LeanPeer } from "./lean-env.js";
import type { LiveLinks } from "./live-calls.js";
import { chainOf, unaryRequest, unaryResponse } from "./unary-chain.js";
import { type UnaryHook, type UnaryHookCall, unaryHooksOf } from "./unary-hooks.js";

/** Longest timer Node arms as asked; a longer delay would fire after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Where {@link LeanCall.invokeThen} hands a call's outcome: exactly one of the two, once. (A
 * protocol exchange's own `fail`, in lean-stream.ts, is the failure side.)
 */
export interface LeanOutcome {
  succeeded(output: unknown): void;
  fail(error: unknown): void;
}

/** What a call is made of, as the protocol layer parsed it. */
export interface LeanCallInit {
  readonly hot: LeanMethod;
  readonly protocolName: "grpc" | "connect";
  /** The request's header block as Node gives it (pseudo-headers included). */
  readonly headers: http2.IncomingHttpHeaders;
  /** The client's deadline in milliseconds, if it sent one. */
  readonly timeoutMs: number | undefined;
  /** Whether the connection is TLS (the URL is then `https://…`, as connect-node makes it). */
  readonly secure: boolean;
  /** Response headers the protocol starts with (the content type). */
  readonly responseHeader: Readonly<Record<string, string>>;
  /** Response trailers the protocol starts with (gRPC: `grpc-status: 0`). */
  readonly responseTrailer: Readonly<Record<string, string>>;
  /** The client, for {@link LeanCallInit.valuesOf}. */
  readonly peer: LeanPeer;
  /**
   * Makes the call's context values from its peer and headers (the server's `contextValues`
   * option, shared by all calls: no closure per call); default: empty ones.
   */
  readonly valuesOf?: ((peer: LeanPeer, headers: http2.IncomingHttpHeaders) => ContextValues) | undefined;
}

/**
 * One lean unary call: its signal (aborted by the client's reset, its deadline or shutdown, with
 * the reasons connect-node uses), the request and response metadata as `Headers`, and the run of
 * the server interceptors around the implementation, as connect's `invokeUnaryImplementation`
 * does it (src/server/interceptors.ts is the one list). The signal, the `Headers`, the URL and the
 * context values are made on first use: a Publish that no interceptor inspects never pays for them.
 */
export class LeanCall implements UnaryHookCall, LiveLinks {
  /** @internal Links of the list of live calls (live-calls.ts). */
  livePrev: LiveLinks | undefined = undefined;
  /** @internal */
  liveNext: LiveLinks | undefined = undefined;
  /** @internal */
  live = false;
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly deadlineAtMs: number | undefined;
  private urlText: string | undefined;
  private requestHeaders: Headers | undefined;
  private responseHeaders: Headers | undefined;
  private responseTrailers: Headers | undefined;
  private contextValues: ContextValues | undefined;
  /** The request this call built, and the response its implementation returned. */
  private ownRequest: UnaryRequest | undefined;
  private ownResponse: UnaryResponse | undefined;

  constructor(private readonly init: LeanCallInit) {
    const { timeoutMs } = init;
    if (timeoutMs !== undefined) {
      this.deadlineAtMs = Date.now() + timeoutMs;
      if (timeoutMs <= 0) this.expire();
      else if (timeoutMs <= MAX_TIMER_MS) this.timer = setTimeout(expireCall, timeoutMs, this);
    }
  }

  /** The method being called. */
  get hot(): LeanMethod {
    return this.init.hot;
  }

  /** The unary method being called (only unary calls {@link invoke}). */
  private get unary(): HotMethod {
    return this.init.hot as HotMethod;
  }

  /** Aborted when the client resets the stream, the deadline passes, or shutdown begins. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** The request URL as connect-node builds it (`http://authority/path`, `https` over TLS). */
  get url(): string {
    const { headers } = this.init;
    const scheme = this.init.secure ? "https" : "http";
    this.urlText ??= new URL(String(headers[":path"]), `${scheme}://${String(headers[":authority"])}`).toString();
    return this.urlText;
  }

  get requestHeader(): Headers {
    this.requestHeaders ??= toWebHeaders(this.init.headers);
    return this.requestHeaders;
  }

  /** A request header as {@link requestHeader}'s `get` gives it, read from Node's header object (see {@link webHeaderValue}). */
  requestHeaderValue(name: string): string | null {
    return this.requestHeaders !== undefined ? this.requestHeaders.get(name) : webHeaderValue(this.init.headers, name);
  }

  get responseHeader(): Headers {
    this.responseHeaders ??= new Headers(this.init.responseHeader);
    return this.responseHeaders;
  }

  get responseTrailer(): Headers {
    this.responseTrailers ??= new Headers(this.init.responseTrailer);
    return this.responseTrailers;
  }

  /**
   * The call's context values: those the server gives every call (the peer, …), with the lean
   * protocol, made on first read (the hooks of a unary call read none of them on success).
   */
  get values(): ContextValues {
    if (this.contextValues === undefined) {
      const { init } = this;
      const made = init.valuesOf !== undefined ? init.valuesOf(init.peer, init.headers) : createContextValues();
      this.contextValues = made.set(leanProtocolKey, init.protocolName);
    }
    return this.contextValues;
  }

  /** Response headers as Node's header object, added to `into`. */
  renderResponseHeader(into: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
    return this.responseHeaders === undefined
      ? Object.assign(into, this.init.responseHeader)
      : toNodeHeaders(this.responseHeaders, into);
  }

  /** True once the response headers or trailers were touched (so they may differ from the defaults). */
  hasCustomMetadata(): boolean {
    return this.responseHeaders !== undefined || this.responseTrailers !== undefined;
  }

  /** True once the response headers were touched (so they may differ from the protocol's defaults). */
  hasCustomHeader(): boolean {
    return this.responseHeaders !== undefined;
  }

  /**
   * Response trailers as Node's header object: while untouched, the protocol's shared, frozen
   * defaults (Node's `sendTrailers` copies what it is given; nothing may change the object).
   */
  renderResponseTrailer(): http2.OutgoingHttpHeaders {
    return this.responseTrailers === undefined
      ? (this.init.responseTrailer as http2.OutgoingHttpHeaders)
      : toNodeHeaders(this.responseTrailers);
  }

  /** Aborts the call's signal (first reason wins). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** The deadline passed: the signal aborts with connect's DEADLINE_EXCEEDED error. */
  expire(): void {
    this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
  }

  /** Releases the deadline timer; call when the response is decided. */
  finish(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs the interceptors around the implementation and returns the output: the message, or (when
   * no interceptor can see it: the hooked way) what the implementation returned, which
   * `serializeMessage` (codec.ts) makes a message only if its encoder needs one. (What
   * {@link invokeThen} does, as a promise.)
   */
  invoke(input: MessageShape<DescMessage>, interceptors: readonly Interceptor[]): Promise<unknown> {
    return new Promise((resolve, reject) => this.invokeThen(input, interceptors, { succeeded: resolve, fail: reject }));
  }

  /**
   * Runs the interceptors around the implementation and hands the outcome to `outcome`, once:
   * `succeeded` with the output as {@link invoke} returns it, or `fail` with the error. Response
   * headers and trailers the interceptors return are copied into this call's, as connect does.
   * The chain of interceptors is composed once per method and list (see {@link chainOf}): the
   * request carries its call, so nothing of the chain is made per call. On the hooked way the
   * outcome comes in the same promise reaction as the implementation's result: no async frames
   * and no promises of its own wait with the call (BENCHMARKS.md, "Unary calls without per-call
   * timers"), but those of a hook whose `before` must wait (see {@link UnaryHook.before}).
   */
  invokeThen(input: MessageShape<DescMessage>, interceptors: readonly Interceptor[], outcome: LeanOutcome): void {
    const hooks = unaryHooksOf(interceptors);
    // (An empty list has no hook missing: it takes the hooked way.)
    if (hooks !== undefined) {
      invokeHooked(this, input, hooks, outcome);
      return;
    }
    this.invokeChain(input, interceptors).then(
      (output) => outcome.succeeded(output),
      (e: unknown) => outcome.fail(e),
    );
  }

  /** Runs the composed interceptor chain (some interceptor has no {@link UnaryHook}). */
  private async invokeChain(input: MessageShape<DescMessage>, interceptors: readonly Interceptor[]): Promise<unknown> {
    const request = unaryRequest(this, input);
    this.ownRequest = request;
    const res = (await chainOf(this.unary, interceptors)(request)) as UnaryResponse;
    if (res !== this.ownResponse) {
      copyHeaders(res.header, this.responseHeader);
      copyHeaders(res.trailer, this.responseTrailer);
    }
    return res.message;
  }

  /** The method being called (for {@link UnaryHookCall}). */
  get method(): DescMethod {
    return this.init.hot.method;
  }

  /** The service of the method (for {@link UnaryHookCall}). */
  get service(): DescService {
    return this.init.hot.method.parent;
  }

  /** @internal Runs the implementation for `req` (the innermost step of the interceptor chain). */
  async run(req: UnaryRequest): Promise<UnaryResponse> {
    const { method, impl } = this.unary;
    const output = await impl(req.message, this.handlerContext(req));
    this.ownResponse = unaryResponse(this, create(method.output, output as never));
    return this.ownResponse;
  }

  /** The HandlerContext the implementation gets for `req` (connect's `mergeRequest`). */
  private handlerContext(req: UnaryRequest): HandlerContext {
    return new LeanHandlerContext(this, req, req === this.ownRequest);
  }

  /** The remaining time of the client's deadline, or undefined without one. */
  remainingMs(): number | undefined {
    return this.deadlineAtMs === undefined ? undefined : this.deadlineAtMs - Date.now();
  }

  /** The protocol of the call (`grpc` or `connect`). */
  get protocolName(): "grpc" | "connect" {
    return this.init.protocolName;
  }
}

function expireCall(call: LeanCall): void {
  call.expire();
}
