/**
 * Byzantine owners for the committee tests. Each runs a real committee (so it follows the protocol's
 * timing) and rewrites what that committee sends, signing whatever it likes with its own key.
 */

import { requestSigningBytes, voteSigningBytes } from "../../src/kshared/certificate.ts";
import type {
  CommitteeAction,
  CommitteeMessage,
  OwnerIndex,
  SignedRequest,
  Vote,
} from "../../src/kshared/committeeTypes.ts";
import { EquivocatingOwner } from "../../src/kshared/equivocatingOwner.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { ACCOUNT, type Adversary, type Network, proposalBytes } from "./committeeHarness.ts";

let altCounter = 0;

/** A fresh request signed by `owner`: what a Byzantine leader proposes instead of the fair one. */
export function forgedRequest(net: Network, owner: OwnerIndex): SignedRequest {
  const proposal = proposalBytes(owner, altCounter++, "conflicting");
  const digest = requestDigest(owner, proposal);
  const signature = net.keys[owner]!.sign(requestSigningBytes(ACCOUNT, digest));
  return { owner, proposal, digest, signature };
}

export function signedVote(net: Network, like: Vote, digest: Uint8Array): Vote {
  const message = voteSigningBytes(ACCOUNT, like.phase, like.seq, like.round, digest);
  return { ...like, digest, signature: net.keys[like.voter]!.sign(message) };
}

function send(to: readonly OwnerIndex[], message: CommitteeMessage): CommitteeAction {
  return { type: "send", to, message };
}

/**
 * Before `silentFromMs`: the node's equivocating owner (src/kshared/equivocatingOwner.ts) with `firstGroup`
 * as its first group and fresh requests of its own as twins. From `silentFromMs` on it sends nothing at all.
 */
export function equivocatingThenSilent(firstGroup: readonly OwnerIndex[], silentFromMs: number): Adversary {
  let owner: EquivocatingOwner | undefined;
  return (actions, net, self) => {
    if (net.nowMs >= silentFromMs) return actions.filter((a) => a.type !== "send");
    owner ??= new EquivocatingOwner({
      firstGroup,
      twinOf: () => forgedRequest(net, self),
      signVote: (vote, digest) => signedVote(net, vote, digest).signature,
    });
    return owner.rewriteActions(
      actions,
      net.keys.map((_, i) => i).filter((i) => i !== self),
    );
  };
}

/**
 * Colluding owners that split the correct owners into two groups and tell each group a different story:
 * a colluding leader proposes its committee's request to `groups[0]` and a fresh conflicting request to
 * `groups[1]`; every colluder's Prepare and Commit for such a round goes to each group for that group's
 * digest. Call once and give the same adversary to every colluder (they share what they proposed).
 */
export function splittingColluders(
  groups: readonly [readonly OwnerIndex[], readonly OwnerIndex[]],
): Adversary {
  const stories = new Map<string, readonly [Uint8Array, Uint8Array]>();
  return (actions, net, self) => {
    const colluders = net.keys.map((_, i) => i).filter((i) => i !== self && net.isByzantine(i));
    const out: CommitteeAction[] = [];
    for (const action of actions) {
      if (action.type !== "send") {
        out.push(action);
        continue;
      }
      const m = action.message;
      if (m.kind === "propose") {
        const alt = { ...m, request: forgedRequest(net, self) };
        stories.set(`${m.seq}/${m.round}`, [m.request.digest, alt.request.digest]);
        out.push(send(colluders, m), send(groups[0], m), send(groups[1], alt));
        continue;
      }
      const story = m.kind === "vote" ? stories.get(`${m.vote.seq}/${m.vote.round}`) : undefined;
      if (m.kind === "vote" && story !== undefined) {
        out.push(send(colluders, m));
        out.push(send(groups[0], { kind: "vote", vote: signedVote(net, m.vote, story[0]) }));
        out.push(send(groups[1], { kind: "vote", vote: signedVote(net, m.vote, story[1]) }));
        continue;
      }
      out.push(action);
    }
    return out;
  };
}
