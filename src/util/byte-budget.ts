import { clientKey } from "./peer-address.js";

/**
 * A shared bound on bytes held at once (e.g. request bodies being read across all connections).
 * Callers take bytes as they buffer them and give them back when the request is done.
 */
export interface ByteBudget {
  /** Takes `bytes` if they fit under the limit; false (and nothing taken) if they do not. */
  tryTake(bytes: number): boolean;
  /** Gives back bytes taken earlier. */
  release(bytes: number): void;
  /** Bytes taken now. */
  used(): number;
  /** The limit in bytes. */
  readonly maxBytes: number;
}

/** Creates a {@link ByteBudget} of `maxBytes`. */
export function createByteBudget(maxBytes: number): ByteBudget {
  let used = 0;
  return {
    maxBytes,
    tryTake(bytes) {
      if (used + bytes > maxBytes) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used = Math.max(0, used - bytes);
    },
    used: () => used,
  };
}

/**
 * A shared {@link ByteBudget} of which each client may hold at most a share, so that one client
 * (or one connection of it) cannot take the whole budget and leave every other client busy.
 */
export interface PeerByteBudgets {
  /** The shared budget. */
  readonly total: ByteBudget;
  /** Most bytes one client may hold at once. */
  readonly maxPeerBytes: number;
  /**
   * The budget of the client at `address` (keyed by {@link clientKey}: an IPv4 address, an IPv6
   * /64): a take must fit both its share and the shared budget.
   */
  forPeer(address: string | undefined): ByteBudget;
}

/** Shares `total` among clients, at most `maxPeerBytes` each (see {@link PeerByteBudgets}). */
export function sharePerPeer(total: ByteBudget, maxPeerBytes: number): PeerByteBudgets {
  /** Bytes held by each client that holds any (an entry goes when its client holds nothing). */
  const held = new Map<string, number>();
  return {
    total,
    maxPeerBytes,
    forPeer(address) {
      const key = clientKey(address);
      return {
        maxBytes: maxPeerBytes,
        tryTake(bytes) {
          const mine = held.get(key) ?? 0;
          if (mine + bytes > maxPeerBytes || !total.tryTake(bytes)) return false;
          held.set(key, mine + bytes);
          return true;
        },
        release(bytes) {
          const mine = held.get(key) ?? 0;
          const given = Math.min(mine, bytes);
          total.release(given);
          if (mine - given > 0) held.set(key, mine - given);
          else held.delete(key);
        },
        used: () => held.get(key) ?? 0,
      };
    },
  };
}
