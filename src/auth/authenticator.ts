import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { BrokerError } from "../errors/index.js";
import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import { type PasswordHash, parsePasswordHash, verifyPassword } from "./password-hash.js";
import { ANONYMOUS, type Principal, userPrincipal } from "./principal.js";
import { createFailureThrottle, type FailureThrottleOptions, peerKey } from "./throttle.js";
import { MAX_CREDENTIAL_BYTES, type UserConfig } from "./users.js";

/**
 * Checks credentials, the same way for every door (README "Auth and TLS"). Failures reject with
 * a `BrokerError` whose reason is `UNAUTHENTICATED`; the message never says whether the user
 * exists, and passwords are never logged.
 */
export interface Authenticator {
  /** True when users are configured. When false, every check answers {@link ANONYMOUS}. */
  readonly enabled: boolean;
  /** A user name and password (RESP `AUTH`, the ohpq text `AUTH`, HTTP Basic). `peer`: the client's IP address. */
  login(user: string, password: string, peer: string): Promise<Principal>;
  /** A bearer token. */
  loginToken(token: string, peer: string): Promise<Principal>;
  /**
   * An HTTP `Authorization` header value: `Basic` (user:password) or `Bearer` (token). The one
   * helper HTTP bridges call. Auth off: {@link ANONYMOUS} whatever the header. Auth on: a missing
   * header rejects UNAUTHENTICATED as well (answer 401 with {@link wwwAuthenticate}).
   */
  fromHttpBasic(authorization: string | undefined, peer: string): Promise<Principal>;
  /** The `WWW-Authenticate` header value that goes with an UNAUTHENTICATED answer over HTTP. */
  readonly wwwAuthenticate: string;
}

/** The `WWW-Authenticate` challenge of every HTTP door. */
export const WWW_AUTHENTICATE = 'Basic realm="switchyard", charset="UTF-8"';

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** The configured users; undefined turns auth off. */
  users: readonly UserConfig[] | undefined;
  /** Time for the failure throttle. Default the system clock. */
  clock?: Clock;
  logger?: Logger;
  /** The slow-down of repeated failures (see throttle.ts). */
  throttle?: Partial<FailureThrottleOptions>;
  /** Most scrypt checks queued or running at once; beyond it logins are refused for the moment. Default 64. */
  maxPendingHashChecks?: number;
}

interface UserEntry {
  principal: Principal;
  /** HMAC of the plain password, or of the last password that matched the hash. */
  verified?: Buffer;
  hash?: PasswordHash;
}

const unauthenticated = (message: string, metadata: Record<string, string> = {}) =>
  new BrokerError("UNAUTHENTICATED", message, { metadata });

const BAD_CREDENTIALS = "invalid user name or password";

/** Creates the {@link Authenticator} of a set of users. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const throttle = createFailureThrottle(clock, options.throttle);
  const maxPending = options.maxPendingHashChecks ?? 64;
  // Secrets are compared as HMACs under a per-process key: equal lengths for timingSafeEqual,
  // and the plain tokens are not the map keys.
  const key = randomBytes(32);
  const mac = (s: string) => createHmac("sha256", key).update(s, "utf8").digest();
  const users = new Map<string, UserEntry>();
  const tokens = new Map<string, Principal>();
  for (const u of options.users ?? []) {
    const principal = userPrincipal(u.name, u.roles, u.topics);
    users.set(u.name, {
      principal,
      ...(u.password !== undefined ? { verified: mac(u.password) } : {}),
      ...(u.passwordHash !== undefined ? { hash: parsePasswordHash(u.passwordHash) } : {}),
    });
    for (const t of u.tokens) tokens.set(mac(t).toString("hex"), principal);
  }
  const enabled = options.users !== undefined;
  // Unknown users still cost a comparison (plain) or a hash check (when some user has a hash).
  const decoy: UserEntry = { principal: ANONYMOUS, verified: mac(randomBytes(16).toString("hex")) };
  const decoyHash = [...users.values()].find((u) => u.hash)?.hash;
  let pendingHashChecks = 0;

  async function matches(entry: UserEntry, password: string): Promise<boolean> {
    const given = mac(password);
    if (entry.verified && timingSafeEqual(entry.verified, given)) return true;
    if (!entry.hash) return false;
    if (pendingHashChecks >= maxPending) {
      throw unauthenticated("too many logins being checked; retry shortly", { retry_after_ms: "1000" });
    }
    pendingHashChecks++;
    try {
      if (!(await verifyPassword(password, entry.hash))) return false;
    } finally {
      pendingHashChecks--;
    }
    // Later logins with the same password cost one HMAC instead of a hash check.
    entry.verified = given;
    return true;
  }

  function gate(peer: string): void {
    const wait = throttle.waitMs(peer);
    if (wait > 0) {
      throw unauthenticated(`too many failed logins from this address; retry in ${Math.ceil(wait / 1000)} s`, {
        retry_after_ms: String(wait),
      });
    }
  }

  function failure(peer: string, user: string | undefined, how: string): BrokerError {
    throttle.failed(peer);
    logger.warn("login failed", { peer, ...(user !== undefined ? { user } : {}), how });
    return unauthenticated(BAD_CREDENTIALS);
  }

  async function login(user: string, password: string, peerAddress: string): Promise<Principal> {
    if (!enabled) return ANONYMOUS;
    const peer = peerKey(peerAddress);
    gate(peer);
    if (Buffer.byteLength(user) > MAX_CREDENTIAL_BYTES || Buffer.byteLength(password) > MAX_CREDENTIAL_BYTES) {
      throw failure(peer, undefined, "password");
    }
    const entry = users.get(user);
    const ok = await matches(entry ?? (decoyHash ? { ...decoy, hash: decoyHash } : decoy), password);
    if (!entry || !ok) throw failure(peer, user, "password");
    throttle.succeeded(peer);
    return entry.principal;
  }

  async function loginToken(token: string, peerAddress: string): Promise<Principal> {
    if (!enabled) return ANONYMOUS;
    const peer = peerKey(peerAddress);
    gate(peer);
    const principal =
      Buffer.byteLength(token) <= MAX_CREDENTIAL_BYTES ? tokens.get(mac(token).toString("hex")) : undefined;
    if (!principal) throw failure(peer, undefined, "token");
    throttle.succeeded(peer);
    return principal;
  }

  async function fromHttpBasic(authorization: string | undefined, peer: string): Promise<Principal> {
    if (!enabled) return ANONYMOUS;
    const value = authorization?.trim() ?? "";
    if (value === "") throw unauthenticated("credentials required: HTTP Basic or a bearer token");
    const space = value.indexOf(" ");
    const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
    const rest = space < 0 ? "" : value.slice(space + 1).trim();
    if (scheme === "bearer") return loginToken(rest, peer);
    if (scheme !== "basic") throw unauthenticated(`unsupported authorization scheme "${scheme.slice(0, 20)}"`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rest)) throw unauthenticated("malformed Basic credentials (not base64)");
    const decoded = Buffer.from(rest, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw unauthenticated("malformed Basic credentials (no ':' after the user name)");
    return login(decoded.slice(0, colon), decoded.slice(colon + 1), peer);
  }

  return { enabled, login, loginToken, fromHttpBasic, wwwAuthenticate: WWW_AUTHENTICATE };
}
