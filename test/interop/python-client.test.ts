/**
 * The Python example (examples/python/) against the real server: stubs generated from proto/ by
 * protoc with the gRPC Python plugin, run with Debian's python3-grpcio over gRPC (h2c). Part of
 * `npm run test:interop` (scripts/interop-preflight.sh checks protoc, grpc_python_plugin and
 * /usr/bin/python3's grpc and protobuf modules first).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { ROOT } from "../helpers/spawn-cli.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);
const EXAMPLE = join(ROOT, "examples/python");
/** Debian's python3 (python3-grpcio, python3-protobuf), not whatever python3 is first on PATH. */
const PYTHON = "/usr/bin/python3";

let server: TestServer;
let clients: TestClients;
let gen: string;

/** Runs an example script against the test server; resolves with its stdout. */
async function example(script: string, ...args: string[]): Promise<string> {
  const address = server.baseUrl.replace(/^http:\/\//, "");
  const { stdout } = await run(PYTHON, [join(EXAMPLE, script), "--server", address, ...args], {
    cwd: EXAMPLE,
    env: { ...process.env, SWITCHYARD_PY_GEN: gen, PYTHONDONTWRITEBYTECODE: "1" },
    timeout: 60_000,
  });
  return stdout;
}

before(async () => {
  gen = await mkdtemp(join(tmpdir(), "clients-pygen-"));
  await run("bash", [join(EXAMPLE, "generate.sh"), gen], { timeout: 60_000 });
  server = await startTestServer({ config: { okqPort: "off" } });
  clients = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  clients?.close();
  await server?.close();
  await rm(gen, { recursive: true, force: true });
});

describe("python example", () => {
  it("python - the producer reads TOPIC_NOT_FOUND, creates the queue and publishes", async () => {
    const first = await example("producer.py", "--topic", "py-jobs", "--count", "3");
    assert.equal(
      first,
      "topic py-jobs: NOT_FOUND TOPIC_NOT_FOUND; creating it as a queue\n" +
        "published seq=1 id=sy-1-1\npublished seq=2 id=sy-1-2\npublished seq=3 id=sy-1-3\n",
    );
    const second = await example("producer.py", "--topic", "py-jobs", "--count", "1");
    assert.match(second, /^topic py-jobs exists\npublished seq=4 id=\S+\n$/);
    const stats = await clients.admin.getStats({ topics: ["py-jobs"] });
    assert.equal(stats.topics[0]?.messages, 4n);
  });

  it("python - the consumer streams with Subscribe and acks what it handled", async () => {
    const out = await example("consumer.py", "--subscription", "py-jobs", "--max", "3");
    const lines = out.trimEnd().split("\n");
    assert.deepEqual(lines, [
      "seq=1 attempt=1 priority=9 data=job 0 attributes=n=0,source=python",
      "seq=4 attempt=1 priority=9 data=job 0 attributes=n=0,source=python",
      "seq=2 attempt=1 priority=0 data=job 1 attributes=n=1,source=python",
      "handled 3 messages",
    ]);
    // The stream may have been sent the fourth message before it was cancelled: the server gives
    // it back when it sees the stream end, which can follow the script's exit by a moment.
    let sub = (await clients.admin.getStats({ topics: ["py-jobs"] })).subscriptions[0];
    for (let i = 0; i < 250 && sub?.inFlight !== 0n; i++) {
      await new Promise((r) => setTimeout(r, 20));
      sub = (await clients.admin.getStats({ topics: ["py-jobs"] })).subscriptions[0];
    }
    assert.equal(sub?.backlog, 1n, "three acked, one left");
    assert.equal(sub?.inFlight, 0n, "nothing left leased after the stream ended");
  });

  it("python - an error's ErrorDetail reason and metadata are read on the Python side", async () => {
    const out = await example("errors.py", "--subscription", "py-jobs");
    assert.equal(
      out,
      'GetTopic no-such-topic: code=NOT_FOUND reason=TOPIC_NOT_FOUND metadata=topic=no-such-topic message=topic "no-such-topic" does not exist\n' +
        "Ack not-an-ack-id: code=INVALID_ARGUMENT reason=INVALID_ACK_ID metadata=failed_ack_ids=not-an-ack-id,failed_message_ids=,settled=0 " +
        'message=ack id "not-an-ack-id" is not an ack id of this subscription\n',
    );
  });
});
