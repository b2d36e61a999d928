import type { HandlerContext, UnaryRequest } from "@connectrpc/connect";
import { createContextKey } from "@connectrpc/connect";
import type { LeanCall } from "./lean-call.js";

/**
 * The wire protocol of a lean call ("grpc" or "connect"), in its context values, so that an
 * interceptor that only wants the protocol (the RPC metrics) need not build the request `Headers`.
 * Undefined on every other path.
 */
export const leanProtocolKey = createContextKey<"grpc" | "connect" | undefined>(undefined, {
  description: "switchyard lean-path protocol",
});

/**
 * What the implementation gets. A class (getters on the prototype, nothing made per call beyond
 * the object): implementations read it and never copy it. For the call's own request the lazy
 * parts come from the call; for a request an interceptor replaced, from that request.
 */
export class LeanHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";

  constructor(
    private readonly call: LeanCall,
    private readonly req: UnaryRequest | undefined,
    private readonly own: boolean,
  ) {}
  timeoutMs(): number | undefined {
    return this.call.remainingMs();
  }
  get method() {
    return this.call.hot.method;
  }
  get service() {
    return this.own ? this.call.hot.method.parent : (this.req as UnaryRequest).service;
  }
  get signal() {
    return this.own ? this.call.signal : (this.req as UnaryRequest).signal;
  }
  get requestHeader() {
    return this.own ? this.call.requestHeader : (this.req as UnaryRequest).header;
  }
  get responseHeader() {
    return this.call.responseHeader;
  }
  get responseTrailer() {
    return this.call.responseTrailer;
  }
  get protocolName() {
    return this.call.protocolName;
  }
  get values() {
    return this.own ? this.call.values : (this.req as UnaryRequest).contextValues;
  }
  get url() {
    return this.call.url;
  }
}
