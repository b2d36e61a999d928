import assert from "node:assert/strict";
import { it } from "node:test";
import { BrokerError } from "../errors/index.js";
import type { PushSettings } from "../model/index.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { pushLeaseMs, pushSettings } from "./push-settings.js";

const base: PushSettings = {
  endpoint: "https://hooks.example.com/in",
  headers: {},
  timeoutMs: 0,
  anyResponseIsSuccess: false,
  hmacSecret: "",
  maxInFlight: 0,
  wrap: false,
  form: false,
  onlyServerErrorsFail: false,
};

function rejects(push: Partial<PushSettings>, reason: string, field: string, allowed: string[] = []) {
  assert.throws(
    () => pushSettings({ ...base, ...push }, { ...DEFAULT_LIMITS, pushAllowedHosts: allowed }),
    (e: unknown) => e instanceof BrokerError && e.reason === reason && e.metadata.field === field,
    JSON.stringify(push),
  );
}

it("push settings - defaults: 10 s timeout, one request in flight", () => {
  const s = pushSettings(base, DEFAULT_LIMITS);
  assert.equal(s.timeoutMs, 10_000);
  assert.equal(s.maxInFlight, 1);
});

it("push settings - endpoint: http(s) URL without credentials", () => {
  for (const endpoint of [
    "",
    "hooks",
    "ftp://x/y",
    "file:///etc/passwd",
    "javascript:alert(1)",
    `http://x/${"a".repeat(5000)}`,
  ]) {
    rejects({ endpoint }, "INVALID_ARGUMENT", "push.endpoint");
  }
  rejects({ endpoint: "https://user:pw@x.example/" }, "INVALID_ARGUMENT", "push.endpoint");
  assert.doesNotThrow(() => pushSettings({ ...base, endpoint: "http://[::1]:8080/p?q=1" }, DEFAULT_LIMITS));
});

it("push settings - headers: valid tokens and values; the broker's own and framing headers are refused", () => {
  for (const name of [
    "Switchyard-Seq",
    "switchyard-anything",
    "Content-Length",
    "Host",
    "Transfer-Encoding",
    "bad name",
    "",
  ]) {
    rejects({ headers: { [name]: "1" } }, "INVALID_ARGUMENT", "push.headers");
  }
  for (const value of ["a\r\nb", " lead", "trail ", "ünï", "nul\u0000"]) {
    rejects({ headers: { "X-A": value } }, "INVALID_ARGUMENT", "push.headers");
  }
  rejects({ headers: { "X-A": "1", "x-a": "2" } }, "INVALID_ARGUMENT", "push.headers");
  rejects(
    { headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-${i}`, "1"])) },
    "INVALID_ARGUMENT",
    "push.headers",
  );
  const ok = pushSettings(
    { ...base, headers: { Authorization: "Bearer a b", "Content-Type": "application/json" } },
    DEFAULT_LIMITS,
  );
  assert.deepEqual(ok.headers, { Authorization: "Bearer a b", "Content-Type": "application/json" });
});

it("push settings - bounds of timeout_ms, max_in_flight and hmac_secret", () => {
  rejects({ timeoutMs: DEFAULT_LIMITS.maxPushTimeoutMs + 1 }, "INVALID_ARGUMENT", "push.timeout_ms");
  rejects({ maxInFlight: DEFAULT_LIMITS.maxPushInFlight + 1 }, "INVALID_ARGUMENT", "push.max_in_flight");
  rejects({ hmacSecret: "k".repeat(1025) }, "INVALID_ARGUMENT", "push.hmac_secret");
});

it("push settings - the allow-list refuses other hosts with PUSH_ENDPOINT_NOT_ALLOWED", () => {
  rejects({ endpoint: "http://169.254.169.254/latest" }, "PUSH_ENDPOINT_NOT_ALLOWED", "push.endpoint", [
    "*.example.com",
  ]);
  assert.doesNotThrow(() => pushSettings(base, { ...DEFAULT_LIMITS, pushAllowedHosts: ["*.example.com"] }));
});

it("push settings - the lease outlives the request timeout, within the ack deadline cap", () => {
  const lease = (timeoutMs: number) => pushLeaseMs({ ...base, timeoutMs }, DEFAULT_LIMITS);
  assert.equal(lease(100), 1_100);
  assert.equal(lease(10_000), 15_000);
  assert.equal(lease(300_000), 310_000);
  assert.ok(lease(DEFAULT_LIMITS.maxPushTimeoutMs) <= DEFAULT_LIMITS.maxAckDeadlineMs);
});
