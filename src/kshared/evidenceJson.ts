/**
 * The JSON view of the equivocation proofs a hosted committee holds against its co-owners
 * (`GET /v1/shared/:address/evidence`). A vote or timeout proof is two statements one owner signed for the same
 * (seq, round[, phase]) that contradict each other: anyone holding the account's definition can check both
 * signatures (`voteSigningBytes`, `timeoutSigningBytes` in certificate.ts) and needs no trust in this node. A
 * proposal proof is weaker: the leader's two proposals for one round reached this node over the leader's
 * authenticated channel, but a proposal carries only its requesters' signatures, so it convinces this node
 * and no one else.
 */

import { toHex } from "../core/bytes.ts";
import type { Equivocation } from "./committeeTypes.ts";

/** Two statements of one owner for the same slot, in the order this node received them. */
export type EquivocationJson =
  | {
      kind: "vote";
      /** The equivocating owner's index and public key. */
      owner: number;
      ownerKey: string;
      phase: "prepare" | "commit";
      seq: number;
      round: number;
      /** The two digests the owner voted for, and its signature over each vote. */
      digests: [string, string];
      signatures: [string, string];
    }
  | {
      kind: "timeout";
      owner: number;
      ownerKey: string;
      seq: number;
      round: number;
      /** The highest prepare round each timeout named (null: none). */
      highPrepareRounds: [number | null, number | null];
      signatures: [string, string];
    }
  | {
      kind: "proposal";
      /** The leader of (seq, round), who proposed both. */
      owner: number;
      ownerKey: string;
      seq: number;
      round: number;
      /** Each proposal's digest, the owner whose request it was, and that requester's signature. */
      digests: [string, string];
      requesters: [number, number];
      signatures: [string, string];
    };

export function equivocationToJson(proof: Equivocation, owners: readonly Uint8Array[]): EquivocationJson {
  switch (proof.kind) {
    case "vote": {
      const { first, second } = proof;
      return {
        kind: "vote",
        ...ownerOf(first.voter, owners),
        phase: first.phase,
        seq: first.seq,
        round: first.round,
        digests: [toHex(first.digest), toHex(second.digest)],
        signatures: [toHex(first.signature), toHex(second.signature)],
      };
    }
    case "timeout": {
      const { first, second } = proof;
      return {
        kind: "timeout",
        ...ownerOf(first.voter, owners),
        seq: first.seq,
        round: first.round,
        highPrepareRounds: [first.highPrepareRound, second.highPrepareRound],
        signatures: [toHex(first.signature), toHex(second.signature)],
      };
    }
    case "proposal": {
      const { first, second } = proof;
      return {
        kind: "proposal",
        ...ownerOf(proof.leader, owners),
        seq: proof.seq,
        round: proof.round,
        digests: [toHex(first.digest), toHex(second.digest)],
        requesters: [first.owner, second.owner],
        signatures: [toHex(first.signature), toHex(second.signature)],
      };
    }
  }
}

function ownerOf(owner: number, owners: readonly Uint8Array[]): { owner: number; ownerKey: string } {
  const key = owners[owner];
  // A proof is only ever made from messages that passed the owner-index checks.
  if (key === undefined) throw new RangeError(`owner ${owner} is not one of the ${owners.length} owners`);
  return { owner, ownerKey: toHex(key) };
}
