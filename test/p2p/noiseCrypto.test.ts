import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultCrypto } from "@chainsafe/libp2p-noise/crypto";
import fc from "fast-check";
import { Uint8ArrayList } from "uint8arraylist";
import { sodiumNoiseCrypto } from "../../src/p2p/noiseCrypto.ts";

const bytesOf = (data: Uint8Array | Uint8ArrayList): Uint8Array =>
  data instanceof Uint8Array ? data : data.subarray();

// Sizes on both sides of the package's 1,200-byte switch between WebAssembly and node:crypto.
const frame = fc.uint8Array({ minLength: 0, maxLength: 3000 });
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const ad = fc.uint8Array({ minLength: 0, maxLength: 64 });

describe("Noise crypto over libsodium", () => {
  it("seals exactly what the package's default seals, and each opens the other's frames", () => {
    fc.assert(
      fc.property(frame, nonce, ad, key, (m, n, a, k) => {
        const ours = bytesOf(sodiumNoiseCrypto.chaCha20Poly1305Encrypt(m, n, a, k));
        const theirs = bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(m, n, a, k));
        assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
        assert.deepEqual(
          Buffer.from(bytesOf(sodiumNoiseCrypto.chaCha20Poly1305Decrypt(theirs, n, a, k))),
          Buffer.from(m),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("decrypts in place into the ciphertext's own bytes, as Noise asks, and from a chunked list", () => {
    const k = new Uint8Array(32).fill(7);
    const n = new Uint8Array(12).fill(1);
    const m = Buffer.from("a frame of broadcast votes".repeat(100));
    const sealed = Buffer.from(
      bytesOf(sodiumNoiseCrypto.chaCha20Poly1305Encrypt(m, n, new Uint8Array(0), k)),
    );
    const chunked = new Uint8ArrayList(sealed.subarray(0, 100), sealed.subarray(100));
    assert.deepEqual(
      Buffer.from(bytesOf(sodiumNoiseCrypto.chaCha20Poly1305Decrypt(chunked, n, new Uint8Array(0), k))),
      m,
    );
    const dst = sealed.subarray(0, sealed.length - 16);
    const opened = sodiumNoiseCrypto.chaCha20Poly1305Decrypt(sealed, n, new Uint8Array(0), k, dst);
    assert.equal(opened, dst);
    assert.deepEqual(Buffer.from(dst), m);
  });

  it("refuses a frame whose tag, nonce or associated data does not match", () => {
    const k = new Uint8Array(32).fill(9);
    const n = new Uint8Array(12);
    const a = new Uint8Array([1, 2, 3]);
    const sealed = Buffer.from(
      bytesOf(sodiumNoiseCrypto.chaCha20Poly1305Encrypt(Buffer.from("hello"), n, a, k)),
    );
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    const invalid = /Invalid chacha20poly1305 decryption/;
    assert.throws(() => sodiumNoiseCrypto.chaCha20Poly1305Decrypt(tampered, n, a, k), invalid);
    assert.throws(
      () => sodiumNoiseCrypto.chaCha20Poly1305Decrypt(sealed, new Uint8Array(12).fill(1), a, k),
      invalid,
    );
    assert.throws(() => sodiumNoiseCrypto.chaCha20Poly1305Decrypt(sealed, n, new Uint8Array(0), k), invalid);
    assert.throws(() => sodiumNoiseCrypto.chaCha20Poly1305Decrypt(sealed.subarray(0, 15), n, a, k), invalid);
  });
});
