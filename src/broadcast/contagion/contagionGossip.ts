import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { poissonSample } from "../../sampling/poisson.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import { drawExcluding } from "./contagionSamples.ts";
import { SubscriberSet } from "./contagionSubscribers.ts";

/**
 * The gossip layer's neighbours (Algorithm 6): Poisson(G) distinct peers this node drew, plus every peer that
 * drew it (link reciprocation, line 22), so the correct nodes' links form an undirected Erdős–Rényi graph.
 * A payload is relayed once, to every neighbour but the one it came from.
 */
export class GossipNeighbours {
  /** This node's own draws: replaced when they go down. */
  private readonly drawn = new Set<PeerId>();
  /** Peers that subscribed: members only, once each; removed when they unsubscribe. */
  readonly reciprocal = new SubscriberSet();
  private cached: readonly PeerId[] | undefined;

  constructor(oracle: SamplingOracle, expected: number, random: RandomSource) {
    for (const peer of oracle.distinct(poissonSample(expected, random))) this.drawn.add(peer);
  }

  /** The peers to send GossipSubscribe to: this node's own draws. */
  drawnPeers(): PeerId[] {
    return [...this.drawn];
  }

  isDrawn(peer: PeerId): boolean {
    return this.drawn.has(peer);
  }

  get drawnCount(): number {
    return this.drawn.size;
  }

  /** Own draws and reciprocated links, without duplicates. */
  neighbours(): readonly PeerId[] {
    this.cached ??= [...new Set([...this.drawn, ...this.reciprocal.list()])];
    return this.cached;
  }

  isNeighbour(peer: PeerId): boolean {
    return this.drawn.has(peer) || this.reciprocal.has(peer);
  }

  addReciprocal(peer: PeerId): "added" | "present" {
    const result = this.reciprocal.add(peer);
    if (result === "added") this.cached = undefined;
    return result;
  }

  deleteReciprocal(peer: PeerId): void {
    if (this.reciprocal.delete(peer)) this.cached = undefined;
  }

  /** Draws the own neighbours afresh; returns who left and who joined them. */
  redrawAll(
    oracle: SamplingOracle,
    expected: number,
    random: RandomSource,
  ): { removed: PeerId[]; added: PeerId[] } {
    const before = new Set(this.drawn);
    this.drawn.clear();
    for (const peer of oracle.distinct(poissonSample(expected, random))) this.drawn.add(peer);
    this.cached = undefined;
    return {
      removed: [...before].filter((p) => !this.drawn.has(p)),
      added: [...this.drawn].filter((p) => !before.has(p)),
    };
  }

  /**
   * Replaces an own draw by a fresh distinct peer (neither a current draw nor the departing one). Returns the
   * new peer, or undefined if `peer` was not drawn or nobody is left to draw. Then a departing peer is
   * dropped all the same, while a refreshed one (`keepIfNone`) stays: with no other peer to draw, dropping it
   * would leave this node without the link (a 2-node network lost its only gossip neighbour that way).
   */
  replace(peer: PeerId, oracle: SamplingOracle, keepIfNone = false): PeerId | undefined {
    if (!this.drawn.has(peer)) return undefined;
    for (let attempt = 0; attempt < 64; attempt++) {
      const [candidate] = drawExcluding(oracle, 1, peer);
      if (candidate === undefined) break;
      if (this.drawn.has(candidate)) continue;
      this.drawn.delete(peer);
      this.drawn.add(candidate);
      this.cached = undefined;
      return candidate;
    }
    if (!keepIfNone) {
      this.drawn.delete(peer);
      this.cached = undefined;
    }
    return undefined;
  }
}
