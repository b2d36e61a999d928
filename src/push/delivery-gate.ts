/**
 * The delivery gate of one push subscription: after a failed attempt nothing new goes out until
 * the backoff has passed (README "Push subscriptions (webhooks)"), and the state of the last
 * attempt is kept for GetStats and `/metrics`.
 *
 * @module
 */
import type { PushStats } from "../core/index.js";
import type { RetryPolicy } from "../util/backoff.js";
import type { Clock } from "../util/index.js";
import { pushBackoffMs } from "./backoff.js";

/**
 * Backoff and last-attempt state of one push subscription. Time comes from the injected clock,
 * jitter from the injected `random` (in [0, 1)).
 */
export class DeliveryGate {
  private nextAttemptMs = 0;
  private readonly state: PushStats = {
    lastStatus: 0,
    consecutiveFailures: 0,
    nextAttemptTimeMs: 0,
    lastAttemptTimeMs: 0,
    lastError: "",
  };

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  /** How long until the next attempt may go out; 0 or less when it may go out now. */
  closedForMs(): number {
    return this.nextAttemptMs - this.clock.now();
  }

  /** A copy of the state, for GetStats (`nextAttemptTimeMs` only while backing off). */
  stats(): PushStats {
    const now = this.clock.now();
    return { ...this.state, nextAttemptTimeMs: this.nextAttemptMs > now ? this.nextAttemptMs : 0 };
  }

  /** Ends the backoff of earlier failures (a Seek replays the subscription). */
  reset(): void {
    this.state.consecutiveFailures = 0;
    this.nextAttemptMs = 0;
  }

  /** Sets the error shown in the stats without counting an attempt (delivery cannot start). */
  noteError(error: string): void {
    this.state.lastError = error;
  }

  /**
   * Records an attempt. A success opens the gate; a failure counts and closes it for the backoff
   * of `retry` (exponential with jitter, see backoff.ts).
   */
  record(ok: boolean, status: number, error: string, retry: RetryPolicy): void {
    const now = this.clock.now();
    this.state.lastStatus = status;
    this.state.lastAttemptTimeMs = now;
    this.state.lastError = error;
    if (ok) {
      this.state.consecutiveFailures = 0;
      this.nextAttemptMs = 0;
      return;
    }
    this.state.consecutiveFailures++;
    this.nextAttemptMs = now + pushBackoffMs(this.state.consecutiveFailures, retry, this.random);
  }

  /** Records an attempt that could not be sent at all and left its subscription: no backoff. */
  recordUndeliverable(error: string): void {
    this.state.lastStatus = 0;
    this.state.lastAttemptTimeMs = this.clock.now();
    this.state.lastError = error;
  }
}
