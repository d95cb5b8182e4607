/**
 * The three address levels of Basalt's hierarchical rank: for IPv4 the /16 and /24 prefixes and the full
 * address; for IPv6 the /32, /48 and /64 prefixes (a /64 is one subnet, which a single host can fill with
 * addresses, so nothing finer means anything). Identities on one prefix then compete with each other for a
 * slot instead of each getting its own chance.
 *
 * A candidate without an address, or with one that does not parse, lands in one shared "no address" group
 * at every level: omitting the address must never buy an adversary more slots than giving one. On a
 * loopback devnet every node shares 127.0.0.1, so all levels tie and the rank is decided by the peer id.
 */
export type AddressGroups = readonly [string, string, string];

export const NO_ADDRESS: AddressGroups = ["none", "none", "none"];

export function addressGroups(ip: string | undefined): AddressGroups {
  if (ip === undefined || ip.length === 0 || ip.length > 64) return NO_ADDRESS;
  const v4 = parseIpv4(ip);
  if (v4 !== undefined) return ipv4Groups(v4);
  const v6 = parseIpv6(ip);
  if (v6 === undefined) return NO_ADDRESS;
  // ::ffff:a.b.c.d is an IPv4 host; grouping it as IPv6 would let one host appear in two families.
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return ipv4Groups([v6[6]! >>> 8, v6[6]! & 0xff, v6[7]! >>> 8, v6[7]! & 0xff]);
  }
  const hex = v6.map((g) => g.toString(16));
  return [
    `6/32:${hex.slice(0, 2).join(":")}`,
    `6/48:${hex.slice(0, 3).join(":")}`,
    `6/64:${hex.slice(0, 4).join(":")}`,
  ];
}

function ipv4Groups(octets: readonly number[]): AddressGroups {
  const [a, b, c, d] = octets;
  return [`4/16:${a}.${b}`, `4/24:${a}.${b}.${c}`, `4/32:${a}.${b}.${c}.${d}`];
}

function parseIpv4(ip: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (m === null) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** Eight 16-bit groups, or undefined; accepts `::` compression and a trailing dotted IPv4 (RFC 4291 §2.2). */
function parseIpv6(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    // A trailing dotted quad is two groups written in decimal: rewrite it in hex and parse as usual.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const high = ((v4[0]! << 8) | v4[1]!).toString(16);
    const low = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part.length === 0) return [];
    const groups = part.split(":");
    if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1) return known === 8 ? head : undefined;
  if (known > 7) return undefined;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest];
}
