/**
 * What the GopherMQ endpoints (endpoints.ts) need from the bridge (index.ts): the broker clients
 * of each request, the publisher, the subscriber registry and the bounds of docs/gophermq.md
 * ("Bounds").
 *
 * @module
 */
import type { Logger } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import type { FetchSettler } from "./fetch-settle.js";
import type { GopherRequest } from "./http-io.js";
import type { PublishPermissions } from "./permissions.js";
import type { SubjectPublisher } from "./publisher.js";
import type { SubscriberRegistry } from "./subscribers.js";
import type { TopicCleanup } from "./topic-cleanup.js";

/** What the endpoints need. */
export interface EndpointDeps {
  /** The broker clients of this request's user (the bridge's own while auth is off). */
  clientsFor(req: GopherRequest): BrokerClients;
  /**
   * The bridge's own clients: for what the bridge does on a user's behalf once the broker has said
   * the user may (creating a subscriber's subscription and topic, finding a subscriber's subject).
   */
  bridgeClients: BrokerClients;
  /** Whether a user may publish to a subject (asked once per user and subject). */
  publishPermissions: PublishPermissions;
  /** The `WWW-Authenticate` value of a 401. */
  challenge: string;
  publisher: SubjectPublisher;
  logger: Logger;
  /** Prefix of the subscription names the bridge creates; the GopherMQ id follows it. */
  subscriptionPrefix: string;
  /** `expire_after_idle_ms` of each subscriber's subscription. */
  idleExpiryMs: number;
  /** Largest request body read, in bytes; larger ones get 413. */
  maxBodyBytes: number;
  /** Most messages one fetch returns. */
  fetchMaxMessages: number;
  /** About the most data bytes one fetch returns (at least one message). */
  fetchMaxBytes: number;
  /** Largest message data in bytes (sizes each pull of a fetch). */
  maxMessageBytes: number;
  /** Lease of the messages a fetch takes, until its answer is out and they are acked. */
  fetchLeaseMs: number;
  /** Acks a fetch's messages once its answer is out, or gives them back. */
  settler: FetchSettler;
  /** Waits for room for one more async publish; resolves false when there is none in time. */
  asyncSlot(signal: AbortSignal): Promise<(() => void) | undefined>;
  /** The live subscribers (capped) and the topics the bridge created. */
  registry: SubscriberRegistry;
  /** Deletes unused topics the bridge created; a subscribe waits for its subject's cleanup. */
  cleanup: TopicCleanup;
}
