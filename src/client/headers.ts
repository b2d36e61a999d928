/**
 * Request and response headers of Connect unary calls as Node's `http2` objects, built the way
 * connect-es builds them (the same names and values), without a `Headers` object on the hot path.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { DescMessage, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import type { UnaryResponse } from "@connectrpc/connect";
import { requestHeader, trailerDemux } from "@connectrpc/connect/protocol-connect";

/** The `user-agent` connect-es sends (`connect-es/<version>`), taken from connect-es itself. */
export const CONNECT_USER_AGENT: string =
  requestHeader("unary", true, undefined, undefined, true).get("user-agent") ?? "";

/**
 * The request headers of a binary Connect unary call without user headers: content type,
 * protocol version, user agent, `connect-timeout-ms` when there is a deadline and
 * `accept-encoding` when the client takes compressed answers (`acceptEncoding` is the joined
 * names, or undefined). A fresh object: the caller may add to it.
 */
export function defaultRequestHeaders(timeoutMs: number | undefined, acceptEncoding: string | undefined) {
  const headers: OutgoingHttpHeaders = {
    "content-type": "application/proto",
    "connect-protocol-version": "1",
    "user-agent": CONNECT_USER_AGENT,
  };
  if (timeoutMs !== undefined) headers["connect-timeout-ms"] = `${timeoutMs}`;
  if (acceptEncoding !== undefined) headers["accept-encoding"] = acceptEncoding;
  return headers;
}

/** A fetch-API `Headers` as Node's outgoing header object (repeated names become arrays). */
export function nodeHeadersFromWeb(header: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = Object.create(null);
  header.forEach((value, key) => {
    const prior = out[key];
    if (prior === undefined) out[key] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[key] = [String(prior), value];
  });
  return out;
}

/** Node's incoming header object as a fetch-API `Headers`, without the `:` pseudo-headers. */
export function webHeadersFromNode(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.append(key, v);
    else out.append(key, String(value));
  }
  return out;
}

/**
 * A Connect unary answer as connect-es's `UnaryResponse`: the header and trailer (trailers travel
 * as `trailer-` prefixed headers) are built on first use, since most callers never read them.
 */
export class LeanUnaryResponse<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage>
  implements UnaryResponse<I, O>
{
  readonly stream = false as const;
  readonly service: DescService;
  private demuxed: [Headers, Headers] | undefined;

  /**
   * @param method the method called
   * @param raw the answer's HEADERS frame as Node gave it
   * @param message the answer
   */
  constructor(
    readonly method: DescMethodUnary<I, O>,
    private readonly raw: IncomingHttpHeaders,
    readonly message: MessageShape<O>,
  ) {
    this.service = method.parent;
  }

  /** Response headers (not the `trailer-` ones). */
  get header(): Headers {
    this.demuxed ??= trailerDemux(webHeadersFromNode(this.raw));
    return this.demuxed[0];
  }

  /** Trailers, without their `trailer-` prefix. */
  get trailer(): Headers {
    this.demuxed ??= trailerDemux(webHeadersFromNode(this.raw));
    return this.demuxed[1];
  }
}
