import { createHmac, hash as oneShotHash, randomBytes, timingSafeEqual } from "node:crypto";
import { BrokerError } from "../errors/index.js";
import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import { type HashSlots, PROCESS_HASH_SLOTS } from "./hash-slots.js";
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  type PasswordHash,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from "./password-hash.js";
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
  /**
   * {@link fromHttpBasic}, answered at once when it can be: a principal, or a thrown BrokerError,
   * and a promise only when a password hash check must run (a password not verified before). The
   * RPC port's hot path calls it; a header value that passed before is found in a cache (see
   * {@link createAuthenticator}).
   */
  fromAuthorization(authorization: string | undefined, peer: string): Principal | Promise<Principal>;
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
  /** Most hash checks queued or running at once; beyond it logins are refused for the moment. Default 64. */
  maxPendingHashChecks?: number;
  /**
   * Most hash checks one peer may have queued or running; beyond it that peer's logins are
   * refused for the moment (an identical login already being checked is joined, not counted). Default 2.
   */
  maxHashChecksPerPeer?: number;
  /** Where hash checks run. Default: the process's slots (half of libuv's thread pool). */
  hashSlots?: HashSlots;
}

interface UserEntry {
  principal: Principal;
  /** HMAC of the last password that matched the hash (for plain passwords: the password itself). */
  verified?: Buffer;
  /** The password's hash (plain passwords are hashed when the authenticator is made); none for token-only users. */
  hash?: Promise<PasswordHash>;
}

const unauthenticated = (message: string, metadata: Record<string, string> = {}) =>
  new BrokerError("UNAUTHENTICATED", message, { metadata });

const BAD_CREDENTIALS = "invalid user name or password";

/**
 * Most `Authorization` values remembered as accepted (see {@link createAuthenticator}); past it
 * the oldest is forgotten. Only values that passed are kept, so only users can fill it.
 */
const MAX_ACCEPTED_VALUES = 1024;

/** Longest `Authorization` value remembered: a Basic value of a user name and password at their limits. */
const MAX_AUTHORIZATION_CHARS = 16 + Math.ceil(((2 * MAX_CREDENTIAL_BYTES + 1) * 4) / 3);

/** Starts hashing `password` in `slots`; the promise never counts as unhandled (a login awaits it). */
function hashInBackground(slots: HashSlots, password: string, params: ScryptParams): Promise<PasswordHash> {
  const hash = slots.run(() => hashPassword(password, params)).then(parsePasswordHash);
  hash.catch(() => {});
  return hash;
}

/**
 * Creates the {@link Authenticator} of a set of users. Every password check costs one scrypt
 * hash check, whoever the user is (README "Auth and TLS"): plain passwords are hashed here, and
 * unknown names and token-only users are checked against a decoy hash, all with the parameters
 * of the configured hashes (the first one's; `hash-password`'s defaults when there is none).
 * A password that matched before is recognised by its HMAC without hashing again.
 *
 * An `Authorization` value that passed is remembered by a salted hash of it (up to
 * {@link MAX_ACCEPTED_VALUES}): the same value later skips the parsing and the password's check,
 * and gives the same answer the full check would (the users, their tokens and their verified
 * passwords never change once a password matched), with the throttle consulted and told of the
 * success just the same.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const throttle = createFailureThrottle(clock, options.throttle);
  const maxPending = options.maxPendingHashChecks ?? 64;
  const maxPerPeer = options.maxHashChecksPerPeer ?? 2;
  const slots = options.hashSlots ?? PROCESS_HASH_SLOTS;
  const enabled = options.users !== undefined;
  // Secrets are compared as HMACs under a per-process key: equal lengths for timingSafeEqual,
  // and the plain tokens are not the map keys.
  const key = randomBytes(32);
  const mac = (s: string) => createHmac("sha256", key).update(s, "utf8").digest();
  // The accepted values' map key: a salted SHA-256, a tenth of an HMAC's cost (no Hmac object per
  // call), and as opaque as the HMAC to anyone without the salt, which lives beside the key.
  const salt = randomBytes(16).toString("hex");
  const acceptedKey = (value: string) => oneShotHash("sha256", salt + value, "base64");
  const configured = options.users ?? [];
  const firstHash = configured.find((u) => u.passwordHash !== undefined)?.passwordHash;
  const params = firstHash !== undefined ? parsePasswordHash(firstHash).params : DEFAULT_SCRYPT_PARAMS;
  const users = new Map<string, UserEntry>();
  const tokens = new Map<string, Principal>();
  for (const u of configured) {
    const entry: UserEntry = { principal: userPrincipal(u.name, u.roles, u.topics) };
    if (u.passwordHash !== undefined) entry.hash = Promise.resolve(parsePasswordHash(u.passwordHash));
    if (u.password !== undefined) {
      entry.verified = mac(u.password);
      entry.hash = hashInBackground(slots, u.password, params);
    }
    users.set(u.name, entry);
    for (const t of u.tokens) tokens.set(mac(t).toString("hex"), entry.principal);
  }
  const decoy = enabled ? hashInBackground(slots, randomBytes(16).toString("hex"), params) : undefined;
  /** Hash checks queued or running: all of them, per peer, and by peer + user + password (joined). */
  let pendingChecks = 0;
  const peerChecks = new Map<string, number>();
  const checks = new Map<string, Promise<Principal>>();

  /** Salted hashes of `Authorization` values that passed, and whose principal they name (in the order they passed). */
  const accepted = new Map<string, Principal>();
  /** The last peer address and its throttle key (a client's calls come one after another). */
  let lastAddress: string | undefined;
  let lastPeer = peerKey(undefined);
  const peerOf = (address: string): string => {
    if (address !== lastAddress) {
      lastPeer = peerKey(address);
      lastAddress = address;
    }
    return lastPeer;
  };

  /** Refuses, unchecked, a peer that must still wait after its failures. */
  function refuseWhileSlowed(peer: string): void {
    const wait = throttle.waitMs(peer);
    if (wait > 0) {
      throw unauthenticated(`too many failed logins from this address; retry in ${Math.ceil(wait / 1000)} s`, {
        retry_after_ms: String(wait),
      });
    }
  }

  function failure(peer: string, user: string | undefined, how: string): BrokerError {
    logger.warn("login failed", { peer, ...(user !== undefined ? { user } : {}), how });
    return unauthenticated(BAD_CREDENTIALS);
  }

  /**
   * The hash check of a password that is not the one last verified. The attempt counts as a
   * failure before the check starts (parallel guesses each count, and the wait they earn applies
   * at once); a match takes it back with the user's other failures from this peer.
   */
  function checkHash(peer: string, user: string, password: string, given: Buffer): Promise<Principal> {
    const id = `${peer}\u0000${user}\u0000${given.toString("hex")}`;
    const joined = checks.get(id);
    if (joined !== undefined) return joined;
    const mine = peerChecks.get(peer) ?? 0;
    if (mine >= maxPerPeer || pendingChecks >= maxPending) {
      const who = mine >= maxPerPeer ? "from this address " : "";
      throw unauthenticated(`too many logins ${who}being checked; retry shortly`, { retry_after_ms: "1000" });
    }
    const entry = users.get(user);
    throttle.failed(peer, user);
    pendingChecks++;
    peerChecks.set(peer, mine + 1);
    const check = (async () => {
      try {
        const hash = await (entry?.hash ?? (decoy as Promise<PasswordHash>));
        const ok = await slots.run(() => verifyPassword(password, hash));
        if (!entry?.hash || !ok) throw failure(peer, user, "password");
        // Later logins with the same password cost one HMAC instead of a hash check.
        entry.verified = given;
        throttle.succeeded(peer, user);
        return entry.principal;
      } finally {
        pendingChecks--;
        const left = (peerChecks.get(peer) ?? 1) - 1;
        if (left > 0) peerChecks.set(peer, left);
        else peerChecks.delete(peer);
        checks.delete(id);
      }
    })();
    checks.set(id, check);
    return check;
  }

  /** {@link Authenticator.login}, answered at once unless a hash check must run. */
  function loginNow(user: string, password: string, peerAddress: string): Principal | Promise<Principal> {
    if (!enabled) return ANONYMOUS;
    const peer = peerOf(peerAddress);
    refuseWhileSlowed(peer);
    if (Buffer.byteLength(user) > MAX_CREDENTIAL_BYTES || Buffer.byteLength(password) > MAX_CREDENTIAL_BYTES) {
      throttle.failed(peer, "");
      throw failure(peer, undefined, "password");
    }
    const entry = users.get(user);
    const given = mac(password);
    if (entry?.verified && timingSafeEqual(entry.verified, given)) {
      throttle.succeeded(peer, user);
      return entry.principal;
    }
    return checkHash(peer, user, password, given);
  }

  /** {@link Authenticator.loginToken}, answered at once. */
  function loginTokenNow(token: string, peerAddress: string): Principal {
    if (!enabled) return ANONYMOUS;
    const peer = peerOf(peerAddress);
    refuseWhileSlowed(peer);
    const principal =
      Buffer.byteLength(token) <= MAX_CREDENTIAL_BYTES ? tokens.get(mac(token).toString("hex")) : undefined;
    if (!principal) {
      throttle.failed(peer, "");
      throw failure(peer, undefined, "token");
    }
    throttle.succeeded(peer, principal.name);
    return principal;
  }

  /** The check of an `Authorization` value, from its scheme on (nothing remembered). */
  function checkAuthorization(authorization: string | undefined, peer: string): Principal | Promise<Principal> {
    const value = authorization?.trim() ?? "";
    if (value === "") throw unauthenticated("credentials required: HTTP Basic or a bearer token");
    const space = value.indexOf(" ");
    const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
    const rest = space < 0 ? "" : value.slice(space + 1).trim();
    if (scheme === "bearer") return loginTokenNow(rest, peer);
    if (scheme !== "basic") throw unauthenticated(`unsupported authorization scheme "${scheme.slice(0, 20)}"`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rest)) throw unauthenticated("malformed Basic credentials (not base64)");
    const decoded = Buffer.from(rest, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw unauthenticated("malformed Basic credentials (no ':' after the user name)");
    return loginNow(decoded.slice(0, colon), decoded.slice(colon + 1), peer);
  }

  /**
   * Remembers that `authorization` passed as `principal`, under its salted hash (its `key`): like
   * the tokens, the values are not map keys as they are; returns the principal.
   */
  function accept(key: string, principal: Principal): Principal {
    if (accepted.size >= MAX_ACCEPTED_VALUES) accepted.delete(accepted.keys().next().value as string);
    accepted.set(key, principal);
    return principal;
  }

  function fromAuthorization(authorization: string | undefined, peerAddress: string): Principal | Promise<Principal> {
    if (!enabled) return ANONYMOUS;
    if (authorization === undefined) return checkAuthorization(authorization, peerAddress);
    // Values too long to be credentials are checked (and refused) without hashing them.
    const key = authorization.length <= MAX_AUTHORIZATION_CHARS ? acceptedKey(authorization) : undefined;
    const known = key === undefined ? undefined : accepted.get(key);
    if (known !== undefined) {
      // What the full check does for a value that passes: the throttle first, then the success.
      const peer = peerOf(peerAddress);
      refuseWhileSlowed(peer);
      throttle.succeeded(peer, known.name);
      return known;
    }
    const principal = checkAuthorization(authorization, peerAddress);
    if (key === undefined) return principal;
    return principal instanceof Promise ? principal.then((p) => accept(key, p)) : accept(key, principal);
  }

  return {
    enabled,
    login: async (user, password, peer) => loginNow(user, password, peer),
    loginToken: async (token, peer) => loginTokenNow(token, peer),
    fromHttpBasic: async (authorization, peer) => fromAuthorization(authorization, peer),
    fromAuthorization,
    wwwAuthenticate: WWW_AUTHENTICATE,
  };
}
