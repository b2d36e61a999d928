import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Password hashes: `scrypt$N=<cost>,r=<block size>,p=<parallelism>$<salt>$<key>`, salt and key
 * in unpadded base64 (README "Auth and TLS"). `switchyard hash-password` makes them with
 * {@link DEFAULT_SCRYPT_PARAMS}; any parameters within {@link SCRYPT_BOUNDS} are accepted.
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** A parsed password hash. */
export interface PasswordHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and roughly 50–100 ms per check on one core. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** What a hash may ask for: bounded so a config file cannot make one check take gigabytes. */
export const SCRYPT_BOUNDS = Object.freeze({
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  /** scrypt needs about 128·N·r bytes. */
  maxMemoryBytes: 256 * 1024 * 1024,
  minSaltBytes: 8,
  minKeyBytes: 16,
  maxKeyBytes: 64,
});

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = "scrypt$";

/** True when `text` looks like a password hash (it may still fail {@link parsePasswordHash}). */
export function isPasswordHash(text: string): boolean {
  return text.startsWith(PREFIX);
}

/** Parses a hash; throws an `Error` whose message says what is wrong (never echoing the hash). */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split("$");
  if (parts.length !== 4 || parts[0] !== "scrypt") {
    throw new Error("a hash of the form scrypt$N=…,r=…,p=…$<salt>$<key> (from switchyard hash-password)");
  }
  const params: Record<string, number> = {};
  for (const item of (parts[1] as string).split(",")) {
    const m = /^([Nrp])=(\d{1,8})$/.exec(item);
    // Never quoted: a plain password that happens to start with "scrypt$" lands here.
    if (!m || (m[1] as string) in params) throw new Error("scrypt parameters of the form N=…,r=…,p=…");
    params[m[1] as string] = Number(m[2]);
  }
  const { N, r, p } = params;
  if (N === undefined || r === undefined || p === undefined) throw new Error("scrypt parameters N, r and p");
  const b = SCRYPT_BOUNDS;
  if (N < 2 || N > b.maxN || (N & (N - 1)) !== 0) throw new Error(`scrypt N a power of two from 2 to ${b.maxN}`);
  if (r < 1 || r > b.maxR) throw new Error(`scrypt r from 1 to ${b.maxR}`);
  if (p < 1 || p > b.maxP) throw new Error(`scrypt p from 1 to ${b.maxP}`);
  if (128 * N * r > b.maxMemoryBytes) throw new Error(`scrypt parameters needing at most ${b.maxMemoryBytes} bytes`);
  const salt = decode(parts[2] as string);
  const key = decode(parts[3] as string);
  if (!salt || salt.length < b.minSaltBytes) throw new Error(`a base64 salt of at least ${b.minSaltBytes} bytes`);
  if (!key || key.length < b.minKeyBytes || key.length > b.maxKeyBytes) {
    throw new Error(`a base64 key of ${b.minKeyBytes} to ${b.maxKeyBytes} bytes`);
  }
  return { params: { N, r, p }, salt, key };
}

function decode(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

const encode = (b: Buffer) => b.toString("base64").replace(/=+$/, "");

function derive(password: string, salt: Buffer, keyBytes: number, params: ScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keyBytes, { ...params, maxmem }, (e, key) =>
      e ? reject(e) : resolve(key),
    );
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return `${PREFIX}N=${params.N},r=${params.r},p=${params.p}$${encode(salt)}$${encode(key)}`;
}

/** True when `password` matches `hash`; the keys are compared in constant time. */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, hash.params);
  return timingSafeEqual(key, hash.key);
}
