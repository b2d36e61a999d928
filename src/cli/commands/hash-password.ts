import { Command } from "commander";
import { hashPassword, MAX_CREDENTIAL_BYTES } from "../../auth/index.js";
import { EXIT, UsageError } from "../client/cli-error.js";
import { readAll } from "../client/read-input.js";
import type { CommandDeps } from "./deps.js";

/** Most bytes read from stdin: a password line, with room to spare. */
const MAX_STDIN_BYTES = 64 * 1024;

/**
 * `switchyard hash-password`: reads one password line from stdin (a trailing newline is not part
 * of it) and prints its scrypt hash for a user's `password_hash` in the config file (README "Auth
 * and TLS"). The password is never an argument, so it stays out of shell history and `ps`.
 */
export function hashPasswordCommand({ io, state }: CommandDeps): Command {
  const command = new Command("hash-password")
    .description("print the scrypt hash of the password read from stdin (for password_hash in the config file)")
    .addHelpText("after", `\nExample:\n  printf '%s' "$PASSWORD" | switchyard hash-password`)
    .allowExcessArguments();
  return command.action(async () => {
    if (command.args.length > 0) {
      throw new UsageError(`hash-password: unexpected argument ${command.args[0]} (the password is read from stdin)`);
    }
    const input = Buffer.from(await readAll(io.stdin() as AsyncIterable<Uint8Array>, MAX_STDIN_BYTES)).toString("utf8");
    const password = input.replace(/\r?\n$/, "");
    if (password === "" || /[\r\n]/.test(password)) {
      throw new UsageError("hash-password: give one non-empty password line on stdin");
    }
    const bytes = Buffer.byteLength(password);
    if (bytes > MAX_CREDENTIAL_BYTES) {
      // Logins refuse longer passwords unchecked: a hash of one could never match.
      throw new UsageError(
        `hash-password: the password is ${bytes} bytes; logins accept at most ${MAX_CREDENTIAL_BYTES} bytes`,
      );
    }
    io.stdout(`${await hashPassword(password)}\n`);
    state.code = EXIT.OK;
  });
}
