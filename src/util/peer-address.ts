/**
 * The key that stands for one client in per-client bounds (the failed-login throttle, the share
 * of request bytes one client may hold): an IPv4 address as it is (IPv4-mapped IPv6 addresses
 * count as their IPv4 address), an IPv6 address by its /64 prefix (`2001:db8:0:7::/64`). A
 * single IPv6 host usually owns a whole /64 and can pick any address in it, so keying by full
 * address would give it 2^64 separate buckets. A missing address is `unknown`.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return "unknown";
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1] as string;
  if (!bare.includes(":")) return bare;
  const groups = expandIpv6(bare);
  if (!groups) return bare.toLowerCase();
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (hex, no leading zeros), or undefined if it is not one. */
function expandIpv6(text: string): string[] | undefined {
  const halves = text.toLowerCase().split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const last = tail.length > 0 ? tail[tail.length - 1] : head[head.length - 1];
  const v4 = last !== undefined ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(last) : null;
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    const pair = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    if (tail.length > 0) tail.splice(tail.length - 1, 1, ...pair);
    else head.splice(head.length - 1, 1, ...pair);
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, and 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const key = clientKey(bare);
  if (!key.includes(":")) return /^127\.\d+\.\d+\.\d+$/.test(key);
  return expandIpv6(bare)?.join(":") === "0:0:0:0:0:0:0:1";
}
