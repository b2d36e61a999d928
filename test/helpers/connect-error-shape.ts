import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";

/**
 * A ConnectError as plain data, for comparing how two transports failed: code, message, the
 * switchyard.v1.ErrorDetail(s), the type of every detail, and the metadata but `date`.
 */
export function connectErrorShape(e: unknown) {
  assert.ok(e instanceof ConnectError, `not a ConnectError: ${String(e)}`);
  return {
    code: Code[e.code],
    message: e.rawMessage,
    details: e.findDetails(ErrorDetailSchema).map((d) => ({ reason: d.reason, metadata: { ...d.metadata } })),
    detailTypes: e.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)),
    metadata: [...e.metadata.entries()].filter(([k]) => k !== "date"),
  };
}
