import type { CommandSpec } from "./command.js";
import { QINFO, QNOTIFY, QREGISTER, QSTATUS } from "./consumer.js";
import { QLPUSH, QRPUSH } from "./push.js";
import { QACK, QFLUSH, QLPEEK, QRPEEK, QRPOP } from "./queue.js";
import { AUTH, CLIENT, COMMAND, CONFIG, ECHO, HELLO, INFO, PING, QUIT, SELECT } from "./server.js";

/** Every command the okQ bridge answers, by upper-case name: okQ's own, then Redis housekeeping. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ["QLPUSH", QLPUSH],
  ["QRPUSH", QRPUSH],
  ["QRPOP", QRPOP],
  ["QLPEEK", QLPEEK],
  ["QRPEEK", QRPEEK],
  ["QACK", QACK],
  ["QREGISTER", QREGISTER],
  ["QNOTIFY", QNOTIFY],
  ["QFLUSH", QFLUSH],
  ["QSTATUS", QSTATUS],
  ["QINFO", QINFO],
  ["PING", PING],
  ["INFO", INFO],
  ["CLIENT", CLIENT],
  ["SELECT", SELECT],
  ["HELLO", HELLO],
  ["COMMAND", COMMAND],
  ["CONFIG", CONFIG],
  ["ECHO", ECHO],
  ["QUIT", QUIT],
  ["AUTH", AUTH],
]);

export { type CommandSession, type CommandSpec, isKeyword } from "./command.js";
export { collectRun, executeRun, mayJoin, type Run, type RunItem, runBytes, runKey } from "./runs.js";
