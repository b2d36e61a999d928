/**
 * Clients for tests that kill the broker under load: the Connect protocol over HTTP/1.1, one
 * request per connection at a time, so a killed server fails each call in flight on its own (no
 * shared HTTP/2 session to tear down) and a restarted one is reached by the next call.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";

/** Admin, publisher and subscriber clients of the broker at `baseUrl`. */
export function crashClients(baseUrl: string) {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  return {
    admin: createClient(AdminService, transport),
    pub: createClient(PublisherService, transport),
    sub: createClient(SubscriberService, transport),
  };
}

/** What {@link crashClients} returns. */
export type CrashClients = ReturnType<typeof crashClients>;
