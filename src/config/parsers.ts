import { parseUsers, type UserConfig, UserSettingError } from "../auth/index.js";
import type { MinFreeDisk } from "../store/kv/disk-space.js";
import { parseHostPattern } from "../util/index.js";
import type { PortSetting } from "./config-shape.js";

/** A bad configuration value; the message names the flag or config key and what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Turns a raw value into a setting, or throws {@link Expected}. */
export type Parser<T> = (raw: unknown) => T;

/**
 * Thrown by parsers with only the expectation; the caller prefixes where the value came from.
 * `path` names a place inside the value (`[1].roles[0]`); `secret` values are never echoed.
 */
export class Expected extends Error {
  constructor(
    message: string,
    readonly path = "",
    readonly secret = false,
  ) {
    super(message);
  }
}

/** An integer from `min` to `max` (a number, or a string of digits). */
export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Expected(`an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A TCP port (0 picks a free one). */
export const port = integer(0, 65535);
/** A bridge's port, or `"off"`. */
export const bridgePort: Parser<PortSetting> = (raw) => {
  if (raw === "off" || raw === false) return "off";
  try {
    return port(raw);
  } catch {
    throw new Expected('a port from 0 to 65535, or "off"');
  }
};

/** One of the given words. */
export function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    if (typeof raw === "string" && (values as string[]).includes(raw)) return raw as T;
    throw new Expected(`one of ${values.join(", ")}`);
  };
}

/** A switch: a flag without a value is true; a config file says true or false. */
export const boolean: Parser<boolean> = (raw) => {
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  throw new Expected("true or false");
};

/** A string that is not empty. */
export const nonEmpty: Parser<string> = (raw) => {
  if (typeof raw !== "string" || raw.trim() === "") throw new Expected("a non-empty string");
  return raw;
};

/** An optional path (a string that is not empty). */
export const optionalPath: Parser<string | undefined> = (raw) => (raw === undefined ? undefined : nonEmpty(raw));

/** The `users` list (auth/users.ts); messages name the entry and key, never a password. */
export const users: Parser<readonly UserConfig[] | undefined> = (raw) => {
  if (raw === undefined) return undefined;
  try {
    return parseUsers(raw);
  } catch (e) {
    if (e instanceof UserSettingError) throw new Expected(e.expected, e.path, true);
    throw e;
  }
};

/** A list of host patterns: a YAML/JSON list of strings, or one comma-separated string (flags). */
export const hostList: Parser<readonly string[]> = (raw) => {
  const items = typeof raw === "string" ? raw.split(",") : raw;
  if (!Array.isArray(items) || items.some((i) => typeof i !== "string")) {
    throw new Expected("a list of host patterns (host, host:port or *.domain), comma-separated in a flag");
  }
  const patterns = (items as string[]).map((i) => i.trim()).filter((i) => i !== "");
  const bad = patterns.find((p) => parseHostPattern(p) === undefined);
  if (bad !== undefined) throw new Expected(`host patterns (host, host:port or *.domain); "${bad}" is not one`);
  return Object.freeze(patterns);
};

/** A list of address prefixes: a YAML/JSON list of strings, or one comma-separated string (flags). */
export const prefixList: Parser<readonly string[]> = (raw) => {
  const items = typeof raw === "string" ? raw.split(",") : raw;
  if (!Array.isArray(items) || items.some((i) => typeof i !== "string")) {
    throw new Expected("a list of address prefixes (e.g. 10.0.,127.0.0.1 or all), comma-separated in a flag");
  }
  return Object.freeze((items as string[]).map((i) => i.trim()).filter((i) => i !== ""));
};

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** An already parsed floor (a validated config is validated again). */
function isMinFreeDisk(raw: object): raw is MinFreeDisk {
  const { bytes, percent, ...rest } = raw as Record<string, unknown>;
  const okBytes = bytes === undefined || (Number.isSafeInteger(bytes) && (bytes as number) >= 0);
  const okPercent = percent === undefined || (typeof percent === "number" && percent >= 0 && percent <= 100);
  return okBytes && okPercent && Object.keys(rest).length === 0;
}

/** Bytes with an optional unit (`1073741824`, `512MiB`, `2GB`, `1g`), or undefined when it is not one. */
function parseBytes(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== "string") return undefined;
  const bytes = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = BYTE_UNITS[(bytes?.[2] ?? "").toLowerCase()];
  if (!bytes || unit === undefined) return undefined;
  const n = Math.floor(Number(bytes[1]) * unit);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Smallest `--max-store-bytes` (besides 0): room for the catalog and a few messages. */
const MIN_MAX_STORE_BYTES = 16 * 1024 * 1024;

/** A store cap: bytes with a unit, at least 16 MiB, or 0 for none. */
export const maxStoreBytes: Parser<number> = (raw) => {
  const n = parseBytes(raw);
  if (n === undefined || (n !== 0 && n < MIN_MAX_STORE_BYTES)) {
    throw new Expected("bytes of at least 16MiB (e.g. 50GiB, 2TB), or 0 for no cap");
  }
  return n;
};

/** A free-space floor: `N%` of the disk, or bytes (`1073741824`, `512MiB`, `2GB`, `1g`); 0: none. */
export const minFreeDisk: Parser<MinFreeDisk> = (raw) => {
  const expected = 'bytes (e.g. 1073741824, 512MiB, 2GB), a percentage of the disk (e.g. "5%"), or 0 for none';
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return Object.freeze({ bytes: raw });
  if (typeof raw === "object" && raw !== null && isMinFreeDisk(raw)) return raw;
  if (typeof raw !== "string") throw new Expected(expected);
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
  if (percent) {
    const p = Number(percent[1]);
    if (p > 100) throw new Expected(expected);
    return Object.freeze({ percent: p });
  }
  const n = parseBytes(raw);
  if (n === undefined) throw new Expected(expected);
  return Object.freeze({ bytes: n });
};
