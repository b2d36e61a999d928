/**
 * The OPQ bridge's memory bound: request bodies count against its budget until their Publish has
 * finished, not only while they are read. The bridge on the real core (memory store) over a real
 * HTTP server on port 0, with an interceptor that holds Publish calls.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import { opqForm } from "../../../test/helpers/opq-client.js";
import { createBroker } from "../../core/index.js";
import { createInProcessClients } from "../../server/in-process-clients.js";
import { createServerInterceptors } from "../../server/interceptors.js";
import { createMemoryStore } from "../../store/index.js";
import { silentLogger } from "../../util/index.js";
import { noMetrics } from "../bridge.js";
import { createOpqBridge } from "./index.js";

it("opq budget - a body counts until its Publish finishes: a second large push meanwhile is refused (503)", async (t) => {
  const store = createMemoryStore();
  const broker = createBroker({ store });
  const shutdown = new AbortController();
  let held: (() => void) | undefined;
  let publishes = 0;
  const holdPublish: Interceptor = (next) => async (req) => {
    if (req.method.name === "Publish") {
      publishes++;
      await new Promise<void>((resolve) => {
        held = resolve;
      });
    }
    return next(req);
  };
  const clients = createInProcessClients(broker, silentLogger, [
    ...createServerInterceptors({ shutdownSignal: shutdown.signal }),
    holdPublish,
  ]);
  const bridge = createOpqBridge(
    { clients, logger: silentLogger, metrics: noMetrics, shutdownSignal: shutdown.signal },
    {
      anyResponse: false,
      maxAttempts: 0,
      deadLetterTopic: "dl",
      timeoutMs: 1_000,
      retainMs: 60_000,
      maxAttributes: 100,
      urlAllowed: () => true,
      maxBufferedBytes: 1_500,
    },
  );
  const server = createServer((req, res) => bridge.handle(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(async () => {
    held?.();
    server.closeAllConnections();
    server.close();
    shutdown.abort();
    await broker.close();
    await store.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fields = (message: string): [string, string][] => [
    ["topic", "big"],
    ["url", "http://127.0.0.1:9/t"],
    ["message", message],
  ];
  const first = opqForm(base, "/opq/push", fields("a".repeat(1_000)));
  for (let i = 0; i < 400 && held === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(held, "the first push reached its Publish");
  const second = await opqForm(base, "/opq/push", fields("b".repeat(1_000)));
  assert.deepEqual([second.status, second.body], [503, "ServiceUnavailable: too many large requests at once"]);
  assert.equal(publishes, 1);
  held?.();
  assert.deepEqual([(await first).status, (await first).body], [201, "success"]);
  // The budget is free again once the first Publish finished.
  const third = opqForm(base, "/opq/push", fields("c".repeat(1_000)));
  for (let i = 0; i < 400 && publishes < 2; i++) await new Promise((r) => setTimeout(r, 5));
  held?.();
  assert.equal((await third).status, 201);
});
