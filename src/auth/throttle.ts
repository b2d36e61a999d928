import { type Clock, clientKey } from "../util/index.js";

/** Options of {@link createFailureThrottle}. */
export interface FailureThrottleOptions {
  /** Failed logins a peer may make before it is slowed down. Default 5. */
  freeFailures: number;
  /** The first wait after the free failures, in ms; it doubles with each further failure. Default 1 s. */
  baseDelayMs: number;
  /** Longest wait, in ms. Default 60 s. */
  maxDelayMs: number;
  /** A peer's failures are forgotten this long after its last one, in ms. Default 15 min. */
  forgetAfterMs: number;
  /** Most peers tracked at once; beyond it the least suspicious one is dropped (see {@link FailureThrottle}). Default 10,000. */
  maxPeers: number;
  /** Most user names counted apart per peer; failures for further names count together and are never cleared by a success. Default 64. */
  maxUsersPerPeer: number;
}

/** The defaults of {@link FailureThrottleOptions}. */
export const DEFAULT_THROTTLE: Readonly<FailureThrottleOptions> = Object.freeze({
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxPeers: 10_000,
  maxUsersPerPeer: 64,
});

/**
 * Slows down password guessing per peer (an IPv4 address, or an IPv6 /64: see
 * {@link peerKey}). A peer's failures are counted per user name it tried (tokens count under
 * the empty name); its wait depends on the sum. After `freeFailures` failed logins, each further
 * failure makes the peer wait (doubling, up to `maxDelayMs`) before its next login attempt is
 * even checked: attempts inside the wait are refused without looking at the credentials. A
 * success clears only that user's failures from that peer, so an account holder cannot reset its
 * count between guesses at other users' passwords.
 *
 * The table is bounded by `maxPeers`. Past it, expired peers go first, then the peer with the
 * fewest failures (the oldest among equals), never the one just counted: wiping a slowed-down
 * peer's state takes `maxPeers` other peers with at least as many failures each, themselves
 * slowed down by the same rule.
 */
export interface FailureThrottle {
  /** 0 when `peer` may try now, else how many ms it must still wait. */
  waitMs(peer: string): number;
  /** Records a failed login of `peer` as `user` (`""`: a token). */
  failed(peer: string, user: string): void;
  /** Records a successful login of `peer` as `user`: forgets that user's failures from that peer. */
  succeeded(peer: string, user: string): void;
  /** Peers tracked (for tests). */
  size(): number;
}

interface PeerState {
  /** Failures per user name (the sum is `failures`). */
  users: Map<string, number>;
  failures: number;
  lastFailureMs: number;
}

/** Where failures for names past `maxUsersPerPeer` are counted: no user name contains NUL. */
const OTHER_USERS = "\u0000other";

/** Creates a {@link FailureThrottle} on `clock`. */
export function createFailureThrottle(clock: Clock, options: Partial<FailureThrottleOptions> = {}): FailureThrottle {
  const o = { ...DEFAULT_THROTTLE, ...options };
  // Insertion order is recency of the last failure (entries are re-inserted on each failure).
  const peers = new Map<string, PeerState>();

  const expired = (s: PeerState, now: number) => now - s.lastFailureMs >= o.forgetAfterMs;

  function current(peer: string): PeerState | undefined {
    const s = peers.get(peer);
    if (s && expired(s, clock.now())) {
      peers.delete(peer);
      return undefined;
    }
    return s;
  }

  function waitOf(s: PeerState, now: number): number {
    const over = s.failures - o.freeFailures;
    if (over <= 0) return 0;
    const delay = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(over - 1, 30));
    return Math.max(0, s.lastFailureMs + delay - now);
  }

  /** Drops peers until the table fits: expired ones (the oldest come first), then the least suspicious. */
  function evict(keep: string): void {
    const now = clock.now();
    for (const [key, s] of peers) {
      if (peers.size <= o.maxPeers) return;
      if (!expired(s, now)) break;
      peers.delete(key);
    }
    while (peers.size > o.maxPeers) {
      let victim: string | undefined;
      let fewest = Number.POSITIVE_INFINITY;
      for (const [key, s] of peers) {
        if (key !== keep && s.failures < fewest) {
          victim = key;
          fewest = s.failures;
        }
      }
      if (victim === undefined) return;
      peers.delete(victim);
    }
  }

  return {
    waitMs(peer) {
      const s = current(peer);
      return s ? waitOf(s, clock.now()) : 0;
    },
    failed(peer, user) {
      const now = clock.now();
      const s = current(peer) ?? { users: new Map(), failures: 0, lastFailureMs: now };
      const name = s.users.has(user) || s.users.size < o.maxUsersPerPeer ? user : OTHER_USERS;
      s.users.set(name, (s.users.get(name) ?? 0) + 1);
      s.failures++;
      s.lastFailureMs = now;
      peers.delete(peer);
      peers.set(peer, s);
      if (peers.size > o.maxPeers) evict(peer);
    },
    succeeded(peer, user) {
      const s = current(peer);
      const mine = s?.users.get(user);
      if (!s || mine === undefined) return;
      s.users.delete(user);
      s.failures -= mine;
      if (s.failures <= 0) peers.delete(peer);
    },
    size: () => peers.size,
  };
}

/**
 * The throttle key of a peer address: IPv4-mapped IPv6 addresses count as their IPv4 address,
 * and IPv6 addresses by their /64 prefix (one host can pick any address in its /64).
 */
export function peerKey(address: string | undefined): string {
  return clientKey(address);
}
