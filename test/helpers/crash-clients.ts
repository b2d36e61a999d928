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

/**
 * Publishes batches of 1 to `maxBatch` messages with unique ids (`p<worker>-<n>-<i>`) until `stop`
 * says so or a call fails (the server died mid-call: that batch's fate is unknown); returns the ids
 * whose Publish was answered.
 */
export async function publishIdsUntil(
  c: CrashClients,
  topic: string,
  worker: number,
  stop: () => boolean,
  options: { payloadBytes: number; maxBatch: number },
): Promise<Set<string>> {
  const payload = new Uint8Array(options.payloadBytes).fill(7);
  const confirmed = new Set<string>();
  for (let n = 0; !stop(); n++) {
    const ids = Array.from({ length: 1 + (n % options.maxBatch) }, (_, i) => `p${worker}-${n}-${i}`);
    try {
      await c.pub.publish({ topic, messages: ids.map((id) => ({ id, data: payload })) });
      for (const id of ids) confirmed.add(id);
    } catch {
      return confirmed;
    }
  }
  return confirmed;
}
