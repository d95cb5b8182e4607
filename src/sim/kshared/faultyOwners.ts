/**
 * The faulty owner of a bad account: it runs a real committee (so it keeps the protocol's timing) and
 * rewrites what that committee sends, signing whatever it likes with its own key.
 */

import { requestSigningBytes, voteSigningBytes } from "../../kshared/certificate.ts";
import type { CommitteeAction, OwnerIndex, SignedRequest } from "../../kshared/committeeTypes.ts";
import { EquivocatingOwner } from "../../kshared/equivocatingOwner.ts";
import { requestDigest } from "../../kshared/requestDigest.ts";
import type { KsharedFault } from "./ksharedSimSpec.ts";

export interface FaultyOwnerContext {
  readonly account: Uint8Array;
  readonly self: OwnerIndex;
  readonly k: number;
  readonly sign: (message: Uint8Array) => Uint8Array;
  /** Messages sent per message the committee asked for (flood only). */
  readonly floodFactor: number;
}

/** What the faulty owners did, so a run can show each fault actually happened. */
export interface FaultCounters {
  /** Proposals sent in two versions (equivocate). */
  equivocatedProposals: number;
  /** Prepares signed for a second digest (equivocate). */
  equivocatedVotes: number;
  /** Messages the committee asked for that were never sent (silent). */
  suppressedMessages: number;
  /** Extra messages sent (flood), counted per recipient. */
  floodMessages: number;
}

export function newFaultCounters(): FaultCounters {
  return { equivocatedProposals: 0, equivocatedVotes: 0, suppressedMessages: 0, floodMessages: 0 };
}

export type FaultyOwner = (actions: readonly CommitteeAction[]) => CommitteeAction[];

/** Junk requests kept per flooder: signed once each, then cycled. */
const FLOOD_POOL = 256;

export function faultyOwner(
  fault: KsharedFault,
  ctx: FaultyOwnerContext,
  counters: FaultCounters,
): FaultyOwner {
  switch (fault) {
    case "silent":
      return (actions) => {
        for (const a of actions) if (a.type === "send") counters.suppressedMessages += recipients(a.to, ctx);
        return actions.filter((a) => a.type !== "send");
      };
    case "equivocate":
      return equivocator(ctx, counters);
    case "flood":
      return flooder(ctx, counters);
  }
}

function recipients(to: readonly OwnerIndex[] | "all", ctx: FaultyOwnerContext): number {
  return to === "all" ? ctx.k - 1 : to.length;
}

function signedRequest(ctx: FaultyOwnerContext, tag: string): SignedRequest {
  const proposal = new TextEncoder().encode(tag);
  const digest = requestDigest(ctx.self, proposal);
  const signature = ctx.sign(requestSigningBytes(ctx.account, digest));
  return { owner: ctx.self, proposal, digest, signature };
}

/** The shared equivocating owner (kshared/equivocatingOwner.ts), its twins junk requests of its own. */
function equivocator(ctx: FaultyOwnerContext, counters: FaultCounters): FaultyOwner {
  let forged = 0;
  const owner = new EquivocatingOwner({
    twinOf: () => signedRequest(ctx, `conflicting #${forged++}`),
    signVote: (v, digest) => ctx.sign(voteSigningBytes(ctx.account, v.phase, v.seq, v.round, digest)),
  });
  const others = Array.from({ length: ctx.k }, (_, i) => i).filter((i) => i !== ctx.self);
  return (actions) => {
    const out = owner.rewriteActions(actions, others);
    counters.equivocatedProposals = owner.counts.proposals;
    counters.equivocatedVotes = owner.counts.votes;
    return out;
  };
}

/** Each send goes out with floodFactor − 1 junk requests to the same recipients. */
function flooder(ctx: FaultyOwnerContext, counters: FaultCounters): FaultyOwner {
  const pool: SignedRequest[] = [];
  let next = 0;
  const junk = (): SignedRequest => {
    const i = next++ % FLOOD_POOL;
    if (pool[i] === undefined) pool[i] = signedRequest(ctx, `flood #${i} from owner ${ctx.self}`);
    return pool[i]!;
  };
  return (actions) => {
    const out: CommitteeAction[] = [];
    for (const action of actions) {
      out.push(action);
      if (action.type !== "send") continue;
      for (let c = 1; c < ctx.floodFactor; c++) {
        out.push({ type: "send", to: action.to, message: { kind: "request", request: junk() } });
        counters.floodMessages += recipients(action.to, ctx);
      }
    }
    return out;
  };
}
