import { multiaddr } from "@multiformats/multiaddr";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_RECORD_ADDR_BYTES, MAX_RECORD_ADDRS } from "../membership/nodeRecord.ts";

/**
 * Which of its addresses a node tells others, and which of theirs it dials (docs/deploy.md).
 *
 * A node listening on a wildcard (`/ip4/0.0.0.0/tcp/4001`) listens on every interface, loopback included,
 * and libp2p lists each of them. Loopback and link-local addresses mean "this host" to whoever dials them: a
 * record that listed 127.0.0.1 first made every other host's node dial itself, and never reach the node.
 * So a node announces only addresses another host can reach, unless it has no other (a devnet on one
 * machine), and never dials a host-local address from another's record unless it is host-local itself — which
 * also keeps a stranger's record from pointing every node at services on its own loopback.
 */

/** An announced address leaves room in the record's per-address bound for the /p2p/<peer id> libp2p adds. */
const MAX_ANNOUNCE_BYTES = MAX_RECORD_ADDR_BYTES - 64;

/** Unspecified addresses: a listen wildcard, never a destination, not even on this host. */
const UNSPECIFIED = /^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//;

const HOST_LOCAL = [
  UNSPECIFIED,
  /^\/ip4\/127\./, // loopback
  /^\/ip4\/169\.254\./, // link-local
  /^\/ip6\/::1\//, // loopback
  /^\/ip6\/fe[89ab][0-9a-f]:/i, // link-local fe80::/10
];

export function isHostLocal(addr: string): boolean {
  return HOST_LOCAL.some((re) => re.test(addr));
}

/** What a node lists in its record and identify answers: reachable addresses, or host-local ones if that is all. */
export function announceable<T extends { toString(): string }>(addrs: readonly T[]): T[] {
  const reachable = addrs.filter((a) => !isHostLocal(a.toString()));
  const chosen = reachable.length > 0 ? reachable : addrs.filter((a) => !UNSPECIFIED.test(a.toString()));
  return chosen.slice(0, MAX_RECORD_ADDRS);
}

/**
 * The addresses to dial a peer at, from its record's list: those another host can reach, or — only for a
 * node whose own addresses are all host-local, as on a devnet — all of them.
 */
export function dialableAddrs(theirs: readonly string[], ours: readonly string[]): string[] {
  const hostLocalOnly = ours.length > 0 && ours.every(isHostLocal);
  return theirs.filter((a) => hostLocalOnly || !isHostLocal(a));
}

/**
 * True when no other host can dial this node although the network lives on other hosts: every address it
 * announces is host-local (it listens on loopback only, the default), while its bootstrap peers or members are
 * elsewhere. Such a node still dials out, so it seems to work, but nobody can reach it back.
 */
export function unreachableFromOthers(ours: readonly string[], peers: readonly string[]): boolean {
  return ours.length > 0 && ours.every(isHostLocal) && peers.some((a) => !isHostLocal(a));
}

/**
 * `--announce MULTIADDR…`: addresses to announce instead of the listening ones (a public address behind a
 * port forward, a DNS name). Each must parse, name no peer id (the node adds its own), and fit the record;
 * each is returned in canonical form, as records carry it.
 */
export function parseAnnounce(addrs: readonly string[]): string[] {
  if (addrs.length > MAX_RECORD_ADDRS)
    throw new TallyError(ErrorCode.InvalidField, `--announce: at most ${MAX_RECORD_ADDRS} addresses`);
  return addrs.map((addr) => {
    let parsed: ReturnType<typeof multiaddr>;
    try {
      parsed = multiaddr(addr);
    } catch {
      throw new TallyError(ErrorCode.InvalidField, `--announce ${addr}: not a multiaddr`);
    }
    if (parsed.toString().includes("/p2p/"))
      throw new TallyError(
        ErrorCode.InvalidField,
        `--announce ${addr}: leave out /p2p/…, the node adds its own`,
      );
    if (parsed.bytes.length > MAX_ANNOUNCE_BYTES)
      throw new TallyError(ErrorCode.InvalidField, `--announce ${addr}: over ${MAX_ANNOUNCE_BYTES} bytes`);
    return parsed.toString();
  });
}
