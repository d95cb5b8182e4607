import type { Logger } from "pino";
import type { TestingFaults } from "../api/testingRoutes.ts";
import type { P2PTransport } from "../p2p/transport.ts";

/** The testing-only fault controls (`--testing-faults`): partition the node from chosen peers, and heal it. */
export function transportFaults(transport: P2PTransport, log: Logger): TestingFaults {
  return {
    setBlockedPeers: (peers) => {
      transport.setBlockedPeers(peers);
      log.warn({ blocked: peers }, peers.length === 0 ? "testing: partition healed" : "testing: partitioned");
    },
  };
}
