import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { checkIdentityProof, mintIdentityProof } from "../../src/membership/identityProof.ts";

async function peer(seed: number): Promise<string> {
  const key = await generateKeyPairFromSeed("Ed25519", new Uint8Array(32).fill(seed));
  return peerIdFromPrivateKey(key).toString();
}

function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

const GENESIS = "11".repeat(32);
const OTHER_GENESIS = "22".repeat(32);

describe("identity proof of work", () => {
  it("mints a nonce whose hash has the required leading zero bits, as the documented input spells it", async () => {
    const id = await peer(1);
    const nonce = mintIdentityProof(id, GENESIS, 12);
    assert.equal(nonce.length, 8);
    assert.equal(checkIdentityProof(id, GENESIS, nonce, 12), true);
    const hash = createHash("sha256")
      .update("tally/identity/v1")
      .update(Buffer.from(GENESIS, "hex"))
      .update(peerIdFromString(id).toMultihash().bytes)
      .update(nonce)
      .digest();
    assert.ok(leadingZeroBits(hash) >= 12);
  });

  it("is bound to the peer and to the network: work cannot be reused", async () => {
    const id = await peer(2);
    const nonce = mintIdentityProof(id, GENESIS, 16);
    assert.equal(checkIdentityProof(id, OTHER_GENESIS, nonce, 16), false, "another network");
    assert.equal(checkIdentityProof(await peer(3), GENESIS, nonce, 16), false, "another identity");
  });

  it("difficulty 0 costs nothing and accepts any nonce", async () => {
    const id = await peer(4);
    assert.deepEqual(mintIdentityProof(id, GENESIS, 0), new Uint8Array(8));
    assert.equal(checkIdentityProof(id, GENESIS, new Uint8Array(8).fill(0xab), 0), true);
  });

  it("rejects hostile inputs without throwing, and refuses a difficulty outside 0..32", async () => {
    const id = await peer(5);
    assert.equal(checkIdentityProof(id, GENESIS, new Uint8Array(7), 0), false, "short nonce");
    assert.equal(checkIdentityProof("not-a-peer", GENESIS, new Uint8Array(8), 0), false);
    for (const difficulty of [-1, 33, 1.5]) {
      assert.throws(
        () => checkIdentityProof(id, GENESIS, new Uint8Array(8), difficulty),
        (e: unknown) => isTallyError(e, ErrorCode.InvalidConfig),
      );
      assert.throws(
        () => mintIdentityProof(id, GENESIS, difficulty),
        (e: unknown) => isTallyError(e, ErrorCode.InvalidConfig),
      );
    }
  });

  it("a proof at a difficulty also proves every lower one", async () => {
    const id = await peer(6);
    const nonce = mintIdentityProof(id, GENESIS, 10);
    for (let d = 0; d <= 10; d++) assert.equal(checkIdentityProof(id, GENESIS, nonce, d), true);
  });
});
