/**
 * Host allow-list patterns for push endpoints (the SSRF guard, config `push-allowed-hosts`).
 *
 * A pattern is a host with an optional port: `hooks.example.com`, `10.0.0.7:8080`,
 * `[::1]:9000`, or a wildcard for every subdomain `*.example.com` (not the bare domain). Without a
 * port any port matches. Hosts compare case-insensitively; IPv6 addresses in brackets.
 */
export interface HostPattern {
  /** Lower-case host; for a wildcard the suffix with its leading dot (`.example.com`). */
  host: string;
  wildcard: boolean;
  /** Empty: any port. */
  port: string;
}

const PATTERN = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/;

/** Parses one pattern; undefined when it is not a valid pattern. */
export function parseHostPattern(text: string): HostPattern | undefined {
  const m = PATTERN.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const [, star, host = "", port = ""] = m;
  if (port !== "" && Number(port) > 65535) return undefined;
  if (star && host.startsWith("[")) return undefined;
  if (host.startsWith(".") || host.endsWith(".") || host.includes("..")) return undefined;
  return { host: star ? `.${host}` : host, wildcard: star !== undefined, port };
}

/** The port a URL talks to: its explicit port or the scheme's default. */
function effectivePort(url: URL): string {
  if (url.port !== "") return url.port;
  return url.protocol === "https:" ? "443" : "80";
}

/**
 * True when `url` is allowed by `patterns`; an empty list allows everything. Invalid patterns
 * match nothing (the config refuses them before they get here).
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const host = url.hostname.toLowerCase();
  const port = effectivePort(url);
  return patterns.some((text) => {
    const p = parseHostPattern(text);
    if (!p) return false;
    if (p.port !== "" && p.port !== port) return false;
    return p.wildcard ? host.endsWith(p.host) && host.length > p.host.length : host === p.host;
  });
}
