import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram, Registry } from "prom-client";
import { TalliedHistogram } from "./tallied-histogram.js";

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const NAME = "test_duration_seconds";
const HELP = "A test histogram.";

/** The same observations into prom-client's Histogram and a TalliedHistogram, each in its own registry. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ["protocol", "method"] as const,
    buckets: BOUNDS,
    registers: [theirs],
  });
  const tallied = new TalliedHistogram(NAME, HELP, BOUNDS, ours);
  const children = new Map<string, ReturnType<TalliedHistogram["child"]>>();
  const observe = (labels: { protocol: string; method: string }, value: number) => {
    reference.observe(labels, value);
    const key = `${labels.protocol}/${labels.method}`;
    let child = children.get(key);
    if (child === undefined) {
      child = tallied.child(labels);
      children.set(key, child);
    }
    child.observe(value);
  };
  return { theirs, ours, observe, tallied, reference };
}

describe("TalliedHistogram", () => {
  it("exports the text and JSON prom-client's Histogram exports for the same observations", async () => {
    const { theirs, ours, observe } = pair();
    assert.equal(await ours.metrics(), await theirs.metrics(), "no observation: no label set");
    const values = [0, 0.0005, 0.00051, 0.001, 0.003, 0.07, 1, 59.9, 60, 61, 1_000, 1e-9];
    let i = 0;
    for (const v of values) {
      observe({ protocol: i % 3 === 0 ? "grpc" : "connect", method: i % 2 === 0 ? "Publish" : "Ack" }, v);
      i++;
    }
    // Unlucky sums in floating point included: the same additions in the same order.
    for (let k = 0; k < 1_000; k++) observe({ protocol: "grpc", method: "Publish" }, (k % 97) / 1_000);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    const merged = await Registry.merge([ours, new Registry()]).metrics();
    assert.equal(merged, await theirs.metrics(), "merged with another registry");
  });

  it("after a reset shows nothing until label sets are observed again, as prom-client", async () => {
    const { theirs, ours, observe } = pair();
    observe({ protocol: "grpc", method: "Publish" }, 0.002);
    observe({ protocol: "connect", method: "Ack" }, 0.2);
    theirs.resetMetrics();
    ours.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
    observe({ protocol: "connect", method: "Ack" }, 0.02);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /test_duration_seconds_count\{protocol="connect",method="Ack"\} 1/);
  });

  it("refuses a value that is not a finite number, as prom-client", () => {
    const { tallied } = pair();
    const child = tallied.child({ protocol: "grpc", method: "Publish" });
    assert.throws(() => child.observe(Number.NaN), TypeError);
    assert.throws(() => child.observe(Number.POSITIVE_INFINITY), TypeError);
  });
});
