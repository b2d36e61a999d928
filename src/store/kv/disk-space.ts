/**
 * The free-space floor (`--min-free-disk`). Below it publishes are refused with
 * INSUFFICIENT_STORAGE, so that the space left serves what frees space: acks, nacks, purges and
 * deletes (LMDB writes new pages before it frees old ones, so even a delete needs free pages).
 * Free space counts what the filesystem has free plus the pages LMDB freed inside its data file
 * (it reuses them, and never gives them back to the filesystem), so draining a backlog lifts
 * the gate by itself.
 */
import { statfs } from "node:fs/promises";
import { BrokerError } from "../../errors/index.js";

/** Free and total space where the data lives, in bytes. */
export interface DiskSpace {
  /** Bytes new data can still use: free to unprivileged users, plus pages the store will reuse. */
  availableBytes: number;
  /** Size of the filesystem. */
  totalBytes: number;
}

/** Measures {@link DiskSpace}; injected in tests. */
export type DiskSpaceProbe = () => Promise<DiskSpace>;

/**
 * The floor: `bytes`, `percent` of the filesystem, or, with both, the smaller of the two (the
 * default, 1 GiB or 5 %). Neither, or 0: no floor.
 */
export interface MinFreeDisk {
  readonly bytes?: number;
  readonly percent?: number;
}

/**
 * Default floor: 1 GiB or 5 % of the filesystem, whichever is smaller. 1 GiB leaves room for
 * what drains a full broker (acks, purges and their LMDB page copies) and for the other users of
 * the disk; 5 % keeps a small volume from losing a large share of itself to the floor.
 */
export const DEFAULT_MIN_FREE_DISK: MinFreeDisk = Object.freeze({ bytes: 1024 ** 3, percent: 5 });

/** The floor in bytes on a filesystem of `totalBytes`. */
export function minFreeBytes(min: MinFreeDisk, totalBytes: number): number {
  const floors: number[] = [];
  if (min.bytes !== undefined) floors.push(min.bytes);
  if (min.percent !== undefined) floors.push(Math.floor((totalBytes * min.percent) / 100));
  return floors.length === 0 ? 0 : Math.min(...floors);
}

/** A probe of the filesystem holding `path`, plus what `reusableBytes` says the store will reuse. */
export function filesystemProbe(path: string, reusableBytes: () => number = () => 0): DiskSpaceProbe {
  return async () => {
    const s = await statfs(path);
    return { availableBytes: s.bavail * s.bsize + reusableBytes(), totalBytes: s.blocks * s.bsize };
  };
}

/** What the guard reports when its state changes. */
export interface DiskSpaceState {
  /** True while free space is below the floor (publishes refused). */
  low: boolean;
  freeBytes: number;
  minFreeBytes: number;
}

/** Options of {@link DiskGuard}. */
export interface DiskGuardOptions {
  min: MinFreeDisk;
  probe: DiskSpaceProbe;
  /** Called when free space goes below the floor and when it is back above it. Must not throw. */
  onChange?: (state: DiskSpaceState) => void;
  /** A measurement older than this is taken again on the next publish; while low, it is the poll interval. Default 1 s. */
  recheckMs?: number;
  /** The clock (ms). Default Date.now. */
  now?: () => number;
}

/**
 * Keeps the last measurement and the bytes written since, so the check on each publish costs
 * no system call: it measures again (in the background) when the last measurement is over
 * `recheckMs` old or the writes since bring it under the floor. While low it measures every
 * `recheckMs` by itself, so publishes resume without a client having to try.
 */
export class DiskGuard {
  private freeBytes = Number.POSITIVE_INFINITY;
  private floorBytes = 0;
  private writtenSince = 0;
  private measuredAtMs = Number.NEGATIVE_INFINITY;
  private measuring: Promise<void> | undefined;
  private poll: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private isLow = false;
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DiskGuardOptions) {
    this.recheckMs = options.recheckMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** True while publishes are refused. */
  get low(): boolean {
    return this.isLow;
  }

  /** The current state (for health). */
  state(): DiskSpaceState {
    return { low: this.isLow, freeBytes: this.estimate(), minFreeBytes: this.floorBytes };
  }

  /** Measures now (the first measurement, and tests). */
  measure(): Promise<void> {
    this.measuring ??= this.options
      .probe()
      .then(
        ({ availableBytes, totalBytes }) => {
          this.freeBytes = availableBytes;
          this.floorBytes = minFreeBytes(this.options.min, totalBytes);
          this.writtenSince = 0;
          this.measuredAtMs = this.now();
          this.update();
        },
        () => {
          // A failed measurement keeps the last one; the next check tries again.
          this.measuredAtMs = this.now();
        },
      )
      .finally(() => {
        this.measuring = undefined;
      });
    return this.measuring;
  }

  /** Throws INSUFFICIENT_STORAGE while free space is below the floor. Call before each publish. */
  check(): void {
    if (this.now() - this.measuredAtMs >= this.recheckMs) void this.measure();
    if (!this.isLow) return;
    const { freeBytes, minFreeBytes } = this.state();
    throw new BrokerError(
      "INSUFFICIENT_STORAGE",
      `free disk space (${freeBytes} bytes) is below --min-free-disk (${minFreeBytes} bytes): publishes are refused until space returns; acks, nacks and purges still work`,
      { metadata: { free_bytes: String(freeBytes), min_free_bytes: String(minFreeBytes) } },
    );
  }

  /** Counts bytes just written (published), so the next check sees them before the next measurement. */
  noteWritten(bytes: number): void {
    this.writtenSince += bytes;
    if (!this.isLow && this.estimate() < this.floorBytes) {
      this.update();
      void this.measure();
    }
  }

  /** Stops the poll. */
  close(): void {
    this.closed = true;
    if (this.poll) clearTimeout(this.poll);
    this.poll = undefined;
  }

  private estimate(): number {
    return Math.max(0, this.freeBytes - this.writtenSince);
  }

  private update(): void {
    const low = this.floorBytes > 0 && this.estimate() < this.floorBytes;
    if (low && !this.poll && !this.closed) {
      this.poll = setTimeout(() => {
        this.poll = undefined;
        void this.measure().then(() => this.update());
      }, this.recheckMs);
      this.poll.unref();
    }
    if (low === this.isLow) return;
    this.isLow = low;
    this.options.onChange?.(this.state());
  }
}
