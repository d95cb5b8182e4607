import { sha256 } from "@noble/hashes/sha2.js";
import type { PeerId } from "../core/peerId.ts";
import { addressGroups } from "./rankAddress.ts";

const UTF8 = new TextEncoder();

/** A peer offered to the sampler, with the address its (verified) node record gives, if any. */
export interface Candidate {
  readonly peerId: PeerId;
  readonly ip?: string;
}

/**
 * A candidate with its four rank inputs digested once: the /16, /24 and full-address groups (IPv6: /32, /48,
 * /64) and the peer id, each as 64 bits (two 32-bit words) of SHA-256 over a level tag and the text. The
 * digests are unkeyed and public — every secret lives in the slot seeds — so one node may share them across
 * its samplers (the simulator shares them across 10,000 nodes). 64 bits per level: to make a chosen identity
 * collide with a given one's digest, an adversary needs ~2⁶⁴ hashes.
 */
export class RankedCandidate implements Candidate {
  readonly peerId: PeerId;
  readonly ip?: string;
  /** Words of levels 0–3: [/16 hi, /16 lo, /24 hi, /24 lo, address hi, address lo, id hi, id lo]. */
  readonly words: Uint32Array;

  constructor(candidate: Candidate) {
    this.peerId = candidate.peerId;
    if (candidate.ip !== undefined) this.ip = candidate.ip;
    const [g16, g24, address] = addressGroups(candidate.ip);
    this.words = new Uint32Array(8);
    [`a16|${g16}`, `a24|${g24}`, `a32|${address}`, `id|${candidate.peerId}`].forEach((text, level) => {
      const digest = sha256(UTF8.encode(text));
      const view = new DataView(digest.buffer, digest.byteOffset, 8);
      this.words[2 * level] = view.getUint32(0);
      this.words[2 * level + 1] = view.getUint32(4);
    });
  }
}

/** Turns offered candidates into ranked ones; implementations bound what they cache. */
export interface CandidateDigests {
  ranked(candidate: Candidate): RankedCandidate;
}

/**
 * A bounded cache of ranked candidates keyed by (peer id, address): an offer of the same peers again (the
 * common case — views overlap) costs a map lookup, not four SHA-256. When full, the oldest entry goes;
 * the slots keep their occupants' digests alive on their own.
 */
export class BoundedCandidateDigests implements CandidateDigests {
  private readonly limit: number;
  private readonly cache = new Map<string, RankedCandidate>();

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  ranked(candidate: Candidate): RankedCandidate {
    if (candidate instanceof RankedCandidate) return candidate;
    const key = `${candidate.peerId}@${candidate.ip ?? ""}`;
    let ranked = this.cache.get(key);
    if (ranked === undefined) {
      ranked = new RankedCandidate(candidate);
      if (this.cache.size >= this.limit) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, ranked);
    }
    return ranked;
  }
}

/**
 * rank_s(level input) = HalfSipHash-1-3 keyed by the slot's 64-bit seed over the level's two digest words,
 * 32-bit output (Aumasson & Bernstein's 32-bit SipHash variant, the one Linux uses as `hsiphash` for
 * hash-table keys an attacker chooses but whose key it does not know).
 *
 * Why a keyed mix this light is acceptable: a slot's seed never leaves the node, and the adversary's only
 * window on it is which of its identities ends up in a slot — visible, since views are pulled — one
 * comparison bit per observation, and a slot gets a fresh seed every v/k rounds. Recovering a 64-bit key
 * from a few hundred comparison bits is what a PRF such as HalfSipHash is built to resist; a plain
 * multiply-xorshift mix (no key schedule, linear in the key) would not be, and would let an adversary that
 * learned a seed grind identities with a low rank for that slot. It is not a cryptographic MAC (64-bit key,
 * 32-bit output per level); an adversary able to do 2⁶⁴ work is out of scope. Ties at one level fall to the
 * next; at the id level a tie means the same peer (or a 2⁻³² accident, then broken by the id's digest).
 */
export function rankWord(key0: number, key1: number, word0: number, word1: number): number {
  let v0 = key0 | 0;
  let v1 = key1 | 0;
  let v2 = (0x6c796765 ^ key0) | 0;
  let v3 = (0x74656462 ^ key1) | 0;
  let m = 0;
  // Rounds 0–2 absorb the two message words and the length block (c = 1 each); rounds 3–5 finalize (d = 3).
  // One loop rather than helpers: this is the simulator's innermost loop, and it runs twice as fast inlined.
  for (let round = 0; round < 6; round++) {
    if (round < 3) {
      m = round === 0 ? word0 | 0 : round === 1 ? word1 | 0 : 8 << 24;
      v3 ^= m;
    } else if (round === 3) v2 ^= 0xff;
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    if (round < 3) v0 ^= m;
  }
  return (v1 ^ v3) >>> 0;
}
