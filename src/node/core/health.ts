import type { NodeHealth } from "../../api/nodeApi.ts";

export interface HealthFacts {
  /** The shell's life-cycle state. */
  readonly state: "new" | "starting" | "running" | "stopping" | "stopped";
  /** The connected members can meet every threshold of this node's own broadcasts. */
  readonly quorumsReachable: boolean;
  /** Members whose messages the channel layer dropped (queue, rate or global cap) in the recent window. */
  readonly shedMembers: number;
  readonly members: number;
  /** Resolved transfers this node lacks by its peers' summaries (catch-up's `behind`). */
  readonly behind?: number;
}

/**
 * "Far behind": more resolved transfers missing than this. Peers' summaries are older than ours (asked every
 * 3 s), so a node that keeps up shows 0; a node that missed a burst of 100 transfers is seconds of catch-up
 * away from answering reads the way its peers do, and a load balancer should send clients elsewhere meanwhile.
 */
export const FAR_BEHIND_TRANSFERS = 100;

/**
 * What `GET /v1/health` says. One flooding member loses its own excess and the node stays ready; more members
 * shed than the network tolerates faulty (⌊(n−1)/3⌋) means this node cannot keep up with correct ones.
 */
export function judgeHealth(facts: HealthFacts): NodeHealth {
  if (facts.state !== "running") return { status: "starting", reason: `node is ${facts.state}` };
  if (!facts.quorumsReachable)
    return {
      status: "isolated",
      reason:
        "too few members connected, or a membership view still filling, to reach the broadcast's thresholds",
    };
  const tolerated = Math.floor((facts.members - 1) / 3);
  if (facts.shedMembers > tolerated) {
    return {
      status: "shedding",
      reason: `dropping messages of ${facts.shedMembers} members (tolerated: ${tolerated})`,
    };
  }
  if ((facts.behind ?? 0) > FAR_BEHIND_TRANSFERS) {
    return { status: "behind", reason: `catching up: ${facts.behind} resolved transfers behind its peers` };
  }
  return { status: "ready" };
}
