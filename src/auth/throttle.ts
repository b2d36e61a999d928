import type { Clock } from "../util/index.js";

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
  /** Most peers tracked at once; the longest-quiet one is dropped beyond it. Default 10,000. */
  maxPeers: number;
}

/** The defaults of {@link FailureThrottleOptions}. */
export const DEFAULT_THROTTLE: Readonly<FailureThrottleOptions> = Object.freeze({
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxPeers: 10_000,
});

/**
 * Slows down password guessing per peer (an IP address): after `freeFailures` failed logins,
 * each further failure makes the peer wait (doubling, up to `maxDelayMs`) before its next login
 * attempt is even checked. Attempts inside the wait are refused without looking at the
 * credentials, so parallel guesses gain nothing and cost no hashing. A success clears the peer.
 */
export interface FailureThrottle {
  /** 0 when `peer` may try now, else how many ms it must still wait. */
  waitMs(peer: string): number;
  /** Records a failed login of `peer`. */
  failed(peer: string): void;
  /** Records a successful login of `peer` (forgets its failures). */
  succeeded(peer: string): void;
  /** Peers tracked (for tests). */
  size(): number;
}

interface PeerState {
  failures: number;
  lastFailureMs: number;
  blockedUntilMs: number;
}

/** Creates a {@link FailureThrottle} on `clock`. */
export function createFailureThrottle(clock: Clock, options: Partial<FailureThrottleOptions> = {}): FailureThrottle {
  const o = { ...DEFAULT_THROTTLE, ...options };
  // Insertion order is recency of the last failure (entries are re-inserted on each failure).
  const peers = new Map<string, PeerState>();

  function current(peer: string): PeerState | undefined {
    const s = peers.get(peer);
    if (s && clock.now() - s.lastFailureMs >= o.forgetAfterMs) {
      peers.delete(peer);
      return undefined;
    }
    return s;
  }

  return {
    waitMs(peer) {
      const s = current(peer);
      return s ? Math.max(0, s.blockedUntilMs - clock.now()) : 0;
    },
    failed(peer) {
      const now = clock.now();
      const s = current(peer) ?? { failures: 0, lastFailureMs: now, blockedUntilMs: 0 };
      s.failures++;
      s.lastFailureMs = now;
      const over = s.failures - o.freeFailures;
      if (over > 0) s.blockedUntilMs = now + Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(over - 1, 30));
      peers.delete(peer);
      peers.set(peer, s);
      while (peers.size > o.maxPeers) {
        const oldest = peers.keys().next().value as string;
        peers.delete(oldest);
      }
    },
    succeeded(peer) {
      peers.delete(peer);
    },
    size: () => peers.size,
  };
}

/** The throttle key of a peer address: IPv4-mapped IPv6 addresses count as their IPv4 address. */
export function peerKey(address: string | undefined): string {
  if (!address) return "unknown";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
