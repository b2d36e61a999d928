import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { runCliInProcess } from "../../test/helpers/cli-in-process.js";
import { processIo } from "./cli-io.js";
import { createProgram } from "./program.js";

/** Every command path of the tree, e.g. ["topics", "list"]. */
function paths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...paths(c, path)];
  });
}

const program = createProgram({ io: processIo, state: { code: 0 } });
const all = paths(program);
const leaves = all.filter((p) => {
  let c: Command | undefined = program;
  for (const name of p) c = c?.commands.find((x) => x.name() === name);
  // serve and hash-password are no clients of a broker.
  return c !== undefined && c.commands.length === 0 && p[0] !== "serve" && p[0] !== "hash-password";
});

describe("cli program", () => {
  it("cli - the tree has every command of the operator CLI", () => {
    const names = all.map((p) => p.join(" "));
    for (const expected of [
      "serve",
      "topics list",
      "topics create",
      "topics get",
      "topics update",
      "topics delete",
      "topics purge",
      "subs list",
      "subs create",
      "subs get",
      "subs update",
      "subs delete",
      "subs purge",
      "subs pause",
      "subs resume",
      "stats",
      "pub",
      "sub",
      "pull",
      "peek",
      "ack",
      "nack",
      "read",
      "seek",
      "snapshots list",
      "snapshots create",
      "snapshots delete",
      "dlq redrive",
      "hash-password",
    ]) {
      assert.ok(names.includes(expected), `missing command: ${expected}`);
    }
  });

  it("cli - --help works on every level, exits 0 and prints the command's usage", async () => {
    const root = await runCliInProcess(["--help"]);
    assert.equal(root.code, 0);
    assert.match(root.stdout, /^Usage: switchyard \[options\] \[command\]/);
    assert.match(root.stdout, /Exit codes of client commands:/);
    for (const path of all) {
      if (path[0] === "serve") continue;
      const run = await runCliInProcess([...path, "--help"]);
      assert.equal(run.code, 0, `${path.join(" ")} --help: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^Usage: switchyard ${path.join(" ")} `), path.join(" "));
    }
    const serve = await runCliInProcess(["serve", "--help"]);
    assert.equal(serve.code, 0);
    assert.match(serve.stdout, /^Usage: switchyard serve \[flags\]/);
    assert.match(serve.stdout, /--log-format FORMAT/);
    assert.equal((await runCliInProcess(["help", "serve"])).stdout, serve.stdout);
  });

  it("cli - every client command takes the connection flags and --json", async () => {
    assert.ok(leaves.length >= 25);
    for (const path of leaves) {
      const { stdout } = await runCliInProcess([...path, "--help"]);
      for (const flag of ["--server <url>", "--user <name>", "--password <password>", "--token <token>", "--json"]) {
        assert.ok(stdout.includes(flag), `${path.join(" ")} lacks ${flag}`);
      }
      assert.match(stdout, /env:\s+SWITCHYARD_SERVER/);
    }
  });

  it("cli - no command prints the help to stderr and exits 2; an unknown command names it", async () => {
    const none = await runCliInProcess([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /^Usage: switchyard/);
    const unknown = await runCliInProcess(["launch"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'switchyard: unknown command "launch" (see switchyard --help)\n');
    const group = await runCliInProcess(["topics", "frobnicate"]);
    assert.equal(group.code, 2);
    assert.match(group.stderr, /unknown command 'frobnicate'/);
  });

  it("cli - a missing argument or a bad value is a usage error (2) naming the flag", async () => {
    const missing = await runCliInProcess(["pub"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'topic'/);
    const badServer = await runCliInProcess(["stats", "--server", "ftp://x"]);
    assert.equal(badServer.code, 2);
    assert.match(badServer.stderr, /only http:\/\/ and https:\/\//);
    const badStart = await runCliInProcess(["subs", "create", "s", "--topic", "t", "--start", "soon"]);
    assert.equal(badStart.code, 2);
    assert.match(badStart.stderr, /--start expects earliest, latest, seq:N or time:T/);
    const noTopic = await runCliInProcess(["subs", "create", "s"]);
    assert.equal(noTopic.code, 2);
    assert.match(noTopic.stderr, /required option '--topic <topic>' not specified/);
  });
});
