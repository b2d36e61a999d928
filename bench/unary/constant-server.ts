/**
 * A unary server that answers every `switchyard.v1.PublisherService/Publish` with the same
 * PublishResponse, for the unary benchmark's reference rows (bench/unary/unary-bench.ts):
 *
 *   node --import tsx bench/unary/constant-server.ts grpc-js|bare [--max-concurrent-streams N] [--end-apart]
 *
 * `grpc-js`: an @grpc/grpc-js server (gRPC only). `bare`: `node:http2` streams with no framework,
 * answering gRPC (an envelope plus `grpc-status: 0` trailers) and Connect unary (the message).
 * Two switches of `bare` copy what the broker does on the wire, to see what they cost a client
 * (bench/tools/client-cost.ts): `--max-concurrent-streams N` announces that limit in SETTINGS
 * (Node announces none by default; the broker 100), and `--end-apart` ends a Connect response
 * with an empty DATA frame after the body's write is done, as the lean path does
 * (src/rpc/lean/lean-stream.ts), instead of END_STREAM on the body's DATA frame.
 * Both read and decode the request body with @bufbuild/protobuf, as a real handler would. Prints
 * `port N` once listening on 127.0.0.1; exits on SIGTERM.
 */
import * as http2 from "node:http2";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type PublishRequest,
  PublishRequestSchema,
  type PublishResponse,
  PublishResponseSchema,
} from "../../gen/switchyard/v1/publisher_pb.js";

const RESPONSE = create(PublishResponseSchema, { results: [{ seq: 1n, id: "sy-1-1" }] });
const RESPONSE_BYTES = toBinary(PublishResponseSchema, RESPONSE);
const PATH = "/switchyard.v1.PublisherService/Publish";

function startGrpcJs(): void {
  const server = new grpc.Server();
  const method: grpc.MethodDefinition<PublishRequest, PublishResponse> = {
    path: PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => Buffer.from(toBinary(PublishRequestSchema, m)),
    requestDeserialize: (b) => fromBinary(PublishRequestSchema, b),
    responseSerialize: (m) => Buffer.from(toBinary(PublishResponseSchema, m)),
    responseDeserialize: (b) => fromBinary(PublishResponseSchema, b),
  };
  server.addService(
    { publish: method },
    { publish: (_call: unknown, done: grpc.sendUnaryData<PublishResponse>) => done(null, RESPONSE) },
  );
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`port ${port}\n`);
  });
}

function startBare(options: { maxConcurrentStreams: number | undefined; endApart: boolean }): void {
  const envelope = Buffer.alloc(5 + RESPONSE_BYTES.length);
  envelope.writeUInt32BE(RESPONSE_BYTES.length, 1);
  envelope.set(RESPONSE_BYTES, 5);
  const { maxConcurrentStreams, endApart } = options;
  const server = http2.createServer(maxConcurrentStreams === undefined ? {} : { settings: { maxConcurrentStreams } });
  server.on("stream", (stream, headers) => {
    const grpcCall = String(headers["content-type"] ?? "").startsWith("application/grpc");
    const chunks: Buffer[] = [];
    stream.on("error", () => {});
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      fromBinary(PublishRequestSchema, grpcCall ? body.subarray(5) : body);
      if (grpcCall) {
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(envelope);
      } else {
        stream.respond({
          ":status": 200,
          "content-type": "application/proto",
          "content-length": RESPONSE_BYTES.length,
        });
        if (endApart) stream.write(RESPONSE_BYTES, () => endUnlessClosed(stream));
        else stream.end(RESPONSE_BYTES);
      }
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`port ${(server.address() as { port: number }).port}\n`);
  });
}

function endUnlessClosed(stream: http2.ServerHttp2Stream): void {
  if (!stream.destroyed && !stream.writableEnded) stream.end();
}

process.on("SIGTERM", () => process.exit(0));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "max-concurrent-streams": { type: "string" }, "end-apart": { type: "boolean", default: false } },
});
const kind = positionals[0];
const streams = values["max-concurrent-streams"];
if (kind === "grpc-js") startGrpcJs();
else if (kind === "bare") {
  startBare({
    maxConcurrentStreams: streams === undefined ? undefined : Number(streams),
    endApart: values["end-apart"],
  });
} else {
  process.stderr.write("usage: constant-server.ts grpc-js|bare [--max-concurrent-streams N] [--end-apart]\n");
  process.exit(2);
}
