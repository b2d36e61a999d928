import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderMetrics } from "./metrics.js";

describe("metrics", () => {
  it("metrics - renders gauges per topic and subscription with HELP and TYPE lines", () => {
    const text = renderMetrics(
      {
        topics: [{ name: "jobs", messages: 3, bytes: 30, lastSeq: 7, subscriptions: 1 }],
        subscriptions: [
          {
            name: "jobs",
            topic: "jobs",
            backlog: 3,
            inFlight: 1,
            delayed: 0,
            consumers: 2,
            oldestUnackedAgeMs: 1500,
            paused: true,
            deadLettered: 4,
          },
          {
            name: "hook",
            topic: "jobs",
            backlog: 1,
            inFlight: 0,
            delayed: 0,
            consumers: 1,
            oldestUnackedAgeMs: 0,
            paused: false,
            deadLettered: 0,
            push: {
              lastStatus: 503,
              consecutiveFailures: 2,
              nextAttemptTimeMs: 0,
              lastAttemptTimeMs: 0,
              lastError: "HTTP 503",
            },
          },
        ],
      },
      { uptimeSeconds: 12.5, residentMemoryBytes: 1024 },
    );
    const lines = text.trimEnd().split("\n");
    for (const line of [
      "# TYPE switchyard_topic_messages gauge",
      'switchyard_topic_messages{topic="jobs"} 3',
      'switchyard_topic_bytes{topic="jobs"} 30',
      'switchyard_subscription_backlog{subscription="jobs",topic="jobs"} 3',
      'switchyard_subscription_in_flight{subscription="jobs",topic="jobs"} 1',
      'switchyard_subscription_consumers{subscription="jobs",topic="jobs"} 2',
      'switchyard_subscription_oldest_unacked_age_seconds{subscription="jobs",topic="jobs"} 1.5',
      'switchyard_subscription_paused{subscription="jobs",topic="jobs"} 1',
      'switchyard_subscription_dead_lettered{subscription="jobs",topic="jobs"} 4',
      "switchyard_process_uptime_seconds 12.5",
      'switchyard_push_last_status{subscription="hook",topic="jobs"} 503',
      'switchyard_push_consecutive_failures{subscription="hook",topic="jobs"} 2',
    ]) {
      assert.ok(lines.includes(line), `missing ${line}`);
    }
    assert.ok(!text.includes('switchyard_push_last_status{subscription="jobs"'), "only push subscriptions");
    for (const line of lines) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [-+\d.e]+|NaN)$/);
  });

  it("metrics - escapes label values", () => {
    const text = renderMetrics(
      { topics: [{ name: 'a"b\\c\nd', messages: 1, bytes: 1, lastSeq: 1, subscriptions: 0 }], subscriptions: [] },
      { uptimeSeconds: 0, residentMemoryBytes: 0 },
    );
    assert.ok(text.includes('switchyard_topic_messages{topic="a\\"b\\\\c\\nd"} 1'));
  });

  it("metrics - no topics still renders the process gauges", () => {
    const text = renderMetrics({ topics: [], subscriptions: [] }, { uptimeSeconds: 1, residentMemoryBytes: 2 });
    assert.match(text, /^switchyard_process_resident_memory_bytes 2$/m);
    assert.doesNotMatch(text, /^switchyard_topic_messages\{/m);
  });
});
