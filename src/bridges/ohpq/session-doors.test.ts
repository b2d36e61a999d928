/** ohpq queues changed through another door: deleted (and made again), or pushed by the broker. */
import { describe, it, type TestContext } from "node:test";
import { createOhpqHarness } from "../../../test/helpers/ohpq-harness.js";
import { createFakeClock } from "../../util/index.js";

function harness(t: TestContext) {
  const clock = createFakeClock();
  const h = createOhpqHarness({ clock });
  t.after(() => h.close());
  return { ...h, clock };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ohpq queues and other doors", () => {
  it("ohpq doors - a queue deleted over the API is made again by the next PUB or SUB, not answered ERROR internal error", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip("PUB gone one\n", "OK\n");
    await h.clients.admin.deleteTopic({ name: "gone" });
    await c.roundtrip("PUB gone two\n", "OK\n");
    await c.roundtrip("GET gone\n", "MESSAGE gone two\n");
    await c.roundtrip("ACK gone\n", "OK\n");
    await h.clients.admin.deleteTopic({ name: "gone" });
    await c.roundtrip("SUB gone\n", "OK subscribed\n");
    await h.connect().roundtrip("PUB gone three\n", "OK\n");
    await c.expect("MESSAGE gone three\n");
  });

  it("ohpq doors - an open SUB whose queue is deleted makes it again and goes on delivering", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip("SUB live\n", "OK subscribed\n");
    const p = h.connect();
    await p.roundtrip("PUB live one\n", "OK\n");
    await c.roundtrip("", "MESSAGE live one\n");
    await c.roundtrip("ACK live\n", "OK\n");
    await h.clients.admin.deleteTopic({ name: "live" });
    // The stream ends with the queue; it is made again at once and reopened after the first retry wait.
    for (let i = 0; i < 200; i++) {
      const exists = await h.clients.admin.getSubscription({ name: "live" }).then(
        () => true,
        () => false,
      );
      if (exists) break;
      await sleep(5);
    }
    await sleep(20); // the retry timer is set once the queue is made
    h.clock.advance(250);
    await sleep(20);
    await p.roundtrip("PUB live two\n", "OK\n");
    await c.expect("MESSAGE live two\n");
  });
});
