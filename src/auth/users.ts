import { isPasswordHash, parsePasswordHash } from "./password-hash.js";
import { READ_ALL, ROLES, type Role } from "./principal.js";

/**
 * One configured user (README "Auth and TLS"). At least one credential: a password (plain, or
 * an scrypt hash from `switchyard hash-password`) or bearer tokens.
 */
export interface UserConfig {
  /** The login name (no `:`, which HTTP Basic uses as its separator). */
  readonly name: string;
  /** A plain password. */
  readonly password?: string;
  /** An scrypt hash (`scrypt$…`). */
  readonly passwordHash?: string;
  /** Bearer tokens for Connect, gRPC and gRPC-web. */
  readonly tokens: readonly string[];
  readonly roles: readonly Role[];
  /** Topic names, `*` patterns, or `read_all`. */
  readonly topics: readonly string[];
}

/** A bad user entry: `path` names the place (`[1].roles[0]`), `expected` what belongs there. */
export class UserSettingError extends Error {
  override name = "UserSettingError";
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: expected ${expected}`);
  }
}

/** Longest name, password or token accepted, in bytes (longer ones are refused unhashed at login). */
export const MAX_CREDENTIAL_BYTES = 1024;

const NATIVE_KEYS = ["name", "password", "password_hash", "passwordHash", "tokens", "roles", "topics"];
const OHPQ_KEYS = ["username", "password", "role", "allowed_queues"];

function fail(path: string, expected: string): never {
  throw new UserSettingError(path, expected);
}

function text(raw: unknown, path: string, what = "a non-empty string"): string {
  if (typeof raw !== "string" || raw === "") fail(path, what);
  if (Buffer.byteLength(raw) > MAX_CREDENTIAL_BYTES) fail(path, `at most ${MAX_CREDENTIAL_BYTES} bytes`);
  return raw;
}

function list<T extends string>(raw: unknown, path: string, item: (v: unknown, p: string) => T): T[] {
  if (!Array.isArray(raw)) fail(path, "a list");
  return raw.map((v, i) => item(v, `${path}[${i}]`));
}

function role(raw: unknown, path: string): Role {
  if (typeof raw !== "string" || !(ROLES as readonly string[]).includes(raw)) fail(path, `one of ${ROLES.join(", ")}`);
  return raw as Role;
}

function topic(raw: unknown, path: string): string {
  const t = text(raw, path, `a topic name, a * pattern or ${READ_ALL}`);
  if (/[\p{Cc}]/u.test(t)) fail(path, "a topic pattern without control characters");
  return t;
}

function userName(raw: unknown, path: string): string {
  const name = text(raw, path, "a user name");
  if (name.includes(":") || /[\p{Cc}\s]/u.test(name))
    fail(path, "a user name without spaces, control characters or ':'");
  return name;
}

function hash(raw: unknown, path: string): string {
  const h = text(raw, path, "an scrypt hash from switchyard hash-password");
  try {
    parsePasswordHash(h);
  } catch (e) {
    fail(path, (e as Error).message);
  }
  return h;
}

function checkKeys(entry: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(entry)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `no such key (one of ${allowed.join(", ")})`);
  }
}

function entryOf(raw: unknown, path: string): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(path, "a mapping (one user)");
  return raw as Record<string, unknown>;
}

/** One user in the native form (README). */
function nativeUser(raw: unknown, path: string): UserConfig {
  const e = entryOf(raw, path);
  checkKeys(e, NATIVE_KEYS, path);
  if (e.password_hash !== undefined && e.passwordHash !== undefined)
    fail(`${path}.password_hash`, "only one of password_hash, passwordHash");
  const rawHash = e.password_hash ?? e.passwordHash;
  const hashKey = e.password_hash !== undefined ? "password_hash" : "passwordHash";
  if (e.password !== undefined && rawHash !== undefined)
    fail(`${path}.${hashKey}`, "either password or password_hash, not both");
  const user: UserConfig = {
    name: userName(e.name, `${path}.name`),
    ...(e.password !== undefined ? { password: text(e.password, `${path}.password`, "a non-empty password") } : {}),
    ...(rawHash !== undefined ? { passwordHash: hash(rawHash, `${path}.${hashKey}`) } : {}),
    tokens: e.tokens === undefined ? [] : list(e.tokens, `${path}.tokens`, (v, p) => text(v, p, "a non-empty token")),
    roles: list(e.roles, `${path}.roles`, role),
    topics: e.topics === undefined ? [] : list(e.topics, `${path}.topics`, topic),
  };
  if (user.roles.length === 0) fail(`${path}.roles`, `at least one of ${ROLES.join(", ")}`);
  if (user.password === undefined && user.passwordHash === undefined && user.tokens.length === 0) {
    fail(path, "a password, a password_hash or tokens");
  }
  return user;
}

/**
 * One user in the Oh-Please-Queue form (README "Oh, Please Queue" bridge): `username`, `password` (plain, or an
 * scrypt hash), one `role`, `allowed_queues`.
 */
function ohpqUser(raw: unknown, path: string): UserConfig {
  const e = entryOf(raw, path);
  checkKeys(e, OHPQ_KEYS, path);
  const password = text(e.password, `${path}.password`, "a non-empty password");
  return {
    name: userName(e.username, `${path}.username`),
    ...(isPasswordHash(password) ? { passwordHash: hash(password, `${path}.password`) } : { password }),
    tokens: [],
    roles: [role(e.role, `${path}.role`)],
    topics: e.allowed_queues === undefined ? [] : list(e.allowed_queues, `${path}.allowed_queues`, topic),
  };
}

/**
 * Checks a `users` list, in the native form or the Oh-Please-Queue form (an entry with
 * `username`), and returns a frozen copy in the native form. Throws {@link UserSettingError}.
 * Already-parsed lists pass unchanged (the config is validated more than once).
 */
export function parseUsers(raw: unknown): readonly UserConfig[] {
  if (!Array.isArray(raw)) fail("", "a list of users");
  const users = raw.map((entry, i) => {
    const path = `[${i}]`;
    const e = entryOf(entry, path);
    return Object.freeze("username" in e ? ohpqUser(e, path) : nativeUser(e, path));
  });
  const seen = new Set<string>();
  users.forEach((u, i) => {
    if (seen.has(u.name)) fail(`[${i}].name`, `a name used once ("${u.name}" is taken)`);
    seen.add(u.name);
  });
  const tokens = new Set<string>();
  users.forEach((u, i) => {
    for (const [k, t] of u.tokens.entries()) {
      if (tokens.has(t)) fail(`[${i}].tokens[${k}]`, "a token no other user has");
      tokens.add(t);
    }
  });
  return Object.freeze(users);
}
