/**
 * Time to mint an identity proof at the difficulties docs/membership.md ("Identity cost") quotes. Each mint
 * takes a geometric number of hashes (mean 2^difficulty), so the mean over few samples is noisy: the
 * expected time is also printed, from the measured hash rate. Run: `node bench/identityProof.bench.ts`.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { mintIdentityProof } from "../src/membership/identityProof.ts";

const GENESIS = "ab".repeat(32);
const SAMPLES: Record<number, number> = { 8: 200, 16: 40, 20: 10, 24: Number(process.env.SAMPLES_24 ?? 3) };

const peers: string[] = [];
for (let i = 0; i < 200; i++) peers.push(peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString());

let totalHashes = 0;
let totalMs = 0;
for (const [difficultyText, samples] of Object.entries(SAMPLES)) {
  const difficulty = Number(difficultyText);
  let hashes = 0;
  const started = performance.now();
  for (let i = 0; i < samples; i++) {
    const nonce = mintIdentityProof(peers[i % peers.length] as string, GENESIS, difficulty);
    hashes += Number(new DataView(nonce.buffer, nonce.byteOffset).getBigUint64(0)) + 1;
  }
  const ms = performance.now() - started;
  totalHashes += hashes;
  totalMs += ms;
  const usPerHash = (ms * 1000) / hashes;
  console.log(
    `difficulty ${difficulty}: ${samples} mints, mean ${(ms / samples).toFixed(1)} ms,` +
      ` ${usPerHash.toFixed(3)} µs/hash, expected ${((2 ** difficulty * usPerHash) / 1000).toFixed(1)} ms`,
  );
}
console.log(`overall ${((totalMs * 1000) / totalHashes).toFixed(3)} µs/hash`);
