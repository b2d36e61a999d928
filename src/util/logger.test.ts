import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { childLogger, createLogger, type Logger, type LoggerOptions } from "./logger.js";
import { REDACTED, redactForLog, redactText } from "./redact.js";

/** A logger writing into an array of lines. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const destination = { write: (text: string) => lines.push(...text.split("\n").filter(Boolean)) };
  const logger = createLogger({ format: "json", ...options, destination });
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("logger - JSON: one object per line with level name, ISO time, pid, msg and the fields", () => {
    const { logger, json, lines } = capture();
    logger.info("listener up", { address: "127.0.0.1:7440", n: 3 });
    logger.warn("slow");
    logger.error("failed", { error: new Error("boom", { cause: new Error("root") }) });
    assert.equal(lines.length, 3);
    const [info, warn, error] = json();
    assert.equal(info?.level, "info");
    assert.equal(info?.msg, "listener up");
    assert.equal(info?.address, "127.0.0.1:7440");
    assert.equal(info?.n, 3);
    assert.equal(info?.pid, process.pid);
    assert.match(String(info?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(warn?.level, "warn");
    const e = error?.error as { name: string; message: string; stack: string; cause: { message: string } };
    assert.equal(e.message, "boom");
    assert.equal(e.cause.message, "root");
    assert.match(e.stack, /Error: boom/);
  });

  it("logger - levels: debug only at --log-level debug, nothing at silent", () => {
    const info = capture({ level: "info" });
    info.logger.debug("hidden");
    info.logger.info("shown");
    assert.deepEqual(
      info.json().map((l) => l.msg),
      ["shown"],
    );
    const debug = capture({ level: "debug" });
    debug.logger.debug("detail", { k: 1 });
    assert.equal(debug.json()[0]?.level, "debug");
    const error = capture({ level: "error" });
    error.logger.warn("no");
    error.logger.error("yes");
    assert.deepEqual(
      error.json().map((l) => l.msg),
      ["yes"],
    );
    const silent = capture({ level: "silent" });
    silent.logger.error("nothing");
    assert.deepEqual(silent.lines, []);
  });

  it("logger - child loggers add request-scoped fields to every line; call fields win", () => {
    const { logger, json } = capture();
    const okq = logger.child({ bridge: "okq" });
    okq.child({ client: 7 }).warn("slow reader", { client: 8 });
    assert.deepEqual({ bridge: json()[0]?.bridge, client: json()[0]?.client }, { bridge: "okq", client: 8 });
    // A hand-written logger without child/debug gets them through childLogger.
    const seen: Record<string, unknown>[] = [];
    const plain: Logger = { info: (_m, f) => seen.push(f ?? {}), warn() {}, error() {} };
    childLogger(plain, { bridge: "x" }).info("hi", { a: 1 });
    assert.deepEqual(seen, [{ bridge: "x", a: 1 }]);
  });

  it("logger - secrets never reach a line: secret-named keys at any depth, URL passwords, headers", () => {
    const { logger, lines } = capture({ level: "debug" });
    const subscription = {
      name: "orders-hook",
      push: {
        endpoint: "https://hooks.example/orders",
        hmacSecret: "hmac-s3cret-1",
        headers: { Authorization: "Bearer header-s3cret-2", "X-Trace": "t1" },
      },
    };
    logger.error("subscription listener failed", { change: { subscription } });
    logger.warn("config", { users: [{ name: "ops", password: "pw-s3cret-3", tokens: ["tok-s3cret-4"] }] });
    logger.info("fetch failed for https://ops:url-s3cret-5@hooks.example/x", {
      error: new Error("connect to http://a:url-s3cret-6@h failed"),
      headers: new Map([["cookie", "c-s3cret-7"]]),
      password_hash: "scrypt$s3cret-8",
    });
    logger.child({ api_key: "k-s3cret-9" }).debug("child");
    const text = lines.join("\n");
    for (const secret of [
      "s3cret-1",
      "s3cret-2",
      "s3cret-3",
      "s3cret-4",
      "s3cret-5",
      "s3cret-6",
      "s3cret-7",
      "s3cret-8",
      "s3cret-9",
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    const first = JSON.parse(lines[0] ?? "{}");
    assert.equal(first.change.subscription.push.hmacSecret, REDACTED);
    assert.equal(first.change.subscription.push.headers.Authorization, REDACTED);
    assert.equal(first.change.subscription.push.headers["X-Trace"], "t1", "other fields stay");
    assert.equal(first.change.subscription.push.endpoint, "https://hooks.example/orders");
    assert.match(lines[2] ?? "", /https:\/\/ops:\[redacted\]@hooks\.example\/x/);
  });

  it("logger - query values under secret-like names are cut from URLs in any string", () => {
    assert.equal(
      redactText("POST https://h.example/x?access_token=abc&page=2&API-KEY=k1#frag failed"),
      "POST https://h.example/x?access_token=[redacted]&page=2&API-KEY=[redacted]#frag failed",
    );
    assert.equal(redactText("/p?password=&x=1"), "/p?password=&x=1", "nothing to cut");
    assert.equal(redactText("a=b&token=t"), "a=b&token=t", "not a URL's query: no ? before it");
    assert.equal(
      redactText("https://h/x?pass%77ord=pw1&t%6Fken=tk2"),
      "https://h/x?pass%77ord=[redacted]&t%6Fken=[redacted]",
    );
  });

  it("logger - redaction bounds what it walks: cycles, depth, long arrays, binary data", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.deepEqual(redactForLog(cyclic), { a: 1, self: "[circular]" });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 20; i++) {
      const next = {};
      deep.next = next;
      deep = next;
    }
    assert.ok(JSON.stringify(redactForLog(root)).includes('"[object]"'));
    const long = redactForLog(Array.from({ length: 150 }, (_, i) => i)) as unknown[];
    assert.equal(long.length, 101);
    assert.equal(long[100], "[50 more]");
    assert.deepEqual(redactForLog({ data: new Uint8Array(12) }), { data: "[12 bytes]" });
    assert.deepEqual(redactForLog({ seq: 5n }), { seq: "5" });
  });

  it("logger - pretty: readable text lines, not JSON", () => {
    const lines: string[] = [];
    const logger = createLogger({
      format: "pretty",
      colorize: false,
      destination: { write: (t: string) => lines.push(t) },
    });
    logger.info("rpc listener up", { address: "127.0.0.1:7440" });
    const text = lines.join("");
    assert.match(text, /INFO.*rpc listener up/);
    assert.match(text, /address.*127\.0\.0\.1:7440/);
    assert.ok(!text.trimStart().startsWith("{"));
  });
});
