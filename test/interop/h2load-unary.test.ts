/**
 * h2load (Debian nghttp2-client) drives unary Publish calls over gRPC and the Connect protocol at
 * the real server (port 0, LMDB), many streams on few connections: the lean path under load.
 * Every call must publish (h2load counts a gRPC error as success, so the stored count is checked)
 * and a Pull afterwards sees the messages. Part of `npm run test:interop`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { grpcEnvelope } from "../helpers/raw-h2.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);
const CALLS = 3_000;

let server: TestServer;
let clients: TestClients;
let dir: string;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  clients = createTestClients(server.baseUrl, "connect");
  await clients.admin.createTopic({ name: "load", queue: true });
  dir = await mkdtemp(join(tmpdir(), "switchyard-h2load-"));
});
after(async () => {
  clients?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function lastSeq(): Promise<bigint> {
  const stats = await clients.admin.getStats({ topics: ["load"] });
  return stats.topics[0]?.lastSeq ?? 0n;
}

async function h2load(body: string, headers: string[]): Promise<string> {
  const args = ["-n", String(CALLS), "-c", "2", "-m", "32", "-d", body];
  for (const h of headers) args.push("-H", h);
  const { stdout } = await run("h2load", [...args, `${server.baseUrl}/switchyard.v1.PublisherService/Publish`], {
    timeout: 120_000,
  });
  return stdout;
}

describe("unary load with h2load", () => {
  for (const protocol of ["grpc", "connect"] as const) {
    it(`h2load - ${CALLS} ${protocol} Publish calls on 2 connections × 32 streams all publish`, async () => {
      const message = toBinary(
        PublishRequestSchema,
        create(PublishRequestSchema, { topic: "load", messages: [{ data: Buffer.alloc(1024, 0x61) }] }),
      );
      const body = join(dir, `publish.${protocol}`);
      await writeFile(body, protocol === "grpc" ? grpcEnvelope(message) : message);
      const before = await lastSeq();
      const out = await h2load(
        body,
        protocol === "grpc" ? ["content-type: application/grpc", "te: trailers"] : ["content-type: application/proto"],
      );
      assert.match(out, new RegExp(`requests: ${CALLS} total, ${CALLS} started, ${CALLS} done, ${CALLS} succeeded`));
      assert.equal(await lastSeq(), before + BigInt(CALLS), "every call stored its message");
    });
  }

  it("h2load - what was published is there to pull", async () => {
    const pulled = await clients.subscriber.pull({ subscription: "load", maxMessages: 10 });
    assert.equal(pulled.messages.length, 10);
    assert.equal(pulled.messages[0]?.message?.data.length, 1024);
  });
});
