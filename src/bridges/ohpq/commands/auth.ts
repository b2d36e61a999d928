import { reasonOfAny } from "../../bridge.js";
import { REPLY } from "../errors.js";
import { utf8 } from "../text-format.js";
import type { CommandSpec } from "./command.js";

/**
 * `AUTH <user> <password>` (README "Oh, Please Queue" bridge): `OK authenticated`, or `ERROR authentication
 * failed`. A second AUTH re-authenticates: as another user, what the connection held under the
 * old login is given back and its SUBs go on as the new user (see `switchUser`); a failed one
 * leaves the connection as it was (as Redis does). With auth off every AUTH succeeds.
 */
export const AUTH: CommandSpec = {
  beforeAuth: true,
  async run(s, { tokens }) {
    if (tokens.length !== 2) return REPLY.invalidArguments;
    const user = utf8(tokens[0] as Buffer);
    const password = utf8(tokens[1] as Buffer);
    if (user === undefined || password === undefined) return REPLY.authFailed;
    try {
      await s.switchUser(await s.ctx.login(user, password, s.peer));
      return REPLY.authenticated;
    } catch (e) {
      const reason = reasonOfAny(e);
      if (reason === "SHUTTING_DOWN") return REPLY.shuttingDown;
      if (reason !== "UNAUTHENTICATED") s.ctx.logger.error("ohpq: AUTH failed", { reason, error: e });
      return REPLY.authFailed;
    }
  },
};
