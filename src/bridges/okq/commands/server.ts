import { WRONGPASS } from "../errors.js";
import { array, bulk, error, int, map, NULL, OK, PONG, type Reply } from "../resp-encoder.js";
import { type CommandSession, type CommandSpec, isKeyword, utf8 } from "./command.js";

/**
 * The housekeeping commands real Redis clients send on connect (ioredis, node-redis, redis-cli,
 * redis-benchmark). okQ answered all of them `-ERR unknown command`; we answer them as a Redis
 * 7 server with no persistence of its own would, so clients connect with default options.
 */

/** The Redis version we claim: new enough for HELLO, CLIENT SETINFO and RESP3. */
export const REDIS_VERSION = "7.0.0";

const wrongArgs = (name: string) => error(`ERR wrong number of arguments for '${name}' command`);
const lower = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString("latin1").toLowerCase();

/** `PING` → `+PONG` whatever the arguments (okQ 3ed64e7). */
export const PING: CommandSpec = { minArgs: 0, run: () => PONG };

export const ECHO: CommandSpec = {
  minArgs: 0,
  run: (_s, args) => (args.length === 1 ? bulk(args[0] as Buffer) : wrongArgs("echo")),
};

/** `QUIT` → `+OK`, then the connection closes. */
export const QUIT: CommandSpec = {
  minArgs: 0,
  beforeAuth: true,
  run(s) {
    s.closeAfterReply = true;
    return OK;
  },
};

/** `SELECT 0` → `+OK`; there is one database. */
export const SELECT: CommandSpec = {
  minArgs: 0,
  run(_s, args) {
    if (args.length !== 1) return wrongArgs("select");
    const s = (args[0] as Buffer).toString("latin1");
    if (!/^-?\d+$/.test(s)) return error("ERR value is not an integer or out of range");
    return Number(s) === 0 ? OK : error("ERR DB index is out of range");
  },
};

/** `INFO [section]`: a bulk string in Redis' format; `loading:0` is what ready checks look for. */
export const INFO: CommandSpec = {
  minArgs: 0,
  run(s) {
    const lines = [
      "# Server",
      `redis_version:${REDIS_VERSION}`,
      "redis_mode:standalone",
      "server_name:switchyard-okq",
      `process_id:${process.pid}`,
      `uptime_in_seconds:${Math.floor(process.uptime())}`,
      "",
      "# Clients",
      `connected_clients:${s.ctx.connections()}`,
      "",
      "# Persistence",
      "loading:0",
      "",
      "# Replication",
      "role:master",
      "connected_slaves:0",
      "",
    ];
    return bulk(lines.join("\r\n"));
  },
};

/** `CLIENT SETINFO|SETNAME|GETNAME|ID`; other subcommands are refused as Redis refuses unknown ones. */
export const CLIENT: CommandSpec = {
  minArgs: 1,
  run(s, args) {
    const sub = lower(args[0]);
    switch (sub) {
      case "setinfo":
        return args.length === 3 ? OK : wrongArgs("client|setinfo");
      case "setname": {
        if (args.length !== 2) return wrongArgs("client|setname");
        const name = utf8(args[1] as Buffer);
        if (name === undefined || /[\s]/.test(name)) {
          return error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        s.clientName = name === "" ? undefined : name;
        return OK;
      }
      case "getname":
        return s.clientName === undefined ? NULL : bulk(s.clientName);
      case "id":
        return int(s.id);
      default:
        return error(`ERR unknown subcommand '${(args[0] as Buffer).toString("latin1")}'. Try CLIENT HELP.`);
    }
  },
};

/** `COMMAND [...]`: no command table is published (redis-cli only uses it for hints). */
export const COMMAND: CommandSpec = {
  minArgs: 0,
  run(s, args) {
    if (isKeyword(args[0], "COUNT")) return int(0);
    if (isKeyword(args[0], "DOCS")) return s.version === 3 ? map([]) : array([]);
    return array([]);
  },
};

/** `CONFIG GET pattern` → nothing matches (redis-benchmark asks for `save` and `appendonly`). */
export const CONFIG: CommandSpec = {
  minArgs: 1,
  run(s, args) {
    if (isKeyword(args[0], "GET")) return s.version === 3 ? map([]) : array([]);
    return error(`ERR unknown subcommand '${(args[0] as Buffer).toString("latin1")}'. Try CONFIG HELP.`);
  },
};

const NO_PASSWORD = error(
  "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
);

/**
 * Checks credentials like Redis 7. With no authenticator (auth off), the `default` user has no
 * password: `AUTH default <anything>` succeeds, `AUTH <password>` gets Redis' "no password
 * configured" error (which ioredis recognises and ignores), any other user `WRONGPASS`. With
 * one, `AUTH <password>` is the `default` user's login; a success switches the connection's
 * broker calls to the user's clients, a failure leaves the connection as it was (as Redis).
 */
async function authenticate(s: CommandSession, user: string | undefined, pass: Buffer): Promise<Reply | undefined> {
  const { authenticator } = s.ctx.options;
  const password = utf8(pass) ?? "";
  if (!authenticator) {
    if (user === undefined) return NO_PASSWORD;
    return user === "default" ? undefined : WRONGPASS;
  }
  const clients = await authenticator.login(user ?? "default", password, s.peer);
  if (!clients) return WRONGPASS;
  s.clients = clients;
  s.authenticated = true;
  return undefined;
}

/** `AUTH [username] password`. */
export const AUTH: CommandSpec = {
  minArgs: 1,
  beforeAuth: true,
  async run(s, args) {
    if (args.length > 2) return error("ERR syntax error");
    const user = args.length === 2 ? utf8(args[0] as Buffer) : undefined;
    if (args.length === 2 && user === undefined) return WRONGPASS;
    return (await authenticate(s, user, args[args.length - 1] as Buffer)) ?? OK;
  },
};

/**
 * `HELLO [protover [AUTH username password] [SETNAME name]]`: switches the connection to RESP2 or
 * RESP3 and answers the server's map. With RESP3 the only okQ reply that changes is the null
 * (`_` instead of `$-1`); maps are sent as maps.
 */
export const HELLO: CommandSpec = {
  minArgs: 0,
  beforeAuth: true,
  async run(s, args) {
    let version = s.version;
    if (args.length > 0) {
      const raw = (args[0] as Buffer).toString("latin1");
      if (!/^-?\d+$/.test(raw)) return error("ERR Protocol version is not an integer or out of range");
      const v = Number(raw);
      if (v !== 2 && v !== 3) return error("NOPROTO sorry, this protocol version is not supported.");
      version = v;
    }
    let name: string | undefined;
    for (let i = 1; i < args.length; i++) {
      if (isKeyword(args[i], "AUTH") && i + 2 < args.length) {
        const denied = await authenticate(s, utf8(args[i + 1] as Buffer) ?? "", args[i + 2] as Buffer);
        if (denied) return denied;
        i += 2;
      } else if (isKeyword(args[i], "SETNAME") && i + 1 < args.length) {
        name = utf8(args[i + 1] as Buffer);
        i += 1;
      } else {
        return error(`ERR Syntax error in HELLO option '${(args[i] as Buffer).toString("latin1")}'`);
      }
    }
    if (!s.authenticated) {
      return error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
      );
    }
    s.version = version;
    if (name !== undefined) s.clientName = name;
    return map([
      [bulk("server"), bulk("redis")],
      [bulk("version"), bulk(REDIS_VERSION)],
      [bulk("proto"), int(version)],
      [bulk("id"), int(s.id)],
      [bulk("mode"), bulk("standalone")],
      [bulk("role"), bulk("master")],
      [bulk("modules"), array([])],
    ]);
  },
};
