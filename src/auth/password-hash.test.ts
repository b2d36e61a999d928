import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, isPasswordHash, parsePasswordHash, verifyPassword } from "./password-hash.js";

/** Cheap parameters: the format and the check are the same, only the cost differs. */
const FAST = { N: 1024, r: 8, p: 1 };

describe("password hash", () => {
  it("password hash - round trip: the password matches, another does not, salts differ", async () => {
    const a = await hashPassword("s3cret wörd", FAST);
    const b = await hashPassword("s3cret wörd", FAST);
    assert.match(a, /^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, "a fresh salt each time");
    assert.ok(isPasswordHash(a));
    assert.equal(await verifyPassword("s3cret wörd", parsePasswordHash(a)), true);
    assert.equal(await verifyPassword("s3cret word", parsePasswordHash(a)), false);
    assert.equal(await verifyPassword("", parsePasswordHash(b)), false);
  });

  it("password hash - the default parameters are N=2^15, r=8, p=1", async () => {
    const h = await hashPassword("x");
    assert.match(h, /^scrypt\$N=32768,r=8,p=1\$/);
    assert.equal(await verifyPassword("x", parsePasswordHash(h)), true);
  });

  it("password hash - malformed or unbounded hashes are refused with what is expected", () => {
    const salt = Buffer.alloc(16, 1).toString("base64");
    const key = Buffer.alloc(32, 2).toString("base64");
    const bad: [string, RegExp][] = [
      ["plain", /scrypt\$N=/],
      [`scrypt$N=1024,r=8$${salt}$${key}`, /N, r and p/],
      [`scrypt$N=1000,r=8,p=1$${salt}$${key}`, /power of two/],
      [`scrypt$N=2097152,r=8,p=1$${salt}$${key}`, /power of two from 2 to 1048576/],
      [`scrypt$N=1048576,r=8,p=1$${salt}$${key}`, /at most 268435456 bytes/],
      [`scrypt$N=1024,r=99,p=1$${salt}$${key}`, /r from 1 to 32/],
      [`scrypt$N=1024,r=8,p=1,p=2$${salt}$${key}`, /N=…,r=…,p=…/],
      [`scrypt$N=1024,r=8,p=1$c2FsdA$${key}`, /salt of at least 8 bytes/],
      [`scrypt$N=1024,r=8,p=1$${salt}$a2V5`, /key of 16 to 64 bytes/],
      [`scrypt$N=1024,r=8,p=1$${salt}$!!`, /key/],
    ];
    for (const [text, message] of bad) assert.throws(() => parsePasswordHash(text), message, text);
  });
});
