import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseFlags, validateConfig } from "./index.js";

const rejectsWith = (fn: () => unknown, pattern: RegExp) =>
  assert.rejects(
    async () => fn(),
    (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
  );

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-config-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("config", () => {
  it("config - defaults are the documented ones", async () => {
    const { config, help } = await loadConfig([]);
    assert.equal(help, false);
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.equal(config.port, 7440);
    assert.equal(config.okqPort, 4777);
    assert.equal(config.gophermqMetricsPort, 9001);
    assert.ok(Object.isFrozen(config));
  });

  it("config - flags set every setting, in both --flag v and --flag=v forms", async () => {
    const { config } = await loadConfig([
      "--data-dir",
      "/tmp/d",
      "--host=0.0.0.0",
      "--port",
      "0",
      "--okq-port",
      "off",
      "--opq-port=0",
      "--restmq-port",
      "1",
      "--ohpq-port",
      "2",
      "--ohpq-http-port",
      "3",
      "--gophermq-port",
      "off",
      "--gophermq-metrics-port",
      "4",
      "--durability",
      "commit",
      "--ack-commit-delay-ms",
      "7",
      "--commit-delay-ms=3",
      "--min-free-disk",
      "512MiB",
      "--max-store-bytes",
      "50GiB",
      "--max-message-bytes",
      "2048",
      "--shutdown-grace-ms",
      "5",
      "--log-level",
      "debug",
      "--log-format=json",
      "--push-allowed-hosts",
      "hooks.example.com, *.internal:8080,[::1]:9000",
      "--okq-qstatus",
      "nested",
      "--tls-cert",
      "/tmp/c.pem",
      "--tls-key=/tmp/k.pem",
      "--ohpq-broker-id",
      "b1",
      "--gophermq-max-pending",
      "7",
      "--gophermq-idle-expiry-ms=60000",
      "--gophermq-max-subscribers=500",
      "--metrics-max-topics",
      "20",
      "--metrics-max-subscriptions",
      "30",
      "--opq-any-response",
      "--opq-max-attempts",
      "7",
      "--opq-dead-letter-topic=dead",
      "--opq-timeout-ms",
      "1500",
      "--opq-retain-ms",
      "0",
      "--restmq-numeric-values",
      "string",
      "--restmq-hosts-allow",
      "127.0.0.1, 10.0.",
      "--restmq-hosts-deny=all",
      "--restmq-max-consumer-buffer-bytes",
      "1048576",
      "--lean-rpc=off",
      "--rpc-max-connections",
      "10",
      "--rpc-max-request-bytes-in-flight",
      "2097152",
      "--http-headers-timeout-ms",
      "1000",
      "--http-request-timeout-ms=2000",
      "--http2-idle-timeout-ms",
      "0",
      "--http2-max-concurrent-streams",
      "8",
      "--http2-max-open-streams=300",
      "--http2-max-session-memory-mb",
      "4",
    ]);
    assert.deepEqual(
      { ...config },
      {
        dataDir: "/tmp/d",
        host: "0.0.0.0",
        port: 0,
        okqPort: "off",
        opqPort: 0,
        restmqPort: 1,
        ohpqPort: 2,
        ohpqHttpPort: 3,
        gophermqPort: "off",
        gophermqMetricsPort: 4,
        durability: "commit",
        ackCommitDelayMs: 7,
        commitDelayMs: 3,
        minFreeDisk: { bytes: 512 * 1024 * 1024 },
        maxStoreBytes: 50 * 1024 ** 3,
        maxMessageBytes: 2048,
        shutdownGraceMs: 5,
        logLevel: "debug",
        logFormat: "json",
        pushAllowedHosts: ["hooks.example.com", "*.internal:8080", "[::1]:9000"],
        okqQstatus: "nested",
        okqIdleTimeoutMs: 300_000,
        okqMaxConnections: 1024,
        okqMaxPendingBytesTotal: 64 * 1024 * 1024,
        tlsCert: "/tmp/c.pem",
        tlsKey: "/tmp/k.pem",
        users: undefined, // the config file only
        ohpqBrokerId: "b1",
        ohpqMaxLineBytes: 1024 * 1024,
        ohpqAckTimeoutMs: 0,
        ohpqIdleTimeoutMs: 300_000,
        ohpqMaxConnections: 1024,
        gophermqMaxPending: 7,
        gophermqIdleExpiryMs: 60000,
        gophermqMaxSubscribers: 500,
        metricsMaxTopics: 20,
        metricsMaxSubscriptions: 30,
        opqAnyResponse: true,
        opqMaxAttempts: 7,
        opqDeadLetterTopic: "dead",
        opqTimeoutMs: 1500,
        opqRetainMs: 0,
        restmqNumericValues: "string",
        restmqHostsAllow: ["127.0.0.1", "10.0."],
        restmqHostsDeny: ["all"],
        restmqMaxConsumerBufferBytes: 1048576,
        leanRpc: "off",
        rpcMaxConnections: 10,
        opqMaxConnections: 1000,
        restmqMaxConnections: 1000,
        gophermqMaxConnections: 1000,
        ohpqHttpMaxConnections: 64,
        rpcMaxRequestBytesInFlight: 2097152,
        httpHeadersTimeoutMs: 1000,
        httpRequestTimeoutMs: 2000,
        http2IdleTimeoutMs: 0,
        http2MaxConcurrentStreams: 8,
        http2MaxOpenStreams: 300,
        http2MaxSessionMemoryMb: 4,
      },
    );
  });

  it("config - a switch flag takes no value; the config file says true or false", async () => {
    assert.equal((await loadConfig([])).config.opqAnyResponse, false);
    assert.equal(parseFlags(["--opq-any-response"]).settings.opqAnyResponse, true);
    assert.throws(() => parseFlags(["--opq-any-response=yes"]), /opq-any-response/);
    assert.throws(() => validateConfig({ opqAnyResponse: "yes" as never }), /expected true or false/);
    assert.equal(validateConfig({ opqAnyResponse: "false" as never }).opqAnyResponse, false);
  });

  it("config - the HTTP/1.1 headers timeout cannot be longer than the request timeout", async () => {
    await rejectsWith(
      () => loadConfig(["--http-headers-timeout-ms", "5000", "--http-request-timeout-ms", "1000"]),
      /--http-headers-timeout-ms 5000 is longer than --http-request-timeout-ms 1000/,
    );
    await rejectsWith(() => loadConfig(["--lean-rpc", "maybe"]), /--lean-rpc "maybe": expected one of on, off/);
  });

  it("config - --min-free-disk takes bytes with a unit, a percentage or 0; the default is 1 GiB or 5 %", async () => {
    const floor = async (v: string) => (await loadConfig(["--min-free-disk", v])).config.minFreeDisk;
    assert.deepEqual((await loadConfig([])).config.minFreeDisk, { bytes: 1024 ** 3, percent: 5 });
    assert.deepEqual(await floor("0"), { bytes: 0 });
    assert.deepEqual(await floor("2GiB"), { bytes: 2 * 1024 ** 3 });
    assert.deepEqual(await floor("2GB"), { bytes: 2e9 });
    assert.deepEqual(await floor("1.5g"), { bytes: 1.5 * 1024 ** 3 });
    assert.deepEqual(await floor("4096"), { bytes: 4096 });
    assert.deepEqual(await floor("7.5%"), { percent: 7.5 });
    await rejectsWith(() => floor("101%"), /--min-free-disk "101%": expected bytes/);
    await rejectsWith(() => floor("lots"), /--min-free-disk "lots": expected bytes/);
    await rejectsWith(() => floor("5 parsecs"), /--min-free-disk/);
  });

  it("config - bad values fail fast naming the flag", async () => {
    await rejectsWith(() => loadConfig(["--port", "abc"]), /--port "abc": expected an integer from 0 to 65535/);
    await rejectsWith(() => loadConfig(["--port", "70000"]), /--port/);
    await rejectsWith(() => loadConfig(["--port", "off"]), /--port "off"/);
    await rejectsWith(() => loadConfig(["--commit-delay-ms", "101"]), /--commit-delay-ms "101"/);
    await rejectsWith(() => loadConfig(["--okq-port=-1"]), /--okq-port.*"off"/);
    await rejectsWith(
      () => loadConfig(["--durability", "fast"]),
      /--durability "fast": expected one of flush, commit, none/,
    );
    await rejectsWith(() => loadConfig(["--max-message-bytes", "0"]), /--max-message-bytes/);
    await rejectsWith(() => loadConfig(["--log-level", "loud"]), /--log-level/);
    await rejectsWith(() => loadConfig(["--gophermq-max-pending", "-1"]), /--gophermq-max-pending/);
    await rejectsWith(() => loadConfig(["--gophermq-idle-expiry-ms", "10"]), /--gophermq-idle-expiry-ms "10"/);
    await rejectsWith(
      () => loadConfig(["--log-format", "xml"]),
      /--log-format "xml": expected one of auto, json, pretty/,
    );
    await rejectsWith(
      () => loadConfig(["--push-allowed-hosts", "ok.example,http://x/"]),
      /--push-allowed-hosts.*"http:\/\/x\/" is not one/,
    );
    await rejectsWith(() => loadConfig(["--push-allowed-hosts", "a:99999"]), /--push-allowed-hosts/);
    await rejectsWith(() => loadConfig(["--restmq-numeric-values", "float"]), /--restmq-numeric-values "float"/);
    await rejectsWith(
      () => loadConfig(["--restmq-max-consumer-buffer-bytes", "1000"]),
      /--restmq-max-consumer-buffer-bytes "1000": expected an integer from 65536/,
    );
  });

  it("config - unknown flags, missing values and stray arguments are errors", () => {
    assert.throws(() => parseFlags(["--nope"]), /unknown flag --nope/);
    assert.throws(() => parseFlags(["--port"]), /flag --port needs a value/);
    assert.throws(() => parseFlags(["extra"]), /unexpected argument extra/);
    assert.equal(parseFlags(["-h"]).help, true);
  });

  it("config - two listeners on one fixed port conflict", () => {
    assert.throws(() => validateConfig({ port: 8080 }), /--ohpq-port 8080 is already taken by --port/);
    assert.doesNotThrow(() => validateConfig({ port: 0, okqPort: 0, opqPort: 0 }));
    assert.doesNotThrow(() => validateConfig({ port: 8080, ohpqPort: "off" }));
  });

  it("config - a YAML file sets values and flags win over it", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "switchyard.yaml");
      await writeFile(file, "port: 7555\ndata-dir: store\nokqPort: off\ndurability: none\n");
      const { config } = await loadConfig(["--config", file, "--durability", "commit"]);
      assert.equal(config.port, 7555);
      assert.equal(config.dataDir, join(dir, "store"), "relative to the file's directory");
      assert.equal(config.okqPort, "off");
      assert.equal(config.durability, "commit");
    });
  });

  it("config - push-allowed-hosts is a YAML list (or one comma-separated string); bad patterns name the key", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "switchyard.yaml");
      await writeFile(file, "push-allowed-hosts:\n  - hooks.example.com\n  - 127.0.0.1:9000\n");
      assert.deepEqual((await loadConfig(["--config", file])).config.pushAllowedHosts, [
        "hooks.example.com",
        "127.0.0.1:9000",
      ]);
      await writeFile(file, "pushAllowedHosts: a.example, b.example\n");
      assert.deepEqual((await loadConfig(["--config", file])).config.pushAllowedHosts, ["a.example", "b.example"]);
      await writeFile(file, "push-allowed-hosts: [7]\n");
      await rejectsWith(() => loadConfig(["--config", file]), /push-allowed-hosts \[7\]: expected a list/);
      assert.deepEqual((await loadConfig([])).config.pushAllowedHosts, [], "default: any host");
    });
  });

  it("config - a JSON file works and its errors name the file and key", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "c.json");
      await writeFile(file, JSON.stringify({ port: 0, maxMessageBytes: 10 }));
      assert.equal((await loadConfig(["--config", file])).config.maxMessageBytes, 10);
      await writeFile(file, JSON.stringify({ prot: 1 }));
      await rejectsWith(() => loadConfig(["--config", file]), /c\.json: unknown setting "prot"/);
      await writeFile(file, JSON.stringify({ port: "x" }));
      await rejectsWith(() => loadConfig(["--config", file]), /c\.json: port "x"/);
      await writeFile(file, "{");
      await rejectsWith(() => loadConfig(["--config", file]), /not valid JSON/);
      await writeFile(file, "[1]");
      await rejectsWith(() => loadConfig(["--config", file]), /mapping/);
      await rejectsWith(() => loadConfig(["--config", join(dir, "missing.yaml")]), /cannot read config file .*ENOENT/);
    });
  });
});
