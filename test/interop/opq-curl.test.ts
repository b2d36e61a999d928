/**
 * The OPQ bridge driven by curl, as OPQ's users drive it: `curl -d` (url-encoded) and `curl -F`
 * (multipart, what PHP's curl extension sends for an array), then a replay. Part of
 * `npm run test:interop` (scripts/interop-preflight.sh checks that curl is installed).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget, type WebhookTarget } from "../helpers/webhook-target.js";

const run = promisify(execFile);

/** Runs curl; resolves with `<status> <body>` (`-w` appends the status after the body). */
async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run("curl", ["-sS", "-o", "-", "-w", " %{http_code}", ...args]);
  return stdout;
}

let server: TestServer;
let target: WebhookTarget;
let opq: string;

before(async () => {
  server = await startTestServer();
  target = await startWebhookTarget();
  opq = `http://${server.addresses.opq}`;
});
after(async () => {
  await server.close();
  await target.close();
});

describe("opq with curl", () => {
  it("opq - curl -d pushes; the target gets curl's headers and the url-encoded form", async () => {
    const url = target.url("/comment?user=q18");
    const out = await curl(
      "-H",
      "X-Trace: t-1",
      "-d",
      `url=${encodeURIComponent(url)}`,
      "-d",
      "topic=comment",
      "--data-urlencode",
      "message=this is message body",
      `${opq}/opq/push`,
    );
    assert.equal(out, "success 201");
    const [got] = await target.waitFor("/comment?user=q18", 1);
    assert.equal(got?.body.toString(), `message=this+is+message+body&topic=comment&url=${encodeURIComponent(url)}`);
    assert.match(String(got?.headers["user-agent"]), /^curl\//);
    assert.equal(got?.headers["x-trace"], "t-1");
    assert.equal(got?.headers["content-type"], "application/x-www-form-urlencoded");
  });

  it("opq - curl -F (multipart) pushes; a replay with curl sends it again", async () => {
    const url = target.url("/multi");
    assert.equal(
      await curl("-F", `url=${url}`, "-F", "topic=multi", "-F", "message=hello", `${opq}/opq/push`),
      "success 201",
    );
    await target.waitFor("/multi", 1);
    assert.equal(await curl("-d", "topic=multi", "-d", "cmd=0", `${opq}/opq/replay`), "success 201");
    const got = await target.waitFor("/multi", 2);
    assert.equal(got[1]?.body.toString(), `message=hello&topic=multi&url=${encodeURIComponent(url)}`);
    assert.equal(got[1]?.headers["content-type"], "application/x-www-form-urlencoded");
  });

  it("opq - curl sees OPQ's refusals", async () => {
    assert.equal(await curl("-d", "message=hi", `${opq}/opq/push`), "BadRequest: message=hi 400");
    assert.equal(await curl("-d", "topic=nope&cmd=0", `${opq}/opq/replay`), "delivery service is not ready 500");
    assert.equal(await curl(`${opq}/opq/push`), " 405");
  });
});
