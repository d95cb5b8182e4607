import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

/**
 * A lab of separate hosts on one machine, for tests of what crosses a real network: one network namespace per
 * host, each with its own IPv4 address on a /24 and IPv6 address on a /64, joined by a bridge in a namespace
 * of the lab's own, plus one link from the test's namespace so the test can reach every host. Nothing else on
 * the machine is touched: every name carries the lab's random id, and `destroy` removes the namespaces, which
 * removes their links.
 * Needs root (CAP_NET_ADMIN) and iproute2's `ip`.
 */

const run = promisify(execFile);

export interface LabHost {
  /** The namespace: run a process there with `ip netns exec NAME …`. */
  readonly ns: string;
  readonly ip: string;
  /** Its IPv6 address (a unique local one, fd54:a<lab id>::<n>/64). */
  readonly ip6: string;
  /** The host's interface on the lab's network (for adding addresses). */
  readonly dev: string;
}

export interface NetLab {
  readonly hosts: readonly LabHost[];
  /** The /24's first three octets, e.g. "10.213.7". */
  readonly prefix: string;
  /** Argv prefix that runs a command on `host`. */
  on(host: LabHost, argv: readonly string[]): string[];
  destroy(): Promise<void>;
}

/** Why a lab cannot be made here, or undefined when it can. */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root to create network namespaces";
  try {
    await run("ip", ["netns", "list"]);
  } catch {
    return "needs iproute2's ip";
  }
  return undefined;
}

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}

/** A /24 under 10.213.0.0/16 that no route of the test's namespace already covers. */
async function freePrefix(): Promise<string> {
  const { stdout } = await run("ip", ["-4", "route", "show"]);
  for (;;) {
    const prefix = `10.213.${1 + (randomBytes(1)[0]! % 254)}`;
    if (!stdout.includes(`${prefix}.`)) return prefix;
  }
}

export async function createLab(hostCount: number): Promise<NetLab> {
  const id = randomBytes(2).toString("hex");
  const prefix = await freePrefix();
  const switchNs = `tally-${id}-sw`;
  // A /64 of its own, its group spelled as the canonical form spells it (no leading zero).
  const v6 = `fd54:a${id.slice(1)}:`;
  const hosts: LabHost[] = [];
  const namespaces = [switchNs];
  const destroy = async () => {
    for (const ns of namespaces) await ip("netns", "del", ns).catch(() => {});
  };
  try {
    await ip("netns", "add", switchNs);
    await ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
    await ip("-n", switchNs, "link", "set", "br0", "up");
    for (let i = 1; i <= hostCount; i++) {
      const ns = `tally-${id}-h${i}`;
      await ip("netns", "add", ns);
      namespaces.push(ns);
      // Made in the switch's namespace, then one end moved to the host: no interface of the test's namespace.
      const [hostEnd, switchEnd] = [`t${id}h${i}`, `t${id}s${i}`];
      await ip("-n", switchNs, "link", "add", hostEnd, "type", "veth", "peer", "name", switchEnd);
      await ip("-n", switchNs, "link", "set", hostEnd, "netns", ns);
      await ip("-n", switchNs, "link", "set", switchEnd, "master", "br0", "up");
      await ip("-n", ns, "addr", "add", `${prefix}.${i}/24`, "dev", hostEnd);
      // nodad: usable at once, not after duplicate address detection's second or so.
      await ip("-n", ns, "addr", "add", `${v6}:${i}/64`, "dev", hostEnd, "nodad");
      await ip("-n", ns, "link", "set", hostEnd, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
      hosts.push({ ns, ip: `${prefix}.${i}`, ip6: `${v6}:${i}`, dev: hostEnd });
    }
    // The test's own way in: the one interface in its namespace, gone with the switch's namespace.
    const [mine, switchEnd] = [`t${id}r0`, `t${id}s0`];
    await ip("-n", switchNs, "link", "add", mine, "type", "veth", "peer", "name", switchEnd);
    await ip("-n", switchNs, "link", "set", mine, "netns", String(process.pid));
    await ip("-n", switchNs, "link", "set", switchEnd, "master", "br0", "up");
    await ip("addr", "add", `${prefix}.254/24`, "dev", mine);
    await ip("addr", "add", `${v6}:fe/64`, "dev", mine, "nodad");
    await ip("link", "set", mine, "up");
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    hosts,
    prefix,
    on: (host, argv) => ["ip", "netns", "exec", host.ns, ...argv],
    destroy,
  };
}
