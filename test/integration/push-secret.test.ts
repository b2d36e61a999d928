/**
 * A push subscription's `hmac_secret` is write-only: no response carries it (Create, Get, List,
 * Update, Pause), `hmac_secret_set` says whether one is set, and a read-modify-write keeps it.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import type { Subscription } from "../../gen/switchyard/v1/types_pb.js";
import { createTestClients, PROTOCOLS } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget } from "../helpers/webhook-target.js";

async function setup(t: TestContext, protocol: (typeof PROTOCOLS)[number]) {
  const target = await startWebhookTarget();
  const server = await startTestServer();
  const c = createTestClients(server.baseUrl, protocol);
  t.after(async () => {
    c.close();
    await server.close();
    await target.close();
  });
  return { target, c };
}

const noSecret = (s: Subscription | undefined, set: boolean, what: string) => {
  assert.equal(s?.push?.hmacSecret, "", `${what}: the secret is not returned`);
  assert.equal(s?.push?.hmacSecretSet, set, `${what}: hmac_secret_set`);
};

describe("push secret", () => {
  for (const protocol of PROTOCOLS) {
    it(`push secret - ${protocol}: no response returns hmac_secret; hmac_secret_set says it is there`, async (t) => {
      const { target, c } = await setup(t, protocol);
      await c.admin.createTopic({ name: "orders" });
      const push = { endpoint: target.url("/hook"), hmacSecret: "s3cret" };
      const created = await c.admin.createSubscription({ subscription: { name: "hook", topic: "orders", push } });
      noSecret(created.subscription, true, "CreateSubscription");
      noSecret((await c.admin.getSubscription({ name: "hook" })).subscription, true, "GetSubscription");
      const listed = await c.admin.listSubscriptions({ topic: "orders" });
      noSecret(
        listed.subscriptions.find((s) => s.name === "hook"),
        true,
        "ListSubscriptions",
      );
      noSecret((await c.admin.pauseSubscription({ name: "hook" })).subscription, true, "PauseSubscription");
      noSecret((await c.admin.resumeSubscription({ name: "hook" })).subscription, true, "ResumeSubscription");
      await c.admin.createSubscription({
        subscription: { name: "plain", topic: "orders", push: { endpoint: push.endpoint } },
      });
      noSecret((await c.admin.getSubscription({ name: "plain" })).subscription, false, "without a secret");

      // Read, change the endpoint, write back: the secret stays and still signs.
      const read = (await c.admin.getSubscription({ name: "hook" })).subscription;
      assert.ok(read?.push);
      read.push.endpoint = target.url("/moved");
      const updated = await c.admin.updateSubscription({ subscription: read, updateMask: { paths: ["push"] } });
      noSecret(updated.subscription, true, "UpdateSubscription keeping the secret");
      await c.publisher.publish({ topic: "orders", messages: [{ data: new TextEncoder().encode("x") }] });
      const [r] = await target.waitFor("/moved", 1);
      assert.ok(r);
      const signature = `sha256=${createHmac("sha256", "s3cret").update(r.body).digest("hex")}`;
      assert.equal(r.headers["switchyard-signature"], signature, "signed with the kept secret");
    });
  }

  it("push secret - an update can replace the secret or remove it (empty, hmac_secret_set false)", async (t) => {
    const { target, c } = await setup(t, "connect");
    await c.admin.createTopic({ name: "orders" });
    const endpoint = target.url("/hook");
    await c.admin.createSubscription({
      subscription: { name: "hook", topic: "orders", push: { endpoint, hmacSecret: "a" } },
    });
    const mask = { paths: ["push"] };
    await c.admin.updateSubscription({
      subscription: { name: "hook", push: { endpoint, hmacSecret: "b" } },
      updateMask: mask,
    });
    await c.publisher.publish({ topic: "orders", messages: [{ data: new TextEncoder().encode("1") }] });
    const [first] = await target.waitFor("/hook", 1);
    assert.equal(
      first?.headers["switchyard-signature"],
      `sha256=${createHmac("sha256", "b").update("1").digest("hex")}`,
    );
    const removed = await c.admin.updateSubscription({
      subscription: { name: "hook", push: { endpoint } },
      updateMask: mask,
    });
    noSecret(removed.subscription, false, "removed");
    await c.publisher.publish({ topic: "orders", messages: [{ data: new TextEncoder().encode("2") }] });
    const all = await target.waitFor("/hook", 2);
    assert.equal(all[1]?.headers["switchyard-signature"], undefined, "no signature without a secret");
  });
});
