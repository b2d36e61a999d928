/**
 * `buf curl` (the CLI the README shows, from node_modules) calls the hot methods over gRPC and the
 * Connect protocol on HTTP/2, both served by the lean path, using reflection for the schema; errors
 * come back with the code and the `switchyard.v1.ErrorDetail` that buf decodes.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { ROOT } from "../helpers/spawn-cli.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);
const BUF = join(ROOT, "node_modules", ".bin", "buf");

let s: TestServer;

before(async () => {
  s = await startTestServer({ config: { okqPort: "off" } });
  const res = await fetch(`${s.baseUrl}/switchyard.v1.AdminService/CreateTopic`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"curl","queue":true}',
  });
  assert.equal(res.status, 200);
});
after(() => s?.close());

/** One `buf curl` call with HTTP/2 prior knowledge; resolves with stdout, or rejects with the error. */
function bufCurl(protocol: "grpc" | "connect", method: string, body: string) {
  const url = `${s.baseUrl}/switchyard.v1.${method}`;
  return run(BUF, ["curl", "--protocol", protocol, "--http2-prior-knowledge", "-d", body, url], { timeout: 30_000 });
}

describe("buf curl on the hot methods", () => {
  for (const protocol of ["grpc", "connect"] as const) {
    it(`buf curl - ${protocol}: publish, pull and ack`, async () => {
      const published = await bufCurl(
        protocol,
        "PublisherService/Publish",
        '{"topic":"curl","messages":[{"data":"aGk="}]}',
      );
      const seq = (JSON.parse(published.stdout) as { results: { seq: string }[] }).results[0]?.seq;
      assert.ok(seq);
      const pulled = await bufCurl(protocol, "SubscriberService/Pull", '{"subscription":"curl","maxMessages":1}');
      const messages = (
        JSON.parse(pulled.stdout) as { messages: { ackId: string; message: { seq: string; data: string } }[] }
      ).messages;
      assert.equal(messages[0]?.message.seq, seq);
      assert.equal(messages[0]?.message.data, "aGk=");
      const acked = await bufCurl(
        protocol,
        "SubscriberService/Ack",
        JSON.stringify({ subscription: "curl", ackIds: [messages[0]?.ackId] }),
      );
      assert.equal(acked.stdout.trim(), "{}");
    });

    it(`buf curl - ${protocol}: an error shows its code and reason`, async () => {
      await assert.rejects(
        bufCurl(protocol, "PublisherService/Publish", '{"topic":"nope","messages":[{"data":"aGk="}]}'),
        (e) => {
          const error = JSON.parse((e as { stderr: string }).stderr) as {
            code: string;
            details: { type: string; value: string }[];
          };
          assert.equal(error.code, "not_found");
          const detail = error.details.find((d) => d.type === "switchyard.v1.ErrorDetail");
          assert.ok(detail, JSON.stringify(error));
          assert.equal(fromBinary(ErrorDetailSchema, Buffer.from(detail.value, "base64")).reason, "TOPIC_NOT_FOUND");
          return true;
        },
      );
    });
  }
});
