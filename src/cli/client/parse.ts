import { InvalidArgumentError } from "commander";

/**
 * Value parsers for client command flags. Each throws commander's InvalidArgumentError, which
 * commander reports as `option '--x <n>' argument 'y' is invalid. <why>` (exit 2).
 */

/** An integer in `[min, max]` (decimal digits only). */
export function parseInteger(raw: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${flag} expects an integer from ${min} to ${max}.`);
  }
  return n;
}

/** A parser for {@link parseInteger} with fixed bounds, for `Option.argParser`. */
export function integerFlag(flag: string, min: number, max: number): (raw: string) => number {
  return (raw) => parseInteger(raw, flag, min, max);
}

/** A uint64 (seq numbers, byte counts) as a bigint. */
export function parseUint64(raw: string, flag: string): bigint {
  if (!/^\d{1,20}$/.test(raw.trim())) throw new InvalidArgumentError(`${flag} expects a non-negative integer.`);
  const n = BigInt(raw.trim());
  if (n > 0xffff_ffff_ffff_ffffn) throw new InvalidArgumentError(`${flag} is larger than 2^64-1.`);
  return n;
}

/** A parser for {@link parseUint64}, for `Option.argParser`. */
export function uint64Flag(flag: string): (raw: string) => bigint {
  return (raw) => parseUint64(raw, flag);
}

/**
 * A repeatable `key=value` flag (`--attr region=eu --attr tier=1`): commander calls it once per
 * occurrence with the map so far. The value may contain `=`; the key may not be empty.
 */
export function keyValueFlag(
  flag: string,
): (raw: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (raw, previous) => {
    const i = raw.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError(`${flag} expects key=value.`);
    const key = raw.slice(0, i);
    const out = { ...(previous ?? {}) };
    if (Object.hasOwn(out, key)) throw new InvalidArgumentError(`${flag} sets "${key}" twice.`);
    out[key] = raw.slice(i + 1);
    return out;
  };
}

/**
 * A point in time: RFC 3339 / ISO 8601 (`2026-01-02T03:04:05Z`), milliseconds since the epoch,
 * or an age before now (`30s`, `15m`, `2h`, `7d`).
 */
export function parseTime(raw: string, flag: string, nowMs: number = Date.now()): Date {
  const text = raw.trim();
  const age = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (age) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as "ms" | "s" | "m" | "h" | "d"];
    return new Date(nowMs - Number(age[1]) * unit);
  }
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError(`${flag} expects an ISO 8601 time, epoch milliseconds, or an age such as 15m.`);
  }
  return new Date(ms);
}

/** A parser for {@link parseTime}, for `Option.argParser`. */
export function timeFlag(flag: string): (raw: string) => Date {
  return (raw) => parseTime(raw, flag);
}

/** Where a new subscription starts, as in `StartPosition`. */
export type StartFlag =
  | { case: "earliest"; value: true }
  | { case: "latest"; value: true }
  | { case: "seq"; value: bigint }
  | { case: "time"; value: Date };

/** `--start earliest|latest|seq:N|time:T` (T as in {@link parseTime}). */
export function parseStart(raw: string): StartFlag {
  if (raw === "earliest" || raw === "latest") return { case: raw, value: true };
  if (raw.startsWith("seq:")) return { case: "seq", value: parseUint64(raw.slice(4), "--start seq:") };
  if (raw.startsWith("time:")) return { case: "time", value: parseTime(raw.slice(5), "--start time:") };
  throw new InvalidArgumentError("--start expects earliest, latest, seq:N or time:T.");
}

/** A flag with a fixed set of words, each mapped to a value (`--overflow drop-oldest`). */
export function choiceFlag<T>(flag: string, choices: Readonly<Record<string, T>>): (raw: string) => T {
  return (raw) => {
    if (!Object.hasOwn(choices, raw)) {
      throw new InvalidArgumentError(`${flag} expects one of: ${Object.keys(choices).join(", ")}.`);
    }
    return choices[raw] as T;
  };
}
