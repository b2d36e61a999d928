import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBridgeMetrics } from "./bridge-metrics.js";

describe("bridge metrics", () => {
  it("bridge metrics - connections gauge, accepted, commands and errors counters per bridge and command", () => {
    const m = createBridgeMetrics();
    m.connection("okq", 1);
    m.connection("okq", 1);
    m.connection("okq", -1);
    m.command("okq", "QLPUSH");
    m.command("okq", "QLPUSH");
    m.error("okq", "unknown");
    const text = m.render();
    assert.match(text, /# TYPE switchyard_bridge_connections gauge\nswitchyard_bridge_connections\{bridge="okq"\} 1\n/);
    assert.match(text, /switchyard_bridge_connections_total\{bridge="okq"\} 2\n/);
    assert.match(
      text,
      /# TYPE switchyard_bridge_commands_total counter\nswitchyard_bridge_commands_total\{bridge="okq",command="QLPUSH"\} 2\n/,
    );
    assert.match(text, /switchyard_bridge_errors_total\{bridge="okq",command="unknown"\} 1\n/);
  });
});
