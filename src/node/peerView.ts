import type { NodePeers } from "../api/nodeApi.ts";
import type { BroadcastSamples } from "../broadcast/types.ts";
import type { PeerId } from "../core/peerId.ts";
import type { Genesis } from "../genesis/genesis.ts";
import type { MembershipSetup } from "./membershipSetup.ts";

/**
 * `GET /v1/node/peers`: who this node knows (genesis members, or holders of valid records), who it is
 * connected to, and the distinct peers of each sample its broadcast draws from now.
 */
export function describePeers(
  genesis: Genesis,
  setup: MembershipSetup,
  connected: readonly PeerId[],
  samples: BroadcastSamples | undefined,
  startedAtMs: number,
): NodePeers {
  const members =
    setup.open?.members() ??
    genesis.members
      .filter((m) => m.peerId !== setup.self)
      .map((m) => ({ peerId: m.peerId, addrs: m.multiaddrs, since: startedAtMs }));
  const sorted = (peers: readonly PeerId[]) => [...peers].sort();
  const others = setup.membership.members.filter((m) => m !== setup.self);
  return {
    membership: setup.membership.kind,
    members: members.map((m) => ({
      peerId: m.peerId,
      addrs: [...m.addrs],
      since: new Date(m.since).toISOString(),
    })),
    connected: [...connected].sort(),
    // Bracha has no samples: it asks every other member at every step.
    samples: {
      gossip: sorted(samples?.gossip ?? others),
      echo: sorted(samples?.echo ?? others),
      ready: sorted(samples?.ready ?? others),
      delivery: sorted(samples?.delivery ?? others),
    },
  };
}
