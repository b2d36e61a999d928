import { AUTH } from "./auth.js";
import type { CommandSpec } from "./command.js";
import { ACK, GET, SUB } from "./consume.js";
import { PUB } from "./publish.js";
import { PING, QUIT } from "./server.js";

/** Every command by its keyword (upper case; keywords are case-insensitive on the wire). */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ["AUTH", AUTH],
  ["PUB", PUB],
  ["SUB", SUB],
  ["GET", GET],
  ["ACK", ACK],
  ["PING", PING],
  ["QUIT", QUIT],
]);

export type { CommandArgs, CommandSession, CommandSpec } from "./command.js";
