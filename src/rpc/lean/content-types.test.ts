import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  contentTypeStreamRegExp,
  contentTypeUnaryRegExp,
  parseContentType as parseConnectContentType,
} from "@connectrpc/connect/protocol-connect";
import { contentTypeRegExp as grpcContentType } from "@connectrpc/connect/protocol-grpc";
import { contentKindOf } from "./content-types.js";

const SAMPLES = [
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc+json; charset=utf-8",
  "APPLICATION/GRPC",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc+thrift",
  "application/proto",
  "application/json",
  "application/json; charset=utf-8",
  "application/json;charset=UTF-8",
  "application/connect+proto",
  "application/connect+json",
  "application/connect+proto; charset=utf-8",
  "text/plain",
  "application/x-protobuf",
  "",
];

describe("contentKindOf", () => {
  it("reads every content type as connect's own expressions do", () => {
    for (const type of SAMPLES) {
      for (let round = 0; round < 2; round++) {
        // Twice: worked out, then remembered.
        const kind = contentKindOf(type);
        const grpc = grpcContentType.exec(type);
        const connect = parseConnectContentType(type);
        assert.equal(kind.grpc, grpc !== null, type);
        if (grpc !== null) assert.equal(kind.binary, grpc[1] === undefined, type);
        const unary = contentTypeUnaryRegExp.test(type) && connect !== undefined && !connect.stream;
        assert.equal(kind.connectUnary, grpc === null && unary, type);
        if (unary) assert.equal(kind.binary, connect.binary, type);
        const stream = contentTypeStreamRegExp.test(type) && connect?.stream === true && connect.binary;
        assert.equal(kind.connectStreamBinary, grpc === null && stream, type);
      }
    }
  });

  it("remembers a bounded number of values and still reads the rest", () => {
    const first = contentKindOf("application/proto");
    assert.equal(contentKindOf("application/proto"), first, "the same object: remembered");
    for (let i = 0; i < 200; i++) contentKindOf(`application/x-odd-${i}`);
    const late = contentKindOf("application/json; charset=utf-8 ");
    assert.equal(late.connectUnary, false, "a trailing space matches nothing, remembered or not");
    assert.equal(contentKindOf("application/grpc+json").binary, false);
  });
});
