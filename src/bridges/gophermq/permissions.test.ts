import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../gen/switchyard/v1/errors_pb.js";
import { startInProcessBroker } from "../../../test/helpers/in-process-clients.js";
import { reasonOf } from "../bridge.js";
import { createPublishPermissions } from "./permissions.js";

/** A user who may publish to `orders` only (as the server's auth check answers), counting Publish calls. */
function user(): { interceptor: Interceptor; publishes: () => number } {
  let publishes = 0;
  return {
    publishes: () => publishes,
    interceptor: (next) => async (req) => {
      if (req.method.name === "Publish") {
        publishes++;
        if ((req.message as { topic?: string }).topic !== "orders") {
          throw new ConnectError("no", Code.PermissionDenied, undefined, [
            { desc: ErrorDetailSchema, value: { reason: "PERMISSION_DENIED" } },
          ]);
        }
      }
      return next(req);
    },
  };
}

describe("gophermq permissions", () => {
  it("gophermq permissions - the broker is asked once per user and subject for a yes, every time for a no, never for the bridge", async (t) => {
    const broker = startInProcessBroker(t);
    await broker.clients.admin.createTopic({ name: "orders", queue: true });
    const u = user();
    const clients = broker.clientsWith([u.interceptor]);
    const permissions = createPublishPermissions(broker.clients);
    await permissions.check(clients, "orders");
    await permissions.check(clients, "orders");
    assert.equal(u.publishes(), 1, "a yes is remembered");
    for (let i = 0; i < 2; i++) {
      await assert.rejects(permissions.check(clients, "billing"), (e) => reasonOf(e) === "PERMISSION_DENIED");
    }
    assert.equal(u.publishes(), 3, "a no is asked again");
    await permissions.check(broker.clients, "billing");
    assert.equal(u.publishes(), 3, "the bridge's own clients are never asked");
    const stats = await broker.clients.admin.getStats({ topics: ["orders"] });
    assert.equal(stats.topics[0]?.lastSeq, 0n, "asking stored nothing");
  });
});
