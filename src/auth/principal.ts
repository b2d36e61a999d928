/**
 * Who a call is made by, and what that principal may do (README "Auth and TLS"). A principal is
 * plain data; {@link permits} is the one place that reads it.
 */

/** What a user may do: publish, consume, or administer. Roles combine. */
export type Role = "publisher" | "subscriber" | "admin";

/** Every role, in the order the README lists them. */
export const ROLES: readonly Role[] = ["publisher", "subscriber", "admin"];

/**
 * The special topic entry of the Oh-Please-Queue config (README "Oh, Please Queue" bridge): the subscriber
 * role applies to every topic.
 */
export const READ_ALL = "read_all";

/**
 * The caller of an operation.
 * - `user`: a configured user who logged in (password or token).
 * - `anonymous`: anyone, when auth is off (no users configured); may do everything.
 * - `server`: the broker's own calls (a bridge creating its implicit queues, monitoring pages);
 *   may do everything, and no remote client can ever be it.
 */
export interface Principal {
  readonly kind: "user" | "anonymous" | "server";
  /** The user name; `anonymous` or `server` for the other kinds. */
  readonly name: string;
  readonly roles: readonly Role[];
  /**
   * Topics the roles apply to (`admin` ignores them): exact names, patterns where `*` matches
   * any run of characters (`orders.*`, or `*` for all), and {@link READ_ALL}.
   */
  readonly topics: readonly string[];
}

/** The principal of every call when auth is off. */
export const ANONYMOUS: Principal = Object.freeze({
  kind: "anonymous",
  name: "anonymous",
  roles: Object.freeze([...ROLES]),
  topics: Object.freeze(["*"]),
});

/** The broker's own calls (see {@link Principal}). */
export const SERVER_PRINCIPAL: Principal = Object.freeze({
  kind: "server",
  name: "server",
  roles: Object.freeze([...ROLES]),
  topics: Object.freeze(["*"]),
});

/** Creates a (frozen) user principal. */
export function userPrincipal(name: string, roles: readonly Role[], topics: readonly string[]): Principal {
  return Object.freeze({
    kind: "user",
    name,
    roles: Object.freeze([...new Set(roles)]),
    topics: Object.freeze([...topics]),
  });
}

/** Compiled topic patterns per principal (principals are immutable). */
const matchers = new WeakMap<Principal, (topic: string) => boolean>();

function patternSource(pattern: string): string {
  return pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
}

function matcherOf(p: Principal): (topic: string) => boolean {
  let m = matchers.get(p);
  if (!m) {
    const patterns = p.topics.filter((t) => t !== READ_ALL);
    if (patterns.includes("*")) m = () => true;
    else if (patterns.length === 0) m = () => false;
    else {
      const exact = new Set(patterns.filter((t) => !t.includes("*")));
      const wild = patterns.filter((t) => t.includes("*"));
      const re = wild.length > 0 ? new RegExp(`^(?:${wild.map(patternSource).join("|")})$`, "s") : undefined;
      m = (topic) => exact.has(topic) || (re?.test(topic) ?? false);
    }
    matchers.set(p, m);
  }
  return m;
}

/** True when `topic` matches one of the principal's topic entries for `role` (ignoring whether it holds the role). */
export function topicAllowed(p: Principal, role: Role, topic: string): boolean {
  if (role === "admin") return true;
  if (role === "subscriber" && p.topics.includes(READ_ALL)) return true;
  return matcherOf(p)(topic);
}

/** True when the principal's `role` covers every topic (so no topic lookup is needed). */
export function coversAllTopics(p: Principal, role: Role): boolean {
  if (p.kind !== "user") return true;
  if (!p.roles.includes(role)) return false;
  return role === "admin" || (role === "subscriber" && p.topics.includes(READ_ALL)) || p.topics.includes("*");
}

/**
 * Whether `p` may act as `role` (on `topic`, for publisher and subscriber). Anonymous (auth off)
 * and the server may do everything; `admin` is not limited by topics.
 */
export function permits(p: Principal, role: Role, topic?: string): boolean {
  if (p.kind !== "user") return true;
  if (!p.roles.includes(role)) return false;
  return topic === undefined || topicAllowed(p, role, topic);
}
