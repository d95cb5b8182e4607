/**
 * Messages a node sends per broadcast, estimated from the parameters: the figure `tally params` and
 * docs/analysis.md compare between the contagion broadcast and Bracha at sizes no simulation reaches.
 *
 * Counted: protocol messages of one broadcast instance with a correct sender, everyone correct. Not counted:
 * the subscriptions that set up the samples (G + E + R + D per node, sent once and reused by every later
 * instance until the samples are refreshed, so amortised to ~0 over many broadcasts), payload pulls (only
 * after an equivocation), and batching (many messages share one frame on the wire).
 */

import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { chooseParams } from "./chooseParams.ts";
import { MAX_NODES, MIN_NODES } from "./population.ts";

export interface ContagionMessages {
  /** The payload relayed to the whole gossip set: its own ~G picks plus ~G nodes that picked it (§4.3.2). */
  readonly gossip: number;
  /** One ECHO to each echo subscriber: N nodes draw E entries each, so ~E land on any one node. */
  readonly echo: number;
  /** One READY to each ready and delivery subscriber: ~R + D. */
  readonly ready: number;
  readonly total: number;
}

export interface BrachaMessages {
  /** ECHO to every other member. */
  readonly echo: number;
  /** READY to every other member. */
  readonly ready: number;
  /** The introducer's SEND to every other member, averaged over the N nodes. */
  readonly send: number;
  readonly total: number;
}

export interface MessageEstimate {
  readonly contagion: ContagionMessages;
  readonly bracha: BrachaMessages;
}

export function contagionMessagesPerNode(params: ContagionParams): ContagionMessages {
  const gossip = 2 * params.G;
  const echo = params.E;
  const ready = params.R + params.D;
  return { gossip, echo, ready, total: gossip + echo + ready };
}

export function brachaMessagesPerNode(nodes: number): BrachaMessages {
  const others = nodes - 1;
  const send = others / nodes;
  return { echo: others, ready: others, send, total: 2 * others + send };
}

/** Mean messages sent per node per broadcast: contagion with these parameters vs Bracha on the same N. */
export function messagesPerNodePerBroadcast(params: ContagionParams, nodes: number): MessageEstimate {
  return { contagion: contagionMessagesPerNode(params), bracha: brachaMessagesPerNode(nodes) };
}

export interface Crossover {
  /** The smallest N at which contagion, with the parameters `chooseParams` picks for N, sends fewer messages. */
  readonly nodes: number;
  readonly contagion: number;
  readonly bracha: number;
}

/** Sizes after a crossing that must stay cheaper too: ⌊f·N⌋ makes the cost jitter by ~1% between neighbours. */
const CROSSOVER_CONFIRM_NODES = 20;

/**
 * The network size from which on the contagion broadcast is cheaper than Bracha per node per broadcast.
 * Bracha's cost grows as 2N, contagion's as log N, so they cross once, up to the jitter of B = ⌊f·N⌋: a
 * bisection finds a crossing, then the next sizes must confirm it.
 */
export function contagionCrossover(byzantine: number, epsilon: number): Crossover {
  const at = (nodes: number) => {
    const contagion = contagionMessagesPerNode(chooseParams({ nodes, byzantine, epsilon })).total;
    return { nodes, contagion, bracha: brachaMessagesPerNode(nodes).total };
  };
  const cheaper = (point: Crossover) => point.contagion < point.bracha;
  let lo = MIN_NODES;
  let hi = MIN_NODES;
  while (!cheaper(at(hi))) {
    if (hi >= MAX_NODES) return at(MAX_NODES);
    lo = hi + 1;
    hi = Math.min(MAX_NODES, hi * 2);
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (cheaper(at(mid))) hi = mid;
    else lo = mid + 1;
  }
  for (let n = hi + 1; n <= Math.min(MAX_NODES, hi + CROSSOVER_CONFIRM_NODES); n++) {
    if (!cheaper(at(n))) {
      // A dearer size after the crossing: the real crossing is later; restart the confirmation past it.
      hi = n + 1;
      while (!cheaper(at(hi))) hi++;
      n = hi;
    }
  }
  return at(hi);
}
