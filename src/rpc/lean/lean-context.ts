import type * as http2 from "node:http2";
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

/**
 * What `Headers.get(name)` answers for Node's header object once `toWebHeaders` (headers.ts) made it:
 * null for an absent header (and for pseudo-headers, which it leaves out), each value without
 * leading and trailing HTTP whitespace (as `Headers` stores it), repeats joined with ", ".
 * `name` is a header name (where `Headers.get` throws for an invalid one, this answers null for a pseudo-header).
 */
export function headerValue(headers: http2.IncomingHttpHeaders, name: string): string | null {
  const key = name.toLowerCase();
  if (key.charCodeAt(0) === 58 /* ":" */) return null;
  const value = headers[key];
  if (value === undefined) return null;
  if (typeof value === "string") return trimHttpWhitespace(value);
  return value.length === 0 ? null : value.map(trimHttpWhitespace).join(", ");
}

/** Tab, line feed, carriage return and space: what `Headers` strips from both ends of a value. */
const isHttpWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function trimHttpWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}
