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

/**
 * The floor a `maxStoreBytes` cap would leave free when that floor fills the cap on its own (a
 * store that could never take a publish), else undefined (also without a cap, 0).
 */
export function unusableStoreCap(maxStoreBytes: number, min: MinFreeDisk): number | undefined {
  if (maxStoreBytes <= 0) return undefined;
  const floor = minFreeBytes(min, maxStoreBytes);
  return floor >= maxStoreBytes ? floor : undefined;
}

/** Where the store stands inside its own file: what {@link storeSpaceProbe} adds to the filesystem's view. */
export interface StoreSpace {
  /** Bytes of the data file in use up to its last page (LMDB's pages up to the last one written). */
  usedBytes: number;
  /** Bytes of pages freed inside the data file that the store reuses before it grows the file. */
  reusableBytes: number;
}

/**
 * A probe of the filesystem holding `path`, plus what the store will reuse inside its file. With
 * `maxStoreBytes` (`--max-store-bytes`, 0: none) the store's own cap counts too: new data can use
 * no more than the cap less what the file already uses, and the floor's percentage is taken of the
 * smaller of the disk and the cap. So free = min(disk free, cap headroom) + reusable pages.
 */
export function storeSpaceProbe(
  path: string,
  storeSpace: () => StoreSpace = () => ({ usedBytes: 0, reusableBytes: 0 }),
  maxStoreBytes = 0,
): DiskSpaceProbe {
  return async () => {
    const s = await statfs(path);
    const { usedBytes, reusableBytes } = storeSpace();
    const diskFree = s.bavail * s.bsize;
    const diskTotal = s.blocks * s.bsize;
    if (maxStoreBytes <= 0) return { availableBytes: diskFree + reusableBytes, totalBytes: diskTotal };
    const headroom = Math.max(0, maxStoreBytes - usedBytes);
    return {
      availableBytes: Math.min(diskFree, headroom) + reusableBytes,
      totalBytes: Math.min(diskTotal, maxStoreBytes),
    };
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
  /**
   * Called when a measurement fails after one that worked (or the first one fails), once per run
   * of failures; the guard keeps its last measurement and tries again every `recheckMs`. Must not throw.
   */
  onProbeError?: (error: unknown) => void;
  /** A measurement older than this is taken again on the next publish; while low or failing, it is the poll interval. Default 1 s. */
  recheckMs?: number;
  /** The clock (ms). Default Date.now. */
  now?: () => number;
}

/** Bytes a publish holds against free space until its append ends: {@link DiskGuard.reserve}. */
export interface SpaceReservation {
  /** The append stored `bytes` (at most what was reserved): they stay counted until the next measurement. */
  commit(bytes: number): void;
  /** The append failed: its bytes go back. */
  refund(): void;
}

/**
 * Keeps the last measurement, the bytes written since and the bytes of appends in flight, so the
 * check on each publish costs no system call: it measures again (in the background) when the
 * last measurement is over `recheckMs` old or the bytes counted since bring it under the floor.
 * Each publish reserves its bytes before its append, so appends in flight together are counted
 * together; a failed append gives its bytes back. While low, or while measurements fail, it
 * measures every `recheckMs` by itself, so publishes resume without a client having to try.
 */
export class DiskGuard {
  private freeBytes = Number.POSITIVE_INFINITY;
  private floorBytes = 0;
  private writtenSince = 0;
  private inFlightBytes = 0;
  private measuredAtMs = Number.NEGATIVE_INFINITY;
  private measuring: Promise<void> | undefined;
  private poll: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private isLow = false;
  private probeFailing = false;
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
    if (this.measuring !== undefined) return this.measuring;
    // Bytes counted before the probe starts are in what it sees; later ones stay counted.
    const countedBefore = this.writtenSince;
    this.measuring = this.options
      .probe()
      .then(
        ({ availableBytes, totalBytes }) => {
          this.freeBytes = availableBytes;
          this.floorBytes = minFreeBytes(this.options.min, totalBytes);
          this.writtenSince = Math.max(0, this.writtenSince - countedBefore);
          this.measuredAtMs = this.now();
          this.probeFailing = false;
          this.update();
        },
        (e: unknown) => {
          // A failed measurement keeps the last one (none yet: no floor) and is tried again.
          this.measuredAtMs = this.now();
          if (!this.probeFailing) this.options.onProbeError?.(e);
          this.probeFailing = true;
          this.schedulePoll();
        },
      )
      .finally(() => {
        this.measuring = undefined;
      });
    return this.measuring;
  }

  /**
   * Throws INSUFFICIENT_STORAGE while free space is below the floor; else counts `bytes` (what
   * the publish will store, page rounding included) as in flight until the reservation ends.
   */
  reserve(bytes: number): SpaceReservation {
    if (this.now() - this.measuredAtMs >= this.recheckMs) void this.measure();
    if (this.isLow) this.refuse();
    this.inFlightBytes += bytes;
    this.recheckIfUnder();
    let open = true;
    return {
      commit: (written) => {
        if (!open) return;
        open = false;
        this.inFlightBytes -= bytes;
        this.writtenSince += Math.min(written, bytes);
        this.recheckIfUnder();
      },
      refund: () => {
        if (!open) return;
        open = false;
        this.inFlightBytes -= bytes;
      },
    };
  }

  /** Stops the poll. */
  close(): void {
    this.closed = true;
    if (this.poll) clearTimeout(this.poll);
    this.poll = undefined;
  }

  private refuse(): never {
    const { freeBytes, minFreeBytes } = this.state();
    throw new BrokerError(
      "INSUFFICIENT_STORAGE",
      `free disk space (${freeBytes} bytes) is below --min-free-disk (${minFreeBytes} bytes): publishes are refused until space returns; acks, nacks and purges still work`,
      { metadata: { free_bytes: String(freeBytes), min_free_bytes: String(minFreeBytes) } },
    );
  }

  /** The bytes counted since the last measurement brought free space under the floor: low now, and measure. */
  private recheckIfUnder(): void {
    if (this.isLow || this.estimate() >= this.floorBytes) return;
    this.update();
    void this.measure();
  }

  private estimate(): number {
    return Math.max(0, this.freeBytes - this.writtenSince - this.inFlightBytes);
  }

  private schedulePoll(): void {
    if (this.poll || this.closed) return;
    this.poll = setTimeout(() => {
      this.poll = undefined;
      void this.measure();
    }, this.recheckMs);
    this.poll.unref();
  }

  private update(): void {
    const low = this.floorBytes > 0 && this.estimate() < this.floorBytes;
    if (low) this.schedulePoll();
    if (low === this.isLow) return;
    this.isLow = low;
    this.options.onChange?.(this.state());
  }
}
