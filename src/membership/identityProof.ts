import { peerIdFromString } from "@libp2p/peer-id";
import sodium from "sodium-native";
import { fromHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import { MAX_IDENTITY_DIFFICULTY } from "../genesis/membershipMode.ts";

/**
 * Identity proof of work: a nonce such that
 *   sha256("tally/identity/v1" ‖ genesis hash (32 bytes) ‖ peer id (multihash bytes) ‖ nonce (8 bytes))
 * starts with `difficulty` zero bits. It makes each new identity cost ~2^difficulty hashes, a rate limit on
 * minting Sybil identities; the genesis hash in the input means work done for one network is worthless on
 * another. The cost model is in docs/membership.md ("Identity cost").
 */
export const IDENTITY_NONCE_BYTES = 8;
const DOMAIN = new TextEncoder().encode("tally/identity/v1");
const GENESIS_HASH_BYTES = 32;
const SHA256_BYTES = 32;

function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_IDENTITY_DIFFICULTY) {
    throw new TallyError(
      ErrorCode.InvalidConfig,
      `identity difficulty must be an integer in 0..${MAX_IDENTITY_DIFFICULTY}`,
      { difficulty },
    );
  }
}

/** The hash input with room for the nonce at the end; `undefined` for a string that is not a peer id. */
function proofInput(peerId: PeerId, genesisHash: string): Buffer | undefined {
  let peerBytes: Uint8Array;
  try {
    peerBytes = peerIdFromString(peerId).toMultihash().bytes;
  } catch {
    return undefined;
  }
  const genesis = fromHex(genesisHash, GENESIS_HASH_BYTES, "genesisHash");
  const input = Buffer.alloc(DOMAIN.length + GENESIS_HASH_BYTES + peerBytes.length + IDENTITY_NONCE_BYTES);
  input.set(DOMAIN, 0);
  input.set(genesis, DOMAIN.length);
  input.set(peerBytes, DOMAIN.length + GENESIS_HASH_BYTES);
  return input;
}

function hasLeadingZeroBits(hash: Uint8Array, bits: number): boolean {
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (hash[i] !== 0) return false;
  const rest = bits & 7;
  return rest === 0 || (hash[whole] as number) >>> (8 - rest) === 0;
}

/**
 * Searches nonces 0, 1, 2, … (big-endian u64) for a proof: deterministic, so the core needs no randomness;
 * expected 2^difficulty hashes at ~0.4 µs each with libsodium's SHA-256. Throws InvalidConfig for a difficulty
 * outside 0..32 and InvalidPeer for a string that is not a peer id.
 */
export function mintIdentityProof(peerId: PeerId, genesisHash: string, difficulty: number): Uint8Array {
  checkDifficulty(difficulty);
  const input = proofInput(peerId, genesisHash);
  if (input === undefined) throw new TallyError(ErrorCode.InvalidPeer, `not a peer id: ${peerId}`);
  const at = input.length - IDENTITY_NONCE_BYTES;
  const hash = Buffer.alloc(SHA256_BYTES);
  // The high word only moves after 2^32 tries, far past difficulty 32's expected 2^32 hashes.
  for (let high = 0; high <= 0xffffffff; high++) {
    input.writeUInt32BE(high, at);
    for (let low = 0; low <= 0xffffffff; low++) {
      input.writeUInt32BE(low, at + 4);
      sodium.crypto_hash_sha256(hash, input);
      if (hasLeadingZeroBits(hash, difficulty)) return new Uint8Array(input.subarray(at));
    }
  }
  throw new TallyError(ErrorCode.InvalidConfig, "identity proof: nonce space exhausted");
}

/** One hash: true when `nonce` proves `difficulty` bits of work for this peer on this network. */
export function checkIdentityProof(
  peerId: PeerId,
  genesisHash: string,
  nonce: Uint8Array,
  difficulty: number,
): boolean {
  checkDifficulty(difficulty);
  if (nonce.length !== IDENTITY_NONCE_BYTES) return false;
  const input = proofInput(peerId, genesisHash);
  if (input === undefined) return false;
  input.set(nonce, input.length - IDENTITY_NONCE_BYTES);
  const hash = Buffer.alloc(SHA256_BYTES);
  sodium.crypto_hash_sha256(hash, input);
  return hasLeadingZeroBits(hash, difficulty);
}
