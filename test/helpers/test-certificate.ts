/**
 * A self-signed TLS certificate made at test time with node:crypto alone (no openssl binary):
 * an EC P-256 key and an X.509 v3 certificate for `localhost` and `127.0.0.1`, DER-encoded by
 * hand (RFC 5280 §4.1) and signed with ECDSA-SHA256. Clients trust it by passing it as `ca`.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const explicit = (n: number, inner: Buffer) => der(0xa0 + n, inner);
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), b]));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, "utf8"));
const bool = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0]));

function integer(b: Buffer): Buffer {
  return der(0x02, (b[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const v of rest) {
    const chunk: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, "latin1"));
}

const pem = (label: string, body: Buffer) =>
  `-----BEGIN ${label}-----\n${body.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END ${label}-----\n`;

/** A certificate and its key, PEM-encoded. */
export interface TestCertificate {
  cert: string;
  key: string;
  /** SHA-256 of the DER certificate, as `tls.PeerCertificate.fingerprint256` writes it. */
  fingerprint256: string;
}

/** Makes a self-signed certificate valid from an hour ago for a day. */
export function createTestCertificate(commonName = "switchyard test"): TestCertificate {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const now = Date.now();
  const serial = randomBytes(8);
  // Positive, and minimal as DER requires: a leading 0x00 before a byte below 0x80 is "illegal
  // padding" to OpenSSL (one certificate in ~512 failed to load before).
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  const altNames = seq(der(0x82, Buffer.from("localhost")), der(0x87, Buffer.from([127, 0, 0, 1])));
  const keyId = createHash("sha1").update(spki).digest();
  const extensions = explicit(
    3,
    seq(
      seq(oid("2.5.29.19"), bool(true), octets(seq(bool(true)))), // basicConstraints: CA (its own anchor)
      seq(oid("2.5.29.15"), bool(true), octets(der(0x03, Buffer.from([0x01, 0x86])))), // keyUsage: sign, certSign, crlSign
      seq(oid("2.5.29.14"), octets(octets(keyId))), // subjectKeyIdentifier
      seq(oid("2.5.29.17"), octets(altNames)), // subjectAltName: localhost, 127.0.0.1
    ),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaSha256,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    spki,
    extensions,
  );
  const certificate = seq(tbs, ecdsaSha256, bits(sign("sha256", tbs, privateKey)));
  const fingerprint = createHash("sha256").update(certificate).digest("hex").toUpperCase();
  return {
    cert: pem("CERTIFICATE", certificate),
    key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    fingerprint256: fingerprint.match(/../g)?.join(":") ?? "",
  };
}

/** A certificate written to a temporary directory (for `--tls-cert` / `--tls-key`). */
export interface TestCertificateFiles extends TestCertificate {
  certFile: string;
  keyFile: string;
  /** Writes another certificate over the same files (for reload tests). */
  replace(next: TestCertificate): Promise<void>;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** Creates a certificate and writes `cert.pem` and `key.pem` to a fresh temporary directory. */
export async function writeTestCertificate(): Promise<TestCertificateFiles> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const first = createTestCertificate();
  const files: TestCertificateFiles = {
    ...first,
    certFile,
    keyFile,
    async replace(next) {
      await writeFile(keyFile, next.key);
      await writeFile(certFile, next.cert);
      Object.assign(files, next);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  await writeFile(certFile, first.cert);
  await writeFile(keyFile, first.key);
  return files;
}
