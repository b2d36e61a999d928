/**
 * The four GopherMQ API handlers (docs/gophermq.md "Endpoints"), put together from one module per
 * endpoint: publish-endpoints.ts, subscribe-endpoint.ts, fetch-endpoint.ts, with the shared
 * answers of answers.ts.
 *
 * @module
 */
import { createEndpointAnswers } from "./answers.js";
import type { EndpointDeps } from "./endpoint-deps.js";
import { createFetchEndpoint, type FetchEndpoint } from "./fetch-endpoint.js";
import { createPublishEndpoints, type PublishEndpoints } from "./publish-endpoints.js";
import { createSubscribeEndpoint, type SubscribeEndpoint } from "./subscribe-endpoint.js";

export type { EndpointDeps } from "./endpoint-deps.js";

/** The GopherMQ methods whose requests GopherMQ counts in its metrics. */
export type GopherMethod = "publish" | "subscribe" | "fetch";

/** The four handlers; each answers its request and returns the status it sent, for GopherMQ's metrics. */
export interface Endpoints extends PublishEndpoints {
  /** `POST /api/subscribe`. */
  subscribe: SubscribeEndpoint;
  /** `POST /api/fetch`. */
  fetch: FetchEndpoint;
}

/**
 * The four GopherMQ API handlers (docs/gophermq.md). Each answers the request itself and returns
 * the status it sent, for GopherMQ's metrics.
 */
export function createEndpoints(deps: EndpointDeps): Endpoints {
  const answers = createEndpointAnswers(deps);
  return {
    ...createPublishEndpoints(deps, answers),
    subscribe: createSubscribeEndpoint(deps, answers),
    fetch: createFetchEndpoint(deps, answers),
  };
}
