import * as http from "node:http";
import * as https from "node:https";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Command, Option } from "commander";
import { AdminService } from "../../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../../gen/switchyard/v1/subscriber_pb.js";
import { UsageError } from "./cli-error.js";
import { parseInteger } from "./parse.js";

/** The broker a client command talks to when neither `--server` nor `SWITCHYARD_SERVER` says. */
export const DEFAULT_SERVER = "http://127.0.0.1:7440";

/** Default bound of one unary call (`--timeout-ms`). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The connection flags every client command takes (commander's parsed values). */
export interface ConnectionFlags {
  server: string;
  user?: string;
  password?: string;
  token?: string;
  timeoutMs: number;
  json: boolean;
}

/**
 * Adds the connection flags to a client command: `--server` (`SWITCHYARD_SERVER`), `--user` and
 * `--password` (`SWITCHYARD_USER`, `SWITCHYARD_PASSWORD`; HTTP Basic), `--token`
 * (`SWITCHYARD_TOKEN`; Bearer), `--timeout-ms` and `--json`.
 */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--server <url>", "broker address (http://host:port)")
        .env("SWITCHYARD_SERVER")
        .default(DEFAULT_SERVER),
    )
    .addOption(new Option("--user <name>", "user name for HTTP Basic auth").env("SWITCHYARD_USER"))
    .addOption(
      new Option("--password <password>", "password for --user (prefer the env variable: flags show in ps)").env(
        "SWITCHYARD_PASSWORD",
      ),
    )
    .addOption(new Option("--token <token>", "bearer token (instead of --user)").env("SWITCHYARD_TOKEN"))
    .addOption(
      new Option("--timeout-ms <ms>", "bound of each unary call (not of streams)")
        .default(DEFAULT_TIMEOUT_MS)
        .argParser((v) => parseInteger(v, "--timeout-ms", 1, 3_600_000)),
    )
    .option("--json", "print JSON (proto3 JSON: bytes are base64, 64-bit numbers strings)", false);
}

/** The option keys of {@link ConnectionFlags}, as commander names them. */
export const CONNECTION_OPTION_KEYS = ["server", "user", "password", "token", "timeoutMs", "json"] as const;

/**
 * Adds the connection flags to the root command too, without defaults or env variables, so
 * `switchyard --server URL stats` works as `switchyard stats --server URL` does (as `nats
 * --server` and `redis-cli -h` take them first). A flag given after the subcommand wins.
 */
export function addGlobalConnectionOptions(program: Command): Command {
  return program
    .option("--server <url>", "broker address for client commands (http://host:port)")
    .option("--user <name>", "user name for HTTP Basic auth")
    .option("--password <password>", "password for --user (prefer SWITCHYARD_PASSWORD: flags show in ps)")
    .option("--token <token>", "bearer token (instead of --user)")
    .addOption(
      new Option("--timeout-ms <ms>", "bound of each unary call (not of streams)").argParser((v) =>
        parseInteger(v, "--timeout-ms", 1, 3_600_000),
      ),
    )
    .option("--json", "print JSON (client commands)");
}

/**
 * A client command's connection flags: its own, except where it took a default or an env
 * variable and an enclosing command was given the flag on the command line.
 */
export function resolveConnectionFlags<O>(command: Command): O & ConnectionFlags {
  const options = { ...command.opts() } as Record<string, unknown>;
  for (const key of CONNECTION_OPTION_KEYS) {
    if (command.getOptionValueSource(key) === "cli") continue;
    for (let c = command.parent; c; c = c.parent) {
      if (c.getOptionValueSource(key) === "cli") {
        options[key] = c.opts()[key];
        break;
      }
    }
  }
  return options as O & ConnectionFlags;
}

/** Checks `--server` and turns `host:port` into `http://host:port`. */
export function normalizeServer(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server "${raw}" is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--server "${raw}": only http:// and https:// are supported`);
  }
  if (url.username || url.password) throw new UsageError("--server must not carry credentials: use --user/--password");
  return url.origin + url.pathname.replace(/\/$/, "");
}

/** The `authorization` header value for the flags, if any (Basic or Bearer). */
export function authorizationHeader(flags: Pick<ConnectionFlags, "user" | "password" | "token">): string | undefined {
  if (flags.token !== undefined && flags.user !== undefined) {
    throw new UsageError("give either --token or --user/--password, not both");
  }
  if (flags.token !== undefined) {
    if (flags.token === "") throw new UsageError("--token is empty");
    return `Bearer ${flags.token}`;
  }
  if (flags.user !== undefined) {
    if (flags.password === undefined) throw new UsageError("--user needs --password (or SWITCHYARD_PASSWORD)");
    if (flags.user.includes(":")) throw new UsageError("--user must not contain ':' (HTTP Basic)");
    return `Basic ${Buffer.from(`${flags.user}:${flags.password}`, "utf8").toString("base64")}`;
  }
  if (flags.password !== undefined) throw new UsageError("--password needs --user");
  return undefined;
}

/** Generated clients of every service on one connection, plus the call bound. */
export interface CliClients {
  publisher: Client<typeof PublisherService>;
  subscriber: Client<typeof SubscriberService>;
  replay: Client<typeof ReplayService>;
  admin: Client<typeof AdminService>;
  /** Call options for a unary call: `timeoutMs` from `--timeout-ms`, plus `signal` if given. */
  unary(signal?: AbortSignal): { timeoutMs: number; signal?: AbortSignal };
  /** The normalized server URL (for messages). */
  server: string;
  /** Drops the connections (the process can exit). */
  close(): void;
}

/**
 * Connects to the broker with the Connect protocol (binary) over HTTP/1.1, the generated
 * clients of `gen/`. Credentials go in the `authorization` header of every call.
 */
export function connect(flags: ConnectionFlags): CliClients {
  const server = normalizeServer(flags.server);
  const authorization = authorizationHeader(flags);
  const auth: Interceptor = (next) => (req) => {
    if (authorization !== undefined) req.header.set("authorization", authorization);
    return next(req);
  };
  const agent = server.startsWith("https:")
    ? new https.Agent({ keepAlive: true, maxSockets: 8 })
    : new http.Agent({ keepAlive: true, maxSockets: 8 });
  const transport = createConnectTransport({
    baseUrl: server,
    httpVersion: "1.1",
    useBinaryFormat: true,
    interceptors: [auth],
    nodeOptions: { agent },
  });
  return {
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    replay: createClient(ReplayService, transport),
    admin: createClient(AdminService, transport),
    unary: (signal) => ({ timeoutMs: flags.timeoutMs, ...(signal ? { signal } : {}) }),
    server,
    close: () => agent.destroy(),
  };
}
