import { REPLY } from "../errors.js";
import type { CommandSpec } from "./command.js";

/** `PING` → `PONG`. */
export const PING: CommandSpec = {
  run: (_s, { tokens }) => (tokens.length === 0 ? REPLY.pong : REPLY.invalidArguments),
};

/** `QUIT` → `OK bye`, then the connection closes (its pending messages go back to their queues). */
export const QUIT: CommandSpec = {
  beforeAuth: true,
  run(s, { tokens }) {
    if (tokens.length !== 0) return REPLY.invalidArguments;
    s.closeAfterReply = true;
    return REPLY.bye;
  },
};
