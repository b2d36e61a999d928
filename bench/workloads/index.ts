/** The suite's workloads in run order (the backlog restarts the broker, so it runs last). */
import { backlog } from "./backlog.js";
import type { Workload } from "./types.js";
import { w1Publish } from "./w1-publish.js";
import { w2Consume } from "./w2-consume.js";
import { w3Latency } from "./w3-latency.js";
import { w4Fanout } from "./w4-fanout.js";
import { w5Payload } from "./w5-payload.js";

/** Every workload, in order. */
export const WORKLOADS: readonly Workload[] = [w1Publish, w2Consume, w3Latency, w4Fanout, w5Payload, backlog];
