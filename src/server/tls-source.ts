import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";

/** A PEM certificate chain and its private key. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * The server's TLS certificate and key (`--tls-cert`, `--tls-key`), shared by every listener
 * that speaks TLS. {@link reload} re-reads both files (on SIGHUP): listeners then use the new pair
 * for new connections; open connections keep theirs. A bad pair is refused and the old one stays.
 */
export interface TlsSource {
  /** The current key and certificate (what a new connection's handshake uses). */
  current(): TlsPair;
  /** Re-reads the files; throws (keeping the current pair) when they are missing or do not fit. */
  reload(): Promise<void>;
  /** Calls `listener` with each new pair after a reload; returns the unsubscribe function. */
  onReload(listener: (pair: TlsPair) => void): () => void;
  /** The files, for logs. */
  readonly files: { readonly cert: string; readonly key: string };
}

/** A certificate or key that cannot be used; the message names the flag and the file. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

async function read(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new TlsConfigError(`${flag} ${file}: cannot read it (${(e as { code?: string }).code ?? String(e)})`);
  }
}

async function loadPair(certFile: string, keyFile: string): Promise<TlsPair> {
  // One after the other: when both are unreadable, the error always names the certificate.
  const cert = await read("--tls-cert", certFile);
  const key = await read("--tls-key", keyFile);
  try {
    // Parses both PEMs and checks that the key belongs to the certificate.
    createSecureContext({ cert, key });
    return { cert, key };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new TlsConfigError(`--tls-cert ${certFile} and --tls-key ${keyFile} are not a usable PEM pair: ${why}`);
  }
}

/** Reads the pair once (throws {@link TlsConfigError}) and returns its {@link TlsSource}. */
export async function loadTlsSource(certFile: string, keyFile: string): Promise<TlsSource> {
  let current = await loadPair(certFile, keyFile);
  const listeners = new Set<(pair: TlsPair) => void>();
  return {
    current: () => current,
    async reload() {
      current = await loadPair(certFile, keyFile);
      for (const l of listeners) l(current);
    },
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    files: { cert: certFile, key: keyFile },
  };
}
