import type { BrokerClients } from "../bridge.js";
import { BASIC_CHALLENGE, toHttpError } from "./errors.js";
import { HttpError, type Request } from "./http-io.js";

/**
 * RestMQ's `hosts_allow` / `hosts_deny` (docs/restmq.md): lists of address prefixes, compared
 * as text with the client's address (`10.0.` matches `10.0.3.7`); `all` matches every address.
 */
export interface HostRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** The client's address as RestMQ compared it: IPv4-mapped IPv6 addresses in their IPv4 form. */
export function peerAddress(req: Request): string {
  const address = req.socket?.remoteAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * RestMQ's rule (web.py `ACL.apply`): an address matching an allow prefix is let in; otherwise one
 * matching a deny prefix is refused, and with an allow list but no deny list, so is every address
 * not allowed. No lists: everyone is let in.
 */
export function hostAllowed(rules: HostRules, address: string): boolean {
  const match = (prefix: string) => prefix === "all" || address.startsWith(prefix);
  if (rules.allow.length > 0) {
    if (rules.allow.some(match)) return true;
    if (rules.deny.length === 0) return false;
  }
  return !rules.deny.some(match);
}

/**
 * The broker's users as the auth layer offers them to every door (its `Authenticator`): checks
 * HTTP Basic credentials or a user and password. Rejects with UNAUTHENTICATED.
 */
export interface RestmqAuthenticator<P = unknown> {
  /** False when the broker runs without users: every check then answers the anonymous principal. */
  readonly enabled: boolean;
  /** The principal of an `Authorization` header. */
  fromHttpBasic(authorization: string | undefined, peer: string): Promise<P>;
  /** The principal of a user and password. */
  login(user: string, password: string, peer: string): Promise<P>;
}

/** The broker's users and the clients that act as one of them (the server's `clientsAs`). */
export interface RestmqAuth<P = unknown> {
  readonly authenticator: RestmqAuthenticator<P>;
  /** In-process clients whose calls carry `principal`; the broker checks its permissions. */
  clientsAs(principal: P): BrokerClients;
}

/** RestMQ's websocket credentials: the `auth=user:password` cookie (`document.cookie` in a page). */
export function cookieCredentials(cookieHeader: string | undefined): { user: string; password: string } | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== "auth") continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const colon = value.indexOf(":");
    if (colon < 0) return undefined;
    return { user: value.slice(0, colon), password: value.slice(colon + 1) };
  }
  return undefined;
}

/** Decides who a request acts as. */
export interface AccessControl {
  /**
   * The clients a request (or websocket handshake) uses. Throws {@link HttpError} 401: for an
   * address the host rules refuse (no challenge), for missing or refused credentials (with a
   * Basic challenge; websockets use the `auth` cookie instead).
   */
  clientsFor(req: Request, websocket?: boolean): Promise<BrokerClients>;
}

/** Creates the {@link AccessControl} of the bridge. */
export function createAccessControl(
  clients: BrokerClients,
  rules: HostRules,
  auth: RestmqAuth | undefined,
  logger: Parameters<typeof toHttpError>[1],
): AccessControl {
  return {
    async clientsFor(req, websocket = false) {
      const peer = peerAddress(req);
      if (!hostAllowed(rules, peer)) throw new HttpError(401, "address not allowed");
      if (!auth?.authenticator.enabled) return clients;
      const { authenticator } = auth;
      try {
        if (!websocket) return auth.clientsAs(await authenticator.fromHttpBasic(req.headers.authorization, peer));
        const credentials = cookieCredentials(req.headers.cookie);
        if (!credentials) throw new HttpError(401, "no auth cookie", { "WWW-Authenticate": BASIC_CHALLENGE });
        return auth.clientsAs(await authenticator.login(credentials.user, credentials.password, peer));
      } catch (e) {
        throw toHttpError(e, logger, "authentication");
      }
    },
  };
}
