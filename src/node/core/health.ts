import type { NodeHealth } from "../../api/nodeApi.ts";

export interface HealthFacts {
  /** The shell's life-cycle state. */
  readonly state: "new" | "starting" | "running" | "stopping" | "stopped";
  /** The connected members can meet every threshold of this node's own broadcasts. */
  readonly quorumsReachable: boolean;
  /** Members whose messages the channel layer dropped (queue, rate or global cap) in the recent window. */
  readonly shedMembers: number;
  readonly members: number;
}

/**
 * What `GET /v1/health` says. One flooding member loses its own excess and the node stays ready; more members
 * shed than the network tolerates faulty (⌊(n−1)/3⌋) means this node cannot keep up with correct ones.
 */
export function judgeHealth(facts: HealthFacts): NodeHealth {
  if (facts.state !== "running") return { status: "starting", reason: `node is ${facts.state}` };
  if (!facts.quorumsReachable)
    return { status: "isolated", reason: "too few members connected to reach the broadcast's thresholds" };
  const tolerated = Math.floor((facts.members - 1) / 3);
  if (facts.shedMembers > tolerated) {
    return {
      status: "shedding",
      reason: `dropping messages of ${facts.shedMembers} members (tolerated: ${tolerated})`,
    };
  }
  return { status: "ready" };
}
