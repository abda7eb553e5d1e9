import net from 'node:net';

/*
 * The SSRF guard's view of an address: which range it belongs to. Only 'public' addresses may be fetched from
 * (isPublicAddress): no private, loopback, link-local, CGNAT, multicast, unspecified, documentation or reserved
 * ranges, and no IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64, 6to4).
 */

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'invalid';

function parseIPv4(text: string): number[] | undefined {
  if (!net.isIPv4(text)) return undefined;
  return text.split('.').map(Number);
}

/** 16 bytes of an IPv6 address (zone ids are dropped), or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const withoutZone = text.replace(/%.*$/, '');
  if (!net.isIPv6(withoutZone)) return undefined;
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return [NaN];
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const halves = withoutZone.split('::');
  const head = groups(halves[0]!);
  const tail = halves.length > 1 ? groups(halves[1]!) : [];
  const words = halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function classifyIPv4Bytes(b: ArrayLike<number>): AddressClass {
  const [a, c] = [b[0]!, b[1]!];
  const d = b[2]!;
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 "this network"
  if (a === 10) return 'private';
  if (a === 100 && c >= 64 && c <= 127) return 'cgnat'; // 100.64.0.0/10
  if (a === 127) return 'loopback';
  if (a === 169 && c === 254) return 'linkLocal';
  if (a === 172 && c >= 16 && c <= 31) return 'private';
  if (a === 192 && c === 0 && d === 0) return 'reserved'; // IETF protocol assignments
  if (a === 192 && c === 0 && d === 2) return 'documentation';
  if (a === 192 && c === 88 && d === 99) return 'reserved'; // 6to4 relay anycast (deprecated)
  if (a === 192 && c === 168) return 'private';
  if (a === 198 && (c === 18 || c === 19)) return 'benchmarking';
  if (a === 198 && c === 51 && d === 100) return 'documentation';
  if (a === 203 && c === 0 && d === 113) return 'documentation';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 255 && c === 255 && d === 255 && b[3] === 255) return 'broadcast';
  if (a >= 240) return 'reserved';
  return 'public';
}

function classifyIPv6Bytes(b: Uint8Array): AddressClass {
  const zeroUpTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const word = (i: number) => (b[2 * i]! << 8) | b[2 * i + 1]!;
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped): the kernel connects to the IPv4 address.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyIPv4Bytes(b.subarray(12));
  if (b[0] === 0 && b[1] === 0) return 'reserved'; // rest of ::/16, incl. deprecated IPv4-compatible ::a.b.c.d
  // 64:ff9b::/96 NAT64: reaches the embedded IPv4 address.
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 0 && word(3) === 0 && word(4) === 0 && word(5) === 0) {
    return classifyIPv4Bytes(b.subarray(12));
  }
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 1) return 'private'; // 64:ff9b:1::/48 local-use NAT64
  if (word(0) === 0x100 && word(1) === 0 && word(2) === 0 && word(3) === 0) return 'reserved'; // 100::/64 discard
  if (word(0) === 0x2001 && word(1) === 0x0db8) return 'documentation';
  if (word(0) === 0x2001 && word(1) < 0x200) return 'reserved'; // 2001::/23 incl. Teredo (hides the target)
  if (word(0) === 0x2002) return classifyIPv4Bytes(b.subarray(2, 6)); // 6to4 embeds an IPv4 address
  if (word(0) === 0x3fff && word(1) < 0x1000) return 'documentation'; // 3fff::/20
  if (word(0) === 0x5f00) return 'reserved'; // SRv6 SIDs
  if ((b[0]! & 0xfe) === 0xfc) return 'uniqueLocal'; // fc00::/7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'linkLocal'; // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'siteLocal'; // fec0::/10 (deprecated)
  if (b[0] === 0xff) return 'multicast';
  if ((b[0]! & 0xe0) === 0x20) return 'public'; // 2000::/3 global unicast
  return 'reserved';
}

/** What kind of address this is; anything not 'public' must not be fetched from. */
export function classifyAddress(address: string): AddressClass {
  const text = address.replace(/^\[(.*)\]$/, '$1');
  const v4 = parseIPv4(text);
  if (v4) return classifyIPv4Bytes(v4);
  const v6 = parseIPv6(text);
  if (v6) return classifyIPv6Bytes(v6);
  return 'invalid';
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}
