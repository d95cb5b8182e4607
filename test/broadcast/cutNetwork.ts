/**
 * What the partition simulations share: 20 nodes with the parameters the calculator picks for 20 % Byzantine,
 * nodes n0 … n(minority−1) on one side of a cut, and a double spend whose halves go one to each side.
 */
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import type { Digest } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { digestOf, type SimNetwork, testPayload } from "./harness.ts";

export const CUT_NODES = 20;
const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes: CUT_NODES, byzantine: 0.2, epsilon: 1e-6 });
export const CUT_PARAMS = { G, E, Ehat, R, Rhat, D, Dhat };

/** The cut between the first `minority` nodes and the rest. */
export function cutAt(minority: number) {
  const inMinority = (id: PeerId) => Number(id.slice(1)) < minority;
  return { inMinority, across: (from: PeerId, to: PeerId) => inMinority(from) !== inMinority(to) };
}

/** Tells every node that each peer across the cut went down or came up, as the transport would. */
export function tellAcross(
  net: SimNetwork,
  across: (a: PeerId, b: PeerId) => boolean,
  type: "peerDown" | "peerUp",
) {
  for (const [i, id] of net.ids.entries()) {
    for (const peer of net.ids) if (across(id, peer)) net.event(i, { type, peer, nowMs: net.nowMs });
  }
}

/** What a double spend across a cut came to. */
export interface CutRun {
  /** Digest → nodes that delivered it, while the cut held and after it healed. */
  readonly whileCut: Map<Digest, number>;
  readonly afterHeal: Map<Digest, number>;
  readonly minorityHalf: Digest;
  /** Sample replacements the majority's nodes made while the cut held, past `replacedBefore`. */
  readonly majorityReplacements: number;
}

/**
 * Hands the minority one half of a double spend and the majority the other while the cut holds, lets them
 * settle, then heals the cut (`beforeHeal` first: records that come back, say) and lets them settle again.
 */
export function doubleSpendThenHeal(
  net: SimNetwork,
  cut: ReturnType<typeof cutAt>,
  options: { readonly replacedBefore?: number; readonly beforeHeal?: () => void } = {},
): CutRun {
  const a = testPayload("eve", 1, "A");
  const b = testPayload("eve", 1, "B");
  for (const [i, id] of net.ids.entries()) net.submit(i, cut.inMinority(id) ? a : b);
  settle(net);
  const whileCut = deliveredCounts(net);
  const replaced = majorityReplacements(net, cut.inMinority) - (options.replacedBefore ?? 0);
  options.beforeHeal?.();
  net.hold = undefined;
  net.release();
  tellAcross(net, cut.across, "peerUp");
  settle(net);
  return {
    whileCut,
    afterHeal: deliveredCounts(net),
    minorityHalf: digestOf(a),
    majorityReplacements: replaced,
  };
}

/** Ten rounds of delivering everything in flight and letting a second pass. */
function settle(net: SimNetwork): void {
  for (let round = 0; round < 10; round++) {
    net.run();
    net.advance(1_000);
  }
}

/** Digest → how many correct nodes delivered it. */
function deliveredCounts(net: SimNetwork): Map<Digest, number> {
  const counts = new Map<Digest, number>();
  for (const node of net.correct) {
    for (const digest of [...node.deliveries.values()].flat())
      counts.set(digest, (counts.get(digest) ?? 0) + 1);
  }
  return counts;
}

/** Sample replacements the majority's nodes made so far. */
export function majorityReplacements(net: SimNetwork, inMinority: (id: PeerId) => boolean): number {
  let total = 0;
  for (const node of net.correct) {
    if (!inMinority(node.id)) total += node.protocol.counters().samplesReplaced ?? 0;
  }
  return total;
}
