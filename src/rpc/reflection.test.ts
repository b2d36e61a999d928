import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescFile, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  file_grpc_reflection_v1_reflection,
  type ServerReflectionResponse,
  ServerReflection as V1,
  ServerReflectionRequestSchema as V1Request,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as V1alpha,
  ServerReflectionRequestSchema as V1alphaRequest,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_switchyard_v1_admin } from "../../gen/switchyard/v1/admin_pb.js";
import { file_switchyard_v1_publisher } from "../../gen/switchyard/v1/publisher_pb.js";
import { abortReasonToConnectError, registerReflection } from "./reflection.js";

const FILES: DescFile[] = [
  file_switchyard_v1_admin,
  file_switchyard_v1_publisher,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

type Req = MessageInitShape<typeof V1Request>;

/** Sends `requests` on one v1 stream and collects the answers. */
async function ask(...requests: Req[]): Promise<ServerReflectionResponse[]> {
  const client = createClient(
    V1,
    createRouterTransport((router) => registerReflection(router, FILES)),
  );
  async function* input() {
    for (const r of requests) yield create(V1Request, r);
  }
  const out: ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(input())) out.push(res);
  return out;
}

function fileNames(res: ServerReflectionResponse | undefined): string[] {
  assert.equal(res?.messageResponse.case, "fileDescriptorResponse");
  if (res?.messageResponse.case !== "fileDescriptorResponse") return [];
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("reflection", () => {
  it("reflection - list_services lists the services of the served files", async () => {
    const [res] = await ask({ host: "h", messageRequest: { case: "listServices", value: "" } });
    assert.equal(res?.validHost, "h");
    assert.equal(res?.messageResponse.case, "listServicesResponse");
    const names = res?.messageResponse.case === "listServicesResponse" ? res.messageResponse.value.service : [];
    assert.deepEqual(
      names.map((s) => s.name),
      [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "switchyard.v1.AdminService",
        "switchyard.v1.PublisherService",
      ],
    );
  });

  it("reflection - file_containing_symbol sends the file and its transitive imports", async () => {
    const [res] = await ask({ messageRequest: { case: "fileContainingSymbol", value: "switchyard.v1.AdminService" } });
    const names = fileNames(res);
    assert.equal(names[0], "switchyard/v1/admin.proto");
    assert.ok(names.includes("switchyard/v1/types.proto"));
    assert.ok(names.includes("google/protobuf/field_mask.proto"));
    assert.ok(names.includes("google/protobuf/timestamp.proto"), "import of an import");
    assert.equal(new Set(names).size, names.length);
  });

  it("reflection - methods, fields and nested symbols resolve", async () => {
    const responses = await ask(
      { messageRequest: { case: "fileContainingSymbol", value: "switchyard.v1.AdminService.ListTopics" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" } },
      { messageRequest: { case: "fileContainingSymbol", value: "switchyard.v1.PublishRequest.topic" } },
    );
    assert.equal(fileNames(responses[0])[0], "switchyard/v1/admin.proto");
    assert.equal(fileNames(responses[1])[0], "grpc/health/v1/health.proto");
    assert.equal(fileNames(responses[2])[0], "switchyard/v1/publisher.proto");
  });

  it("reflection - file_by_filename omits imports already sent on the stream", async () => {
    const [first, second] = await ask(
      { messageRequest: { case: "fileByFilename", value: "switchyard/v1/admin.proto" } },
      { messageRequest: { case: "fileByFilename", value: "switchyard/v1/publisher.proto" } },
    );
    assert.ok(fileNames(first).includes("switchyard/v1/types.proto"));
    const names = fileNames(second);
    assert.equal(names[0], "switchyard/v1/publisher.proto");
    assert.ok(!names.includes("switchyard/v1/types.proto"));
  });

  it("reflection - unknown names get error_response NOT_FOUND and the stream goes on", async () => {
    const responses = await ask(
      { messageRequest: { case: "fileContainingSymbol", value: "no.such.Symbol" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "no.such.Message" } },
      { messageRequest: { case: "listServices", value: "" } },
    );
    assert.equal(responses.length, 4);
    for (const res of responses.slice(0, 3)) {
      assert.equal(res.messageResponse.case, "errorResponse");
      if (res.messageResponse.case === "errorResponse")
        assert.equal(res.messageResponse.value.errorCode, Code.NotFound);
    }
    assert.equal(responses[3]?.messageResponse.case, "listServicesResponse");
  });

  it("reflection - all_extension_numbers_of_type of a known message is empty", async () => {
    const [res] = await ask({ messageRequest: { case: "allExtensionNumbersOfType", value: "switchyard.v1.Topic" } });
    assert.equal(res?.messageResponse.case, "allExtensionNumbersResponse");
  });

  it("reflection - v1alpha answers the same", async () => {
    const client = createClient(
      V1alpha,
      createRouterTransport((router) => registerReflection(router, FILES)),
    );
    async function* input() {
      yield create(V1alphaRequest, { messageRequest: { case: "listServices", value: "*" } });
      yield create(V1alphaRequest, {
        messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" },
      });
    }
    const out = [];
    for await (const res of client.serverReflectionInfo(input())) out.push(res);
    assert.equal(out[0]?.messageResponse.case, "listServicesResponse");
    assert.equal(out[1]?.messageResponse.case, "fileDescriptorResponse");
    assert.equal(out[1]?.originalRequest?.messageRequest.case, "fileContainingSymbol");
  });

  it("reflection - abort reasons keep their canonical code", () => {
    const shutting = Object.assign(new Error("the server is shutting down"), { code: Code.Unavailable });
    assert.equal(abortReasonToConnectError(shutting).code, Code.Unavailable);
    assert.equal(abortReasonToConnectError(new Error("x")).code, Code.Canceled);
    assert.equal(abortReasonToConnectError(undefined).code, Code.Canceled);
  });
});
