import { peerIdFromString } from "@libp2p/peer-id";
import { BoundedCache } from "./boundedCache.ts";

/** A node's libp2p peer id, exactly as libp2p spells it ("12D3KooW…"); the name every protocol uses for a peer. */
export type PeerId = string;

/**
 * Spellings kept by `canonicalPeerId`: far more than the peers a node meets in an hour (its members, its view,
 * its connections). Past it the oldest goes; a flood of made-up ids only evicts, and an evicted peer's next
 * spelling is flat all the same.
 */
export const PEER_ID_SPELLINGS = 4_096;
const spellings = new BoundedCache<string, PeerId>(PEER_ID_SPELLINGS);

/**
 * One flat string object per peer id. libp2p spells an id as a slice of its multibase form (`"z…".slice(1)`),
 * and V8 keeps such a slice as a view into the longer string: every comparison of it with a map's key (votes
 * are counted in tables keyed by peer) then reads it character by character through the view, ≈ 0.5 % of a
 * loaded node's main thread. The transport, the membership records, the genesis and the node's own id go
 * through here, so the tables' keys and the ids on arriving messages are the same flat object.
 */
export function canonicalPeerId(spelled: string): PeerId {
  const known = spellings.get(spelled);
  if (known !== undefined) return known;
  // A copy of the characters: a sequential string, not a view (peer ids are ASCII).
  const flat = Buffer.from(spelled, "latin1").toString("latin1");
  spellings.set(flat, flat);
  return flat;
}

/**
 * The raw Ed25519 public key a peer id names (identity multihash), and whether `spelled` is the id's one
 * canonical spelling; undefined when it is no peer id or not an Ed25519 identity. Callers raise their own error.
 */
export function ed25519KeyOfPeerId(spelled: string): { key: Uint8Array; canonical: boolean } | undefined {
  try {
    const id = peerIdFromString(spelled);
    const key = id.publicKey;
    return key?.type === "Ed25519" ? { key: key.raw, canonical: id.toString() === spelled } : undefined;
  } catch {
    return undefined;
  }
}

/** How many spellings `canonicalPeerId` holds now (at most `PEER_ID_SPELLINGS`). */
export function peerIdSpellingsHeld(): number {
  return spellings.size;
}
