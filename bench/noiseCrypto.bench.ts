/**
 * Noise's per-frame AEAD: the package's default (WebAssembly below 1,200 bytes, a node:crypto Cipheriv
 * above) against libsodium (`src/p2p/noiseCrypto.ts`). Prints µs per seal and per open and the ratio; run
 * with `node bench/noiseCrypto.bench.ts`.
 */
import type { ICryptoInterface } from "@chainsafe/libp2p-noise";
import { defaultCrypto } from "@chainsafe/libp2p-noise/crypto";
import { sodiumNoiseCrypto } from "../src/p2p/noiseCrypto.ts";

const key = new Uint8Array(32).fill(3);
const nonce = new Uint8Array(12);
const ad = new Uint8Array(32).fill(1);

function timeUs(iterations: number, run: () => unknown): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - t0) / iterations / 1000;
}

function measure(crypto: ICryptoInterface, frame: Uint8Array): { seal: number; open: number } {
  const iterations = Math.round(2e7 / (frame.byteLength + 500));
  const sealed = crypto.chaCha20Poly1305Encrypt(frame, nonce, ad, key);
  const bytes = Buffer.from(sealed instanceof Uint8Array ? sealed : sealed.subarray());
  timeUs(iterations / 10, () => crypto.chaCha20Poly1305Encrypt(frame, nonce, ad, key)); // warm up
  return {
    seal: timeUs(iterations, () => crypto.chaCha20Poly1305Encrypt(frame, nonce, ad, key)),
    open: timeUs(iterations, () => crypto.chaCha20Poly1305Decrypt(bytes, nonce, ad, key)),
  };
}

console.log("frame bytes   default seal/open µs   libsodium seal/open µs   ratio seal/open");
for (const size of [300, 1_500, 20_000, 65_519]) {
  const frame = new Uint8Array(size).fill(5);
  const base = measure(defaultCrypto, frame);
  const ours = measure(sodiumNoiseCrypto, frame);
  console.log(
    `${String(size).padStart(11)}   ${base.seal.toFixed(2).padStart(8)} / ${base.open.toFixed(2).padEnd(8)}     ` +
      `${ours.seal.toFixed(2).padStart(8)} / ${ours.open.toFixed(2).padEnd(8)}       ` +
      `${(base.seal / ours.seal).toFixed(2)}× / ${(base.open / ours.open).toFixed(2)}×`,
  );
}
