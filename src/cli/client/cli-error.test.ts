import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../gen/switchyard/v1/errors_pb.js";
import { describeFailure, EXIT, exitCodeFor, renderFailure, UsageError } from "./cli-error.js";
import { authorizationHeader, normalizeServer } from "./connection.js";
import { dataPreview, formatMs, formatTable } from "./format.js";

const withReason = (code: Code, reason: string, metadata: Record<string, string> = {}) =>
  new ConnectError('topic "x" does not exist', code, undefined, [
    { desc: ErrorDetailSchema, value: { reason, metadata } },
  ]);

describe("cli errors", () => {
  it("cli - every Connect code has an exit code that says what failed", () => {
    const expected: Partial<Record<Code, number>> = {
      [Code.NotFound]: EXIT.NOT_FOUND,
      [Code.InvalidArgument]: EXIT.INVALID,
      [Code.OutOfRange]: EXIT.INVALID,
      [Code.AlreadyExists]: EXIT.CONFLICT,
      [Code.FailedPrecondition]: EXIT.CONFLICT,
      [Code.Aborted]: EXIT.CONFLICT,
      [Code.ResourceExhausted]: EXIT.LIMIT,
      [Code.Unauthenticated]: EXIT.DENIED,
      [Code.PermissionDenied]: EXIT.DENIED,
      [Code.Unavailable]: EXIT.UNAVAILABLE,
      [Code.DeadlineExceeded]: EXIT.UNAVAILABLE,
      [Code.Internal]: EXIT.FAILED,
      [Code.Unknown]: EXIT.FAILED,
    };
    for (const [code, exit] of Object.entries(expected))
      assert.equal(exitCodeFor(Number(code) as Code), exit, Code[Number(code)]);
    assert.equal(new Set(Object.values(EXIT)).size, Object.keys(EXIT).length, "exit codes are distinct");
  });

  it("cli - a server error shows its message, reason and metadata; --json gives one object", () => {
    const f = describeFailure(withReason(Code.NotFound, "TOPIC_NOT_FOUND", { topic: "x", empty: "" }));
    assert.deepEqual(f, {
      exitCode: EXIT.NOT_FOUND,
      code: "not_found",
      reason: "TOPIC_NOT_FOUND",
      message: 'topic "x" does not exist',
      metadata: { topic: "x", empty: "" },
    });
    assert.equal(renderFailure(f, false), 'switchyard: topic "x" does not exist [TOPIC_NOT_FOUND]\n  topic: x\n');
    assert.deepEqual(JSON.parse(renderFailure(f, true)), {
      error: {
        code: "not_found",
        reason: "TOPIC_NOT_FOUND",
        message: 'topic "x" does not exist',
        metadata: { topic: "x", empty: "" },
        exitCode: 4,
      },
    });
    const bare = describeFailure(new ConnectError("boom", Code.FailedPrecondition));
    assert.equal(renderFailure(bare, false), "switchyard: boom (failed_precondition)\n");
    assert.equal(describeFailure(new UsageError("bad")).exitCode, EXIT.USAGE);
    const noFile = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    assert.equal(describeFailure(noFile).exitCode, EXIT.USAGE);
  });
});

describe("cli connection", () => {
  it("cli - --server accepts host:port and http(s) URLs, refuses credentials and other schemes", () => {
    assert.equal(normalizeServer("127.0.0.1:7440"), "http://127.0.0.1:7440");
    assert.equal(normalizeServer("https://broker.example/"), "https://broker.example");
    assert.throws(() => normalizeServer("ftp://x"), UsageError);
    assert.throws(() => normalizeServer("http://u:p@x"), /must not carry credentials/);
  });

  it("cli - credentials become one Basic or Bearer header", () => {
    assert.equal(authorizationHeader({}), undefined);
    assert.equal(
      authorizationHeader({ user: "a", password: "b:c" }),
      `Basic ${Buffer.from("a:b:c").toString("base64")}`,
    );
    assert.equal(authorizationHeader({ token: "t" }), "Bearer t");
    assert.throws(() => authorizationHeader({ user: "a" }), /needs --password/);
    assert.throws(() => authorizationHeader({ password: "b" }), /needs --user/);
    assert.throws(() => authorizationHeader({ user: "a:b", password: "c" }), /must not contain ':'/);
    assert.throws(() => authorizationHeader({ user: "a", password: "b", token: "t" }), /either --token/);
  });
});

describe("cli format", () => {
  it("cli - tables align columns; data shows as escaped text or a byte count", () => {
    assert.equal(
      formatTable(
        ["A", "LONGER"],
        [
          ["xyz", "1"],
          ["q", ""],
        ],
      ),
      "A    LONGER\nxyz  1\nq\n",
    );
    assert.equal(dataPreview(Buffer.from("a\nb\t")), "a\\nb\\t");
    assert.equal(dataPreview(Buffer.from([0xff, 0xfe])), "<2 bytes>");
    assert.equal(dataPreview(Buffer.from("x".repeat(100)), 10), `${"x".repeat(9)}…`);
    assert.equal(formatMs(0n), "-");
    assert.equal(formatMs(1500), "1.5s");
    assert.equal(formatMs(125_000), "2m5s");
  });
});
