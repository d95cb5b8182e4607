import { BlockList, isIPv4, isIPv6 } from "node:net";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { ErrorCode, TallyError } from "../core/errors.ts";

/**
 * Open inbound connections per remote IP (sans-I/O bookkeeping). The map holds only IPs with an open inbound
 * connection, so it is bounded by the connection limits. Addresses in the allow list are not counted at all.
 *
 * IPv6 is counted per address, not per /64: a host with a /64 can still open many connections; the global
 * `maxConnections` and `maxIncomingPendingConnections` bound that case.
 */
export class InboundIpLimit {
  private readonly maxPerIp: number;
  private readonly allow = new BlockList();
  private readonly open = new Map<string, number>();

  /** `allowList`: CIDR multiaddrs such as `/ip4/127.0.0.0/ipcidr/8`, or plain `/ip4/…` addresses. */
  constructor(maxPerIp: number, allowList: readonly string[]) {
    this.maxPerIp = maxPerIp;
    for (const entry of allowList) addToBlockList(this.allow, entry);
  }

  isExempt(ip: string): boolean {
    return this.allow.check(ip, isIPv6(ip) ? "ipv6" : "ipv4");
  }

  /** Count one more connection from `ip`; false (nothing counted) when it already has `maxPerIp`. */
  tryAcquire(ip: string): boolean {
    const n = this.open.get(ip) ?? 0;
    if (n >= this.maxPerIp) return false;
    this.open.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.open.get(ip) ?? 0;
    if (n <= 1) this.open.delete(ip);
    else this.open.set(ip, n - 1);
  }

  /** Open counted connections from `ip`. */
  count(ip: string): number {
    return this.open.get(ip) ?? 0;
  }
}

/** The IP of a TCP multiaddr (`/ip4/1.2.3.4/tcp/5`), or undefined for addresses without one. */
export function ipOf(addr: Multiaddr): string | undefined {
  const ip = addr.getComponents().find((c) => c.name === "ip4" || c.name === "ip6")?.value;
  return ip !== undefined && (isIPv4(ip) || isIPv6(ip)) ? ip : undefined;
}

function addToBlockList(list: BlockList, entry: string): void {
  let ip: string | undefined;
  let prefix: string | undefined;
  try {
    const components = multiaddr(entry).getComponents();
    ip = components.find((c) => c.name === "ip4" || c.name === "ip6")?.value;
    prefix = components.find((c) => c.name === "ipcidr")?.value;
  } catch {
    ip = undefined;
  }
  if (ip === undefined || !(isIPv4(ip) || isIPv6(ip))) {
    throw new TallyError(ErrorCode.InvalidOption, `allow list entry is not an IP multiaddr: ${entry}`, {
      entry,
    });
  }
  const family = isIPv6(ip) ? "ipv6" : "ipv4";
  if (prefix === undefined) list.addAddress(ip, family);
  else list.addSubnet(ip, Number(prefix), family);
}
